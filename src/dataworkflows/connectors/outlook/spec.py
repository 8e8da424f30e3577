"""The Outlook connector's spec: its settings and how to build it."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from dataworkflows.runtime.plugins import ConnectorSpec
from dataworkflows.runtime.settings import (
    SECRET,
    env,
    parse_http_url,
    parse_identifier,
    parse_secret,
)

__all__ = ["SPEC", "OutlookSettings"]


class OutlookSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The Microsoft Entra app registration the connector signs in as, and its mailbox."""

    tenant_id: Annotated[
        str | None, env("GRAPH_TENANT_ID", parse_identifier, "the app registration's tenant")
    ] = None
    client_id: Annotated[
        str | None, env("GRAPH_CLIENT_ID", parse_identifier, "the app registration's client id")
    ] = None
    client_secret: Annotated[
        str | None, env("GRAPH_CLIENT_SECRET", parse_secret, "its client secret"), SECRET
    ] = None
    api_url: Annotated[
        str | None,
        env("GRAPH_API_URL", parse_http_url, "the Graph base (default graph.microsoft.com/v1.0)"),
    ] = None
    token_url: Annotated[
        str | None,
        env("GRAPH_TOKEN_URL", parse_http_url, "the token endpoint (default Microsoft's)"),
    ] = None
    mailbox: Annotated[
        str | None,
        env("OUTLOOK_MAILBOX", parse_identifier, "the mailbox actions read when they name none"),
    ] = None


SPEC: Final = ConnectorSpec(
    name="outlook",
    summary="Outlook mail and calendars through Microsoft Graph",
    settings=OutlookSettings,
    parts="dataworkflows.connectors.outlook.component:connector_parts",
    default_port=8104,
    configured_by=("tenant_id", "client_id", "client_secret"),
    sandbox="dataworkflows.sandboxes.outlook.spec:SANDBOX",
)
