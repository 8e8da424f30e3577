"""The sandboxes, composed: each vendor's stand-in served on its port.

``serve sandbox <name>`` runs one (:func:`run_sandbox`); ``dev`` builds those it needs
with the other functions here, each bound to its socket and seeded around today.
"""

from __future__ import annotations

import contextlib

from dataworkflows.composition.errors import ConfigurationProblem
from dataworkflows.composition.serve import serve_app
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.serving import ServedApp, bind_socket, local_url
from dataworkflows.runtime.settings import Settings

__all__ = [
    "SANDBOXES",
    "SANDBOX_PORTS",
    "SLACK_BOT_PORT",
    "confluence_sandbox",
    "monday_sandbox",
    "outlook_sandbox",
    "run_sandbox",
    "slack_sandbox",
]

_log = get_logger(__name__)

SANDBOXES = ("monday", "slack", "confluence", "outlook")
SANDBOX_PORTS = {"monday": 8201, "slack": 8202, "confluence": 8203, "outlook": 8204}
SLACK_BOT_PORT = 8090
"""Where the Slack sandbox sends what Slack would send the bot, by default."""


def run_sandbox(settings: Settings, name: str) -> int:
    """``serve sandbox <name>``: the vendor's stand-in, accepting the configured
    credentials."""
    port = settings.port_or(SANDBOX_PORTS[name])
    if name == "slack":
        if not settings.slack_bot_token or not settings.slack_signing_secret:
            raise ConfigurationProblem(
                "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set: the sandbox accepts "
                "Web API calls carrying this token and signs what it sends the bot with this "
                "secret (give the connector and the bot the same ones)"
            )
        served = slack_sandbox(
            settings.host,
            port,
            token=settings.slack_bot_token,
            signing_secret=settings.slack_signing_secret,
            bot_url=settings.slack_bot_url or f"http://127.0.0.1:{SLACK_BOT_PORT}",
            # How the others reach this sandbox: response_urls it hands out point there.
            public_url=settings.slack_api_url.removesuffix("/api")
            if settings.slack_api_url
            else None,
        )
    elif name == "confluence":
        if not settings.confluence_api_token:
            raise ConfigurationProblem(
                "CONFLUENCE_API_TOKEN is not set: the sandbox accepts requests with this token "
                "(as Basic auth with CONFLUENCE_EMAIL, or as a bearer token)"
            )
        served = confluence_sandbox(
            settings.host,
            port,
            email=settings.confluence_email,
            api_token=settings.confluence_api_token,
            public_url=settings.confluence_url,
        )
    elif name == "outlook":
        if not (
            settings.graph_tenant_id and settings.graph_client_id and settings.graph_client_secret
        ):
            raise ConfigurationProblem(
                "GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET must be set: the "
                "sandbox issues tokens for this app registration only"
            )
        served = outlook_sandbox(
            settings.host,
            port,
            tenant_id=settings.graph_tenant_id,
            client_id=settings.graph_client_id,
            client_secret=settings.graph_client_secret,
            public_url=settings.graph_api_url.removesuffix("/v1.0")
            if settings.graph_api_url
            else None,
        )
    else:
        if not settings.monday_api_token:
            raise ConfigurationProblem(
                "MONDAY_API_TOKEN is not set: the sandbox accepts requests carrying this token "
                "(give the Monday connector the same one)"
            )
        served = monday_sandbox(settings.host, port, settings.monday_api_token)

    return serve_app(
        served.name,
        served.sock,
        contextlib.nullcontext(served.app),
        host=settings.host,
        announce=lambda url: _log.info("sandbox listening", sandbox=name, url=url),
    )


def monday_sandbox(host: str, port: int, token: str) -> ServedApp:
    """The Monday sandbox on ``host``:``port``, accepting ``token``."""
    from dataworkflows.sandboxes.monday.app import MondaySandbox, create_monday_sandbox_app
    from dataworkflows.sandboxes.world import demo_anchor

    # Seeded around today (as the Outlook sandbox is), so the demo data looks current.
    app = create_monday_sandbox_app(MondaySandbox(token=token, anchor=demo_anchor()))
    return ServedApp(name="sandbox-monday", app=app, sock=bind_socket(host, port))


def slack_sandbox(
    host: str,
    port: int,
    *,
    token: str,
    signing_secret: str,
    bot_url: str,
    public_url: str | None = None,
) -> ServedApp:
    """The Slack sandbox, signing what it sends ``bot_url`` with ``signing_secret``."""
    from dataworkflows.sandboxes.slack.app import SlackSandbox, create_slack_sandbox_app
    from dataworkflows.sandboxes.world import demo_anchor

    sock = bind_socket(host, port)
    sandbox = SlackSandbox(
        token=token,
        signing_secret=signing_secret,
        bot_url=bot_url,
        public_url=public_url or local_url(host, sock.getsockname()[1]),
        # Seeded around today, so the demo history looks current; it ends before today
        # begins, so the ts the sandbox issues come after every seeded one.
        anchor=demo_anchor(),
    )
    return ServedApp(name="sandbox-slack", app=create_slack_sandbox_app(sandbox), sock=sock)


def confluence_sandbox(
    host: str, port: int, *, email: str | None, api_token: str, public_url: str | None = None
) -> ServedApp:
    """The Confluence sandbox, accepting ``api_token`` (Basic with ``email``, or Bearer)."""
    from dataworkflows.sandboxes.confluence.app import (
        ConfluenceSandbox,
        create_confluence_sandbox_app,
    )
    from dataworkflows.sandboxes.world import demo_anchor

    sock = bind_socket(host, port)
    sandbox = ConfluenceSandbox(
        email=email,
        api_token=api_token,
        public_url=public_url or local_url(host, sock.getsockname()[1]),
        anchor=demo_anchor(),  # seeded around today, so the demo data looks current
    )
    return ServedApp(
        name="sandbox-confluence", app=create_confluence_sandbox_app(sandbox), sock=sock
    )


def outlook_sandbox(
    host: str,
    port: int,
    *,
    tenant_id: str,
    client_id: str,
    client_secret: str,
    public_url: str | None = None,
) -> ServedApp:
    """The Graph sandbox, issuing tokens for this app registration only."""
    from dataworkflows.sandboxes.outlook.app import OutlookSandbox, create_outlook_sandbox_app

    sock = bind_socket(host, port)
    sandbox = OutlookSandbox(
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=client_secret,
        public_url=public_url or local_url(host, sock.getsockname()[1]),
    )
    return ServedApp(name="sandbox-outlook", app=create_outlook_sandbox_app(sandbox), sock=sock)
