"""The Confluence connector as a component: the client built from settings and its
readiness check (``dataworkflows serve connector confluence``, or in-process in the
engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from dataworkflows.connectors.confluence.client import ConfluenceClient
from dataworkflows.connectors.confluence.port import ConfluenceError
from dataworkflows.connectors.confluence.service import confluence_actions
from dataworkflows.connectors.confluence.spec import ConfluenceSettings
from dataworkflows.runtime.connector_app import (
    ConnectorNotConfigured,
    ConnectorParts,
    upstream_readiness,
)
from dataworkflows.runtime.tracing import traced_http_client

__all__ = ["confluence_client", "connector_parts"]


def confluence_client(settings: ConfluenceSettings, http: httpx.AsyncClient) -> ConfluenceClient:
    """The REST client for the configured site (or gateway, or sandbox).

    With ``CONFLUENCE_EMAIL`` the API token is sent as Basic auth; without it, as a
    bearer token (OAuth 2.0, against ``https://api.atlassian.com/ex/confluence/<cloudId>``).
    """
    missing = [
        name
        for name, value in (
            ("CONFLUENCE_URL", settings.url),
            ("CONFLUENCE_API_TOKEN", settings.api_token),
        )
        if not value
    ]
    if missing:
        raise ConnectorNotConfigured(
            f"{' and '.join(missing)} not set: the Confluence connector needs the site "
            "(https://<site>.atlassian.net, with CONFLUENCE_EMAIL and an API token from "
            "id.atlassian.com > Security > API tokens) or "
            "https://api.atlassian.com/ex/confluence/<cloudId> with a bearer token"
        )
    assert settings.url
    assert settings.api_token
    return ConfluenceClient(
        url=settings.url,
        http=http,
        api_token=settings.api_token,
        email=settings.email,
    )


@asynccontextmanager
async def connector_parts(settings: ConfluenceSettings) -> AsyncIterator[ConnectorParts]:
    """The Confluence connector's actions and readiness."""
    async with traced_http_client(timeout=httpx.Timeout(30.0, connect=5.0)) as http:
        client = confluence_client(settings, http)

        async def probe() -> str | None:
            try:
                await client.check()
            except ConfluenceError as exc:
                return exc.message
            return None

        upstream = upstream_readiness(client.breaker.problem, probe)

        yield ConnectorParts(actions=confluence_actions(client), readiness={"confluence": upstream})
