"""The Graph sandbox's spec: ``serve sandbox outlook``, and ``dev``'s stand-in."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any, Final

import msgspec

from dataworkflows.runtime.plugins import SandboxNotConfigured, SandboxSpec, StandIn
from dataworkflows.runtime.serving import ServedApp, bind_socket, local_url
from dataworkflows.runtime.settings import (
    SECRET,
    env,
    parse_bool,
    parse_http_url,
    parse_identifier,
    parse_secret,
)

__all__ = ["DEMO_MAILBOX", "SANDBOX", "OutlookSandboxSettings"]

DEMO_MAILBOX: Final = "maya.patel@example.com"
"""The mailbox Outlook actions read in dev when OUTLOOK_MAILBOX is unset."""


class OutlookSandboxSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The app registration the sandbox issues tokens for, and its URL as others see it."""

    tenant_id: Annotated[
        str | None, env("GRAPH_TENANT_ID", parse_identifier, "the tenant it issues tokens in")
    ] = None
    client_id: Annotated[
        str | None, env("GRAPH_CLIENT_ID", parse_identifier, "the client it issues tokens to")
    ] = None
    client_secret: Annotated[
        str | None, env("GRAPH_CLIENT_SECRET", parse_secret, "that client's secret"), SECRET
    ] = None
    api_url: Annotated[
        str | None, env("GRAPH_API_URL", parse_http_url, "the sandbox's /v1.0 as others see it")
    ] = None
    mailbox: Annotated[
        str | None, env("OUTLOOK_MAILBOX", parse_identifier, "the connector's default mailbox")
    ] = None
    tls: Annotated[
        bool,
        env(
            "GRAPH_SANDBOX_TLS",
            parse_bool,
            "serve HTTPS (a CA made at start, in DW_DATA_DIR/sandbox-outlook/ca.pem)",
        ),
    ] = False


def _create(*, tenant_id: str, client_id: str, client_secret: str, public_url: str) -> Any:
    from dataworkflows.sandboxes.outlook.app import create_outlook_sandbox_app
    from dataworkflows.sandboxes.outlook.state import OutlookSandbox

    sandbox = OutlookSandbox(
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=client_secret,
        public_url=public_url,
    )
    return create_outlook_sandbox_app(sandbox)


def _app(settings: OutlookSandboxSettings, url: str) -> Any:
    if not (settings.tenant_id and settings.client_id and settings.client_secret):
        raise SandboxNotConfigured(
            "GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET must be set: the "
            "sandbox issues tokens for this app registration only"
        )
    return _create(
        tenant_id=settings.tenant_id,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        public_url=settings.api_url.removesuffix("/v1.0") if settings.api_url else url,
    )


def _dev(settings: OutlookSandboxSettings, host: str, port: int) -> StandIn | None:
    if settings.tenant_id or settings.client_id:
        return None
    tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
    secret = secrets.token_urlsafe(24)
    sock = bind_socket(host, port)
    url = local_url(host, sock.getsockname()[1])
    app = _create(tenant_id=tenant, client_id=client, client_secret=secret, public_url=url)
    return StandIn(
        served=ServedApp(name="sandbox-outlook", app=app, sock=sock),
        environment={
            "GRAPH_TENANT_ID": tenant,
            "GRAPH_CLIENT_ID": client,
            "GRAPH_CLIENT_SECRET": secret,
            "GRAPH_API_URL": f"{url}/v1.0",
            "GRAPH_TOKEN_URL": f"{url}/{tenant}/oauth2/v2.0/token",
            "OUTLOOK_MAILBOX": settings.mailbox or DEMO_MAILBOX,
        },
    )


SANDBOX: Final = SandboxSpec(
    name="outlook",
    summary="Microsoft Graph (mail, calendars, sign-in) over demo mailboxes",
    settings=OutlookSandboxSettings,
    default_port=8204,
    app=_app,
    dev=_dev,
    tls=lambda settings: settings.tls,
)
