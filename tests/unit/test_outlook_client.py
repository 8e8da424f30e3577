"""Building the msgraph-sdk client: credentials, middleware, base URL; no network involved."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from azure.identity.aio import ClientSecretCredential
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption

from dataworkflows.connectors.outlook.auth import TokenEndpointCredential
from dataworkflows.connectors.outlook.client import OutlookClient, build_outlook_client
from dataworkflows.connectors.outlook.component import outlook_client
from dataworkflows.connectors.outlook.graph_http import BoundedRetryHandler
from dataworkflows.connectors.outlook.spec import OutlookSettings
from dataworkflows.runtime.connector_app import ConnectorNotConfigured


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a client must not resolve or connect to anything (instance discovery etc.)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access while building a client: {args[:2]}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def adapter_of(client: OutlookClient) -> Any:
    return client.graph.request_adapter


async def test_production_uses_azure_identity_against_microsoft() -> None:
    """Without GRAPH_TOKEN_URL: ClientSecretCredential for login.microsoftonline.com."""
    settings = OutlookSettings(tenant_id="t-1", client_id="c-1", client_secret="s-1")
    async with outlook_client(settings) as client:
        assert isinstance(client.credential, ClientSecretCredential)
        assert client.credential._client._authority == "https://login.microsoftonline.com"
        adapter = adapter_of(client)
        assert isinstance(adapter._authentication_provider, AzureIdentityAuthenticationProvider)
        assert adapter.base_url == "https://graph.microsoft.com/v1.0"
        hosts = adapter._authentication_provider.access_token_provider
        assert hosts.get_allowed_hosts_validator().get_allowed_hosts() == ["graph.microsoft.com"]


async def test_a_sandbox_uses_our_credential_and_its_base_url() -> None:
    """An http token URL (a sandbox): our credential, that URL, the given Graph base."""
    async with build_outlook_client(
        tenant_id="t-1",
        client_id="c-1",
        client_secret="s-1",
        api_url="http://outlook-sandbox:8204/v1.0/",
        token_url="http://outlook-sandbox:8204/{tenant}/oauth2/v2.0/token",
    ) as client:
        assert isinstance(client.credential, TokenEndpointCredential)
        assert client.credential.token_url == "http://outlook-sandbox:8204/t-1/oauth2/v2.0/token"
        assert adapter_of(client).base_url == "http://outlook-sandbox:8204/v1.0"


def test_missing_credentials_name_the_variables() -> None:
    """Each missing GRAPH_* variable is named; the secret's value never is."""
    with pytest.raises(ConnectorNotConfigured) as caught:
        outlook_client(OutlookSettings(tenant_id="t-1"))
    message = str(caught.value)
    assert "GRAPH_CLIENT_ID" in message
    assert "GRAPH_CLIENT_SECRET" in message
    assert "GRAPH_TENANT_ID" not in message.split(" not set", maxsplit=1)[0]


def response(status: int, method: str = "GET", **headers: str) -> httpx.Response:
    request = httpx.Request(method, "http://127.0.0.1/v1.0/users/x/sendMail")
    return httpx.Response(status, headers=headers, request=request)


def test_a_long_retry_after_is_handed_back_not_slept() -> None:
    """Retry-After above max_wait_s gives MAX_DELAY, which makes the handler not retry."""
    handler = BoundedRetryHandler(RetryHandlerOption(delay=0, max_retries=3), max_wait_s=30)
    assert handler.get_delay_time(0, response(429, **{"Retry-After": "90"})) == 180.0
    assert handler.get_delay_time(0, response(429, **{"Retry-After": "2"})) == 2


def test_a_post_that_timed_out_at_the_gateway_is_not_repeated() -> None:
    """POST + 504 is not retried (the mail may be sent); GET + 504 and POST + 429 are."""
    handler = BoundedRetryHandler(RetryHandlerOption(delay=0, max_retries=3), max_wait_s=30)
    options = RetryHandlerOption(delay=0, max_retries=3)
    post_504 = response(504, "POST")
    assert not handler.should_retry(post_504.request, options, post_504)
    get_504 = response(504, "GET")
    assert handler.should_retry(get_504.request, options, get_504)
    post_429 = response(429, "POST")
    assert handler.should_retry(post_429.request, options, post_429)
