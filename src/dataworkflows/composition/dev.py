"""``dataworkflows dev``: every component in one process, on the embedded PostgreSQL, with
a sandbox standing in for every service that has no credentials."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import uuid
import webbrowser
from collections.abc import Sequence
from pathlib import Path

import msgspec

from dataworkflows import __version__
from dataworkflows.composition.sandboxes import (
    SANDBOX_PORTS,
    SLACK_BOT_PORT,
    confluence_sandbox,
    monday_sandbox,
    outlook_sandbox,
    slack_sandbox,
)
from dataworkflows.composition.serve import TRACKER_PORT, database, run_engine, tracker_app
from dataworkflows.runtime.database import describe_target
from dataworkflows.runtime.serving import ServedApp, bind_socket, display_host, local_url
from dataworkflows.runtime.settings import Settings, SlackRunRule

__all__ = ["OUTLOOK_DEMO_MAILBOX", "run_dev"]

OUTLOOK_DEMO_MAILBOX = "maya.patel@example.com"
"""The mailbox Outlook actions read in dev when OUTLOOK_MAILBOX is unset (sandbox data)."""


def run_dev(settings: Settings, *, open_browser: bool) -> int:
    """Every component in this process, with a sandbox for every service without
    credentials and the embedded PostgreSQL unless DATABASE_URL is set."""
    if not settings.api_keys:
        settings = msgspec.structs.replace(
            settings, api_keys=(dev_secret(settings.data_dir, "api-key"),)
        )
    if not settings.secrets_key:
        # Runs with secret inputs are stored sealed with it (see runtime/sealing.py).
        settings = msgspec.structs.replace(
            settings, secrets_key=dev_secret(settings.data_dir, "secrets-key")
        )
    sandboxes: list[ServedApp] = []
    try:
        # Every SaaS without credentials gets its sandbox, and the connector points there.
        if settings.monday_api_token is None:
            token = secrets.token_urlsafe(24)
            sandbox = monday_sandbox(settings.host, free_or(SANDBOX_PORTS["monday"]), token)
            sandboxes.append(sandbox)
            settings = msgspec.structs.replace(
                settings,
                monday_api_token=token,
                monday_api_url=f"{local_url(settings.host, sandbox.port)}/v2",
            )
        # No tracker configured: run the mock tracker here, with an account made up.
        if settings.tracker_url is None:
            user, password = "dev", secrets.token_urlsafe(16)
            tracker = tracker_app(
                settings.host,
                free_or(TRACKER_PORT),
                username=user,
                password=password,
                secret=secrets.token_urlsafe(32),
                ttl=settings.tracker_token_ttl,
            )
            sandboxes.append(tracker)
            settings = msgspec.structs.replace(
                settings,
                tracker_url=local_url(settings.host, tracker.port),
                tracker_username=user,
                tracker_password=password,
            )
        if settings.confluence_url is None and settings.confluence_api_token is None:
            email, token = "dev@dataworkflows.invalid", secrets.token_urlsafe(24)
            confluence = confluence_sandbox(
                settings.host, free_or(SANDBOX_PORTS["confluence"]), email=email, api_token=token
            )
            sandboxes.append(confluence)
            settings = msgspec.structs.replace(
                settings,
                confluence_url=local_url(settings.host, confluence.port),
                confluence_email=email,
                confluence_api_token=token,
            )
        if not (settings.graph_tenant_id or settings.graph_client_id):
            tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
            secret = secrets.token_urlsafe(24)
            outlook = outlook_sandbox(
                settings.host,
                free_or(SANDBOX_PORTS["outlook"]),
                tenant_id=tenant,
                client_id=client,
                client_secret=secret,
            )
            sandboxes.append(outlook)
            base = local_url(settings.host, outlook.port)
            settings = msgspec.structs.replace(
                settings,
                graph_tenant_id=tenant,
                graph_client_id=client,
                graph_client_secret=secret,
                graph_api_url=f"{base}/v1.0",
                graph_token_url=f"{base}/{tenant}/oauth2/v2.0/token",
                outlook_mailbox=settings.outlook_mailbox or OUTLOOK_DEMO_MAILBOX,
            )
        # The Slack bot runs here whenever it can verify requests; with no Slack app
        # configured, the sandbox stands in for Slack and signs what it sends the bot.
        bot_sock = None
        if settings.slack_bot_token is None or settings.slack_signing_secret is not None:
            bot_sock = bind_socket(settings.host, free_or(SLACK_BOT_PORT))
            sandboxes.append(ServedApp(name="slack-bot-socket", app=None, sock=bot_sock))
        if settings.slack_bot_token is None:
            assert bot_sock is not None
            token, secret = f"xoxb-dev-{secrets.token_hex(12)}", secrets.token_hex(16)
            slack = slack_sandbox(
                settings.host,
                free_or(SANDBOX_PORTS["slack"]),
                token=token,
                signing_secret=secret,
                bot_url=local_url(settings.host, bot_sock.getsockname()[1]),
            )
            sandboxes.append(slack)
            settings = msgspec.structs.replace(
                settings,
                slack_bot_token=token,
                slack_signing_secret=secret,
                slack_api_url=f"{local_url(settings.host, slack.port)}/api",
                # Sandbox users are made up: let them run anything.
                slack_run_allow=settings.slack_run_allow or (SlackRunRule(workflow="*"),),
            )
        with database(settings) as url:
            final = settings

            def started(base: str, served: Sequence[ServedApp]) -> None:
                print_banner(base, final, url, served)
                if open_browser:
                    open_in_browser(f"{base}/docs")

            return run_engine(
                settings,
                url,
                dev=True,
                also=[s for s in sandboxes if s.app is not None],
                bot_sock=bot_sock,
                on_started=started,
            )
    finally:
        for served in sandboxes:
            served.sock.close()


def free_or(port: int) -> int:
    """``port`` if nothing listens there, else 0 (any free port): dev must start."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


