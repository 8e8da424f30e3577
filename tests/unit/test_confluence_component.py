"""The Confluence component: what it needs configured, and how it authenticates."""

from __future__ import annotations

import httpx
import pytest

from dataworkflows.connectors.confluence.component import confluence_client
from dataworkflows.connectors.confluence.spec import SPEC, ConfluenceSettings
from dataworkflows.runtime.connector_app import ConnectorNotConfigured
from dataworkflows.runtime.settings import load_section


@pytest.mark.parametrize(
    ("settings", "named", "not_named"),
    [
        (ConfluenceSettings(), ["CONFLUENCE_URL", "CONFLUENCE_API_TOKEN"], []),
        (ConfluenceSettings(api_token="t"), ["CONFLUENCE_URL"], ["CONFLUENCE_API_TOKEN"]),
        (
            ConfluenceSettings(url="https://acme.atlassian.net"),
            ["CONFLUENCE_API_TOKEN"],
            ["CONFLUENCE_URL"],
        ),
    ],
)
async def test_missing_settings_are_named(
    settings: ConfluenceSettings, named: list[str], not_named: list[str]
) -> None:
    """Without a URL or a token the connector refuses to start, naming what to set."""
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConnectorNotConfigured) as caught:
            confluence_client(settings, http)
    for name in named:
        assert name in str(caught.value)
    for name in not_named:
        assert name not in str(caught.value)


async def test_the_client_is_built_from_the_environment() -> None:
    """CONFLUENCE_URL (with /wiki tolerated), _EMAIL and _API_TOKEN make a Basic-auth client."""
    settings = load_section(
        ConfluenceSettings,
        {
            "CONFLUENCE_URL": "https://acme.atlassian.net/wiki/",
            "CONFLUENCE_EMAIL": "me@acme.com",
            "CONFLUENCE_API_TOKEN": "token-123",
        },
    )
    async with httpx.AsyncClient() as http:
        client = confluence_client(settings, http)
    assert client.root == "https://acme.atlassian.net"
    assert client.resolve_link("/wiki/api/v2/pages?cursor=a") == (
        "https://acme.atlassian.net/wiki/api/v2/pages?cursor=a"
    )
    assert SPEC.default_port == 8103
