"""App-only tokens: our client-credentials credential, and which credential production uses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import stamina

from dataworkflows.connectors.outlook.auth import (
    GRAPH_SCOPE,
    TokenEndpointCredential,
    microsoft_authority,
    token_url_for,
)
from dataworkflows.connectors.outlook.port import OutlookAuthError, OutlookUnavailable

TOKEN_URL = "http://127.0.0.1:9/tenant-1/oauth2/v2.0/token"
SECRET = "very-secret-value~123"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Endpoint:
    """A token endpoint behind httpx.MockTransport: answers, and records forms."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.forms: list[dict[str, list[str]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.forms.append(parse_qs(request.content.decode()))
        if len(self.answers) > 1:
            return self.answers.pop(0)
        return self.answers[0]


def token(value: str = "tok-1", expires_in: object = 3599) -> httpx.Response:
    return httpx.Response(
        200, json={"token_type": "Bearer", "expires_in": expires_in, "access_token": value}
    )


def credential(endpoint: Endpoint, clock: Clock) -> TokenEndpointCredential:
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
    return TokenEndpointCredential(
        token_url=TOKEN_URL, client_id="client-1", client_secret=SECRET, http=http, clock=clock
    )


@pytest.fixture
def retries() -> Iterator[None]:
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(True)


async def test_the_documented_form_is_posted_and_the_token_cached() -> None:
    """One client-credentials POST (form, .default scope); later calls reuse the token."""
    endpoint, clock = Endpoint(token("tok-1")), Clock()
    tokens = credential(endpoint, clock)
    first = await tokens.get_token(GRAPH_SCOPE)
    clock.now += 3000
    second = await tokens.get_token(GRAPH_SCOPE)
    assert first.token == second.token == "tok-1"
    assert first.expires_on == (1_000_000 + 3599)
    assert tokens.requests == 1
    assert endpoint.forms == [
        {
            "client_id": ["client-1"],
            "scope": [GRAPH_SCOPE],
            "client_secret": [SECRET],
            "grant_type": ["client_credentials"],
        }
    ]


async def test_a_token_is_renewed_shortly_before_it_expires() -> None:
    """Within five minutes of expiry a new token is fetched."""
    endpoint, clock = Endpoint(token("tok-1"), token("tok-2")), Clock()
    tokens = credential(endpoint, clock)
    await tokens.get_token(GRAPH_SCOPE)
    clock.now += 3599 - 299
    renewed = await tokens.get_token(GRAPH_SCOPE)
    assert renewed.token == "tok-2"
    assert tokens.requests == 2


async def test_a_short_lived_token_is_renewed_at_three_quarters_of_its_life() -> None:
    """A 4-second token is used for 3 seconds, then renewed."""
    endpoint, clock = Endpoint(token("tok-1", "4"), token("tok-2", 4)), Clock()
    tokens = credential(endpoint, clock)
    await tokens.get_token(GRAPH_SCOPE)
    clock.now += 2.9
    assert (await tokens.get_token(GRAPH_SCOPE)).token == "tok-1"
    clock.now += 0.2
    assert (await tokens.get_token(GRAPH_SCOPE)).token == "tok-2"


async def test_concurrent_callers_share_one_token_request() -> None:
    """Ten requests starting together cause one POST to the token endpoint."""
    endpoint, clock = Endpoint(token("tok-1")), Clock()
    tokens = credential(endpoint, clock)
    got = await asyncio.gather(*(tokens.get_token(GRAPH_SCOPE) for _ in range(10)))
    assert {t.token for t in got} == {"tok-1"}
    assert tokens.requests == 1


async def test_refused_credentials_are_an_auth_error_without_the_secret() -> None:
    """invalid_client becomes OutlookAuthError with Entra's first line, never the secret."""
    refusal = httpx.Response(
        401,
        json={
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.\r\n"
            "Trace ID: 1 Correlation ID: 2",
            "error_codes": [7000215],
        },
    )
    tokens = credential(Endpoint(refusal), Clock())
    with pytest.raises(OutlookAuthError) as caught:
        await tokens.get_token(GRAPH_SCOPE)
    assert caught.value.code == "invalid_client"
    assert "AADSTS7000215: Invalid client secret provided." in caught.value.message
    assert "Trace ID" not in caught.value.message
    assert SECRET not in caught.value.message


async def test_a_failing_token_endpoint_is_retried_then_unavailable(retries: None) -> None:
    """5xx answers are retried (stamina), then reported as OutlookUnavailable."""
    endpoint = Endpoint(httpx.Response(503, text="busy"))
    tokens = credential(endpoint, Clock())
    with pytest.raises(OutlookUnavailable):
        await tokens.get_token(GRAPH_SCOPE)
    assert tokens.requests == 3


async def test_a_transient_failure_then_success_gives_a_token(retries: None) -> None:
    """One 500 then a token: the caller gets the token."""
    endpoint = Endpoint(httpx.Response(500), token("tok-9"))
    assert (await credential(endpoint, Clock()).get_token(GRAPH_SCOPE)).token == "tok-9"


async def test_an_answer_without_a_token_is_an_auth_error() -> None:
    """A 200 without access_token is refused, not cached."""
    tokens = credential(Endpoint(httpx.Response(200, json={"token_type": "Bearer"})), Clock())
    with pytest.raises(OutlookAuthError):
        await tokens.get_token(GRAPH_SCOPE)


@pytest.mark.parametrize(
    ("url", "authority"),
    [
        (
            "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token",
            "https://login.microsoftonline.com",
        ),
        (
            "https://login.microsoftonline.us/TENANT-1/oauth2/v2.0/token",
            "https://login.microsoftonline.us",
        ),
        ("http://127.0.0.1:8204/tenant-1/oauth2/v2.0/token", None),
        ("https://sandbox.internal/token", None),
        ("https://login.microsoftonline.com/other-tenant/oauth2/v2.0/token", None),
    ],
)
def test_only_entra_shaped_https_endpoints_go_through_azure_identity(
    url: str, authority: str | None
) -> None:
    """azure-identity gets https://<host>/<tenant>/oauth2/v2.0/token; anything else is ours."""
    assert microsoft_authority(url, "tenant-1") == authority


def test_the_token_url_defaults_to_microsofts_for_the_tenant() -> None:
    """No GRAPH_TOKEN_URL: Microsoft's endpoint; a {tenant} placeholder is filled in."""
    assert token_url_for("t-1", None) == "https://login.microsoftonline.com/t-1/oauth2/v2.0/token"
    assert (
        token_url_for("t-1", "http://127.0.0.1:8204/{tenant}/oauth2/v2.0/token")
        == "http://127.0.0.1:8204/t-1/oauth2/v2.0/token"
    )