def dev_secret(data_dir: Path, name: str) -> str:
    """A secret of `dev` (its API key, its secrets key): made on first start, kept in
    DW_DATA_DIR/<name> (mode 0600), so that it holds across restarts."""
    path = data_dir / name
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 16:
            return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def print_banner(base: str, settings: Settings, url: str, also: Sequence[ServedApp]) -> None:
    from dataworkflows.sandboxes.slack.demo_data import PROJECT_CHANNEL_IDS

    database = (
        f"embedded PostgreSQL, data in {settings.data_dir / 'pgdata'}"
        if settings.database_url is None
        else describe_target(url)
    )
    key = settings.api_keys[0]
    host = display_host(settings.host)
    apollo = PROJECT_CHANNEL_IDS["apollo"]  # the demo's #proj-apollo
    lines = [
        f"Data Workflows {__version__} is running (dev).",
        f"  API docs   {base}/docs",
        f"  API key    {key}",
        f"             (kept in {settings.data_dir / 'api-key'}; send it as "
        "'Authorization: Bearer <key>', or use Authorize in the docs)",
        f"  Health     {base}/readyz",
        f"  Database   {database}",
        *(
            f"  Sandbox    {s.name.removeprefix('sandbox-')} at http://{host}:{s.port} "
            "(no credentials set, so a local stand-in answers)"
            for s in also
            if s.name.startswith("sandbox-")
        ),
        *(
            f"  Tracker    http://{host}:{s.port}/docs (the mock Task Tracker; log in as "
            f"{settings.tracker_username} / {settings.tracker_password})"
            for s in also
            if s.name == "tracker"
        ),
        *(
            f"  Slack bot  http://{host}:{s.port}/slack/commands (and /slack/events, "
            "/slack/interactivity)"
            for s in also
            if s.name == "slack-bot"
        ),
        *(
            line
            for s in also
            if s.name == "sandbox-slack"
            for line in (
                f"  Try Slack  curl -H 'Content-Type: application/json' -d "
                f'\'{{"text": "status apollo"}}\' http://{host}:{s.port}/sandbox/send/command',
                # Where the bot's answer and the report show up (the demo's #proj-apollo).
                f"             then read http://{host}:{s.port}/sandbox/channels/{apollo}/messages",
            )
        ),
        f"  Try it     curl -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
        f"-d '{{}}' '{base}/v1/workflows/hello-world/runs?wait=5'",
        "Press Ctrl-C to stop.",
    ]
    print("\n" + "\n".join(lines) + "\n", flush=True)


def open_in_browser(url: str) -> None:
    # Only where a graphical browser can exist: on a headless Linux box webbrowser
    # would start a text browser (lynx, w3m) in this terminal.
    graphical = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if graphical and sys.stdout.isatty() and not os.environ.get("CI"):
        with contextlib.suppress(webbrowser.Error):
            webbrowser.open(url)
