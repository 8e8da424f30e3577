"""A minimal connector, written outside the product as a third party would write one.

It is the README's worked example: one settings section, one action that calls its
upstream over HTTP through the connector toolkit, and a sandbox that stands in for
that upstream in ``dev``. The product finds it only through its entry point
(``greeter = tests.plugins.greeter:SPEC`` in the ``dataworkflows.connectors`` group).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import msgspec
from litestar import Litestar, Request, get
from litestar.exceptions import NotAuthorizedException

from dataworkflows.connectors.toolkit import Upstream, upstream
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.connector_app import ConnectorNotConfigured, ConnectorParts
from dataworkflows.runtime.plugins import (
    ConnectorSpec,
    SandboxNotConfigured,
    SandboxSpec,
    StandIn,
)
from dataworkflows.runtime.serving import ServedApp, bind_socket, local_url
from dataworkflows.runtime.settings import SECRET, env, parse_http_url, parse_secret

# 1. Settings: each field names its variable; SECRET marks what is masked everywhere.


class GreeterSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the greeting service is, and the token it takes."""

    url: Annotated[str | None, env("GREETER_URL", parse_http_url, "the greeting service")] = None
    token: Annotated[str | None, env("GREETER_TOKEN", parse_secret, "its API token"), SECRET] = None


# 2. Errors: the toolkit's kinds decide the connector API's codes and retries.


class GreeterError(upstream.UpstreamError):
    """The greeting service refused or failed a call."""


class GreeterAuthFailed(GreeterError, upstream.AuthFailed):
    """The token was refused."""


class GreeterUnavailable(GreeterError, upstream.Unavailable):
    """The service did not answer, or answered 5xx."""


# 3. Actions: typed input and output become the catalog's JSON Schemas.


class GreetInput(msgspec.Struct, frozen=True):
    who: str


class GreetOutput(msgspec.Struct, frozen=True):
    greeting: str


def greeter_actions(http: httpx.AsyncClient) -> ActionSet:
    """The ``greeter.*`` actions over ``http`` (base URL and token set)."""
    actions = ActionSet("greeter", description="Greetings from the greeting service")
    transport = Upstream("greeter", unavailable=GreeterUnavailable)

    @actions.action("greet", effect="read", description="A greeting for someone")
    async def greet(data: GreetInput, call: ActionCall) -> GreetOutput:
        async def request() -> GreetOutput:
            try:
                response = await http.get("/greeting", params={"who": data.who})
            except httpx.TransportError as exc:
                raise GreeterUnavailable(f"no answer ({type(exc).__name__})") from None
            if response.status_code == 401:
                raise GreeterAuthFailed("the token was refused", status=401)
            if response.status_code >= 500:
                raise GreeterUnavailable(
                    f"HTTP {response.status_code}", status=response.status_code
                )
            return msgspec.json.decode(response.content, type=GreetOutput)

        return await transport.call(request)

    return actions


@asynccontextmanager
async def greeter_parts(settings: GreeterSettings) -> AsyncIterator[ConnectorParts]:
    """The connector's parts, open while the context is."""
    if not settings.url or not settings.token:
        raise ConnectorNotConfigured(
            "GREETER_URL and GREETER_TOKEN must be set: the greeter connector calls that "
            "service with that token"
        )
    headers = {"Authorization": f"Bearer {settings.token}"}
    async with httpx.AsyncClient(base_url=settings.url, headers=headers, timeout=10.0) as http:
        yield ConnectorParts(actions=greeter_actions(http))


# 4. The sandbox: the upstream's stand-in, which dev starts when GREETER_URL is unset.


def greeting_service(token: str) -> Litestar:
    """The greeting service's stand-in, accepting ``token`` only."""

    @get("/greeting")
    async def greeting(request: Request[Any, Any, Any], who: str) -> dict[str, str]:
        if request.headers.get("authorization") != f"Bearer {token}":
            raise NotAuthorizedException("a valid token is required")
        return {"greeting": f"Hello, {who}!"}

    return Litestar([greeting])


def _sandbox_app(settings: GreeterSettings, url: str) -> Litestar:
    if not settings.token:
        raise SandboxNotConfigured("GREETER_TOKEN is not set: the sandbox accepts this token")
    return greeting_service(settings.token)


def _dev(settings: GreeterSettings, host: str, port: int) -> StandIn | None:
    if settings.url is not None:
        return None  # a real service is configured
    token = settings.token or secrets.token_urlsafe(16)
    sock = bind_socket(host, port)
    url = local_url(host, sock.getsockname()[1])
    return StandIn(
        served=ServedApp(name="sandbox-greeter", app=greeting_service(token), sock=sock),
        environment={"GREETER_URL": url, "GREETER_TOKEN": token},
    )


SANDBOX = SandboxSpec(
    name="greeter",
    summary="the greeting service",
    settings=GreeterSettings,
    default_port=0,
    app=_sandbox_app,
    dev=_dev,
)

# 5. The spec: what the entry point names.

SPEC = ConnectorSpec(
    name="greeter",
    summary="greetings from the greeting service",
    settings=GreeterSettings,
    parts=greeter_parts,
    default_port=8199,
    configured_by=("url", "token"),
    sandbox="tests.plugins.greeter:SANDBOX",
)
