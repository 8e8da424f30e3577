"""The Confluence connector's spec: its settings and how to build it."""

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

__all__ = ["SPEC", "ConfluenceSettings"]


class ConfluenceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The Confluence site and the credentials the connector uses there."""

    url: Annotated[
        str | None,
        env("CONFLUENCE_URL", parse_http_url, "the site, or the api.atlassian.com gateway URL"),
    ] = None
    email: Annotated[
        str | None,
        env("CONFLUENCE_EMAIL", parse_identifier, "Basic auth as this account, with the token"),
    ] = None
    api_token: Annotated[
        str | None,
        env("CONFLUENCE_API_TOKEN", parse_secret, "an API token (Basic) or a bearer token"),
        SECRET,
    ] = None


SPEC: Final = ConnectorSpec(
    name="confluence",
    summary="Confluence spaces and pages",
    settings=ConfluenceSettings,
    parts="dataworkflows.connectors.confluence.component:connector_parts",
    default_port=8103,
    configured_by=("url", "api_token"),
    sandbox="dataworkflows.sandboxes.confluence.spec:SANDBOX",
)
