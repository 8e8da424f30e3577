"""``dataworkflows dev``: every component in one process, on the embedded PostgreSQL, with
a sandbox standing in for every service that has no credentials."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from dataworkflows import __version__
from dataworkflows.composition.sandboxes import sandboxes
from dataworkflows.composition.serve import TRACKER_STAND_IN, database, run_engine
from dataworkflows.composition.settings import Configuration, Settings, connector_specs
from dataworkflows.runtime.database import describe_target
from dataworkflows.runtime.plugins import StandIn
from dataworkflows.runtime.serving import ServedApp, bind_socket, display_host, local_url
from dataworkflows.slackbot.component import DEFAULT_PORT as SLACK_BOT_PORT

__all__ = ["run_dev"]


def run_dev(configuration: Configuration, *, open_browser: bool) -> int:
    """Every component in this process, with a stand-in for every service without
    credentials and the embedded PostgreSQL unless DATABASE_URL is set.

    Each stand-in answers with the variables that point the product at it; the
    settings are then read once more with those on top, so every component sees the
    same configuration whether it came from the environment or from ``dev``.
    """
    settings = configuration.settings()
    overrides: dict[str, str] = {}
    if not settings.engine.api_keys:
        overrides["DW_API_KEYS"] = dev_secret(settings.data_dir, "api-key")
    if not settings.engine.secrets_key:
        # Runs with secret inputs are stored sealed with it (see runtime/sealing.py).
        overrides["DW_SECRETS_KEY"] = dev_secret(settings.data_dir, "secrets-key")
    opened: list[ServedApp] = []
    stand_ins: list[StandIn] = []
    try:
        # The Slack bot runs here whenever it can verify requests; with no Slack app
        # configured, the sandbox stands in for Slack and signs what it sends the bot.
        bot_sock = None
        slack = connector_specs().get("slack")
        slack_configured = slack is not None and slack.wanted(settings.connector(slack))
        if not slack_configured or settings.bot.signing_secret is not None:
            bot_sock = bind_socket(settings.host, free_or(SLACK_BOT_PORT))
            opened.append(ServedApp(name="slack-bot-socket", app=None, sock=bot_sock))
            overrides["SLACK_BOT_URL"] = local_url(settings.host, bot_sock.getsockname()[1])
        # Every service without credentials gets its stand-in, and the product points there.
        for spec in (*sandboxes().values(), TRACKER_STAND_IN):
            section = configuration.section(spec.settings, overrides)
            stand_in = spec.dev(section, settings.host, free_or(spec.default_port))
            if stand_in is not None:
                opened.append(stand_in.served)
                stand_ins.append(stand_in)
                overrides.update(stand_in.environment)
        settings = configuration.settings(overrides)
        with database(settings) as url:
            final = settings

            def started(base: str, served: Sequence[ServedApp]) -> None:
                print_banner(base, final, url, served, stand_ins)
                if open_browser:
                    open_in_browser(f"{base}/docs")

            return run_engine(
                settings,
                url,
                dev=True,
                also=[s.served for s in stand_ins],
                bot_sock=bot_sock,
                on_started=started,
                # The shipped hooks read their secrets (MONDAY_SIGNING_SECRET) from here.
                environ={**(configuration.environ or os.environ), **overrides},
            )
    finally:
        for served in opened:
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


def print_banner(
    base: str,
    settings: Settings,
    url: str,
    also: Sequence[ServedApp],
    stand_ins: Sequence[StandIn],
) -> None:
    """What runs where, the API key, and something to try."""
    database = (
        f"embedded PostgreSQL, data in {settings.data_dir / 'pgdata'}"
        if settings.database_url is None
        else describe_target(url)
    )
    key = settings.engine.api_keys[0]
    host = display_host(settings.host)
    lines = [
        f"Data Workflows {__version__} is running (dev).",
        f"  Console    {base}/runs (sign in with the API key)",
        f"  API docs   {base}/docs",
        f"  API key    {key}",
        f"             (kept in {settings.data_dir / 'api-key'}; send it as "
        "'Authorization: Bearer <key>', or use Authorize in the docs)",
        f"  Health     {base}/readyz",
        f"  Database   {database}",
        *(
            f"  Sandbox    {s.served.name.removeprefix('sandbox-')} at "
            f"http://{host}:{s.served.port} (no credentials set, so a local stand-in answers)"
            for s in stand_ins
            if s.served.name.startswith("sandbox-")
        ),
        *(line for s in stand_ins if not s.served.name.startswith("sandbox-") for line in s.banner),
        *(
            f"  Slack bot  http://{host}:{s.port}/slack/commands (and /slack/events, "
            "/slack/interactivity)"
            for s in also
            if s.name == "slack-bot"
        ),
        *(line for s in stand_ins if s.served.name.startswith("sandbox-") for line in s.banner),
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
