"""The internal connector API, served for any :class:`ActionSet`.

- ``GET /v1/actions``: the catalog.
- ``POST /v1/actions/{action}``: ``{"input", "idempotency_key", "context"}`` ->
  ``{"output"}``, or ``{"error": {"code", "message", "retryable", "retry_after_s"}}``
  with the status of its code (``ERROR_STATUS``).

Both need ``Authorization: Bearer <DW_SERVICE_TOKEN>``: connectors hold credentials
for upstream systems, so only the engine (and the Slack bot) may call them.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from litestar import Litestar, Request, Response, Router, get, post
from litestar.enums import ScopeType
from litestar.params import BodyKwarg, FromPath
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import Histogram

from dataworkflows.contracts import (
    ERROR_STATUS,
    ActionCatalog,
    ActionError,
    ActionErrorEnvelope,
    ActionFailed,
    ActionRequest,
    ActionResult,
)
from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.app import ReadinessCheck, create_app
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.metrics import CONNECTOR_CALL_SECONDS, Children
from dataworkflows.runtime.problems import Problem, problem_response

__all__ = [
    "ConnectorNotConfigured",
    "ConnectorParts",
    "create_connector_app",
    "service_token_middleware",
    "upstream_readiness",
]

UPSTREAM_CHECK_EVERY_S = 60.0
"""How often a readiness probe may call the upstream service at most."""


class ConnectorNotConfigured(Exception):
    """A connector lacks its configuration; the message names the variables to set."""


@dataclass(frozen=True, slots=True)
class ConnectorParts:
    """What a connector process serves: its actions, readiness checks, extra routes."""

    actions: ActionSet
    readiness: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    routes: Sequence[Any] = ()
    """More route handlers under ``/v1`` (e.g. Monday's ``GET /v1/items/{board_id}``)."""


_log = get_logger(__name__)
_SECONDS: Children[Histogram] = Children(CONNECTOR_CALL_SECONDS)


def upstream_readiness(
    breaker_problem: Callable[[], str | None],
    probe: Callable[[], Awaitable[str | None]],
    *,
    every_s: float = UPSTREAM_CHECK_EVERY_S,
) -> ReadinessCheck:
    """A connector's readiness check on its upstream service: the circuit breaker's
    problem if it is open, else ``probe`` (one cheap call, answering what is wrong or
    None), made at most every ``every_s`` seconds after it last succeeded: probes
    must not eat the service's rate limit or API budget."""
    last_ok = 0.0

    async def upstream() -> str | None:
        nonlocal last_ok
        problem = breaker_problem()
        if problem:
            return problem
        if time.monotonic() - last_ok > every_s:
            problem = await probe()
            if problem is not None:
                return problem
            last_ok = time.monotonic()
        return None

    return upstream


def service_token_middleware(token: str) -> Callable[[ASGIApp], ASGIApp]:
    """Middleware accepting only ``Authorization: Bearer <token>``; else a 401 problem.

    Middleware rather than a Litestar guard: Litestar copies the route handler for
    every guard it calls, which was 6% of a connector process's CPU per call
    (bench/w5.py), and the header is read here from the raw ASGI scope.
    """
    expected = token.encode()

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or _bearer_is(scope, expected):
                await app(scope, receive, send)
                return
            request: Request[Any, Any, Any] = Request(scope, receive)
            refused = Problem(
                401,
                "This internal API needs 'Authorization: Bearer <DW_SERVICE_TOKEN>'.",
                headers={"WWW-Authenticate": 'Bearer realm="dataworkflows-connector"'},
            )
            answer = problem_response(request, refused).to_asgi_response(app=None, request=request)
            await answer(scope, receive, send)

        return middleware

    return wrap


def _bearer_is(scope: Scope, expected: bytes) -> bool:
    """Whether the request's Authorization header is ``Bearer <expected>``."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, given = value.partition(b" ")
            return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), expected)
    return False


def create_connector_app(
    actions: ActionSet,
    *,
    service_token: str,
    readiness: Mapping[str, ReadinessCheck] | None = None,
    extra_routes: Sequence[Any] = (),
) -> Litestar:
    """The HTTP app of connector ``actions.connector``."""

    @get("/actions", summary="The connector's actions with their schemas", sync_to_thread=False)
    def catalog() -> ActionCatalog:
        return actions.catalog()

    @post("/actions/{action:str}", summary="Call one action", status_code=200)
    async def invoke(
        action: FromPath[str], data: Annotated[ActionRequest, BodyKwarg()]
    ) -> Response[ActionResult | ActionErrorEnvelope]:
        started = time.perf_counter()
        try:
            output = await actions.invoke(action, data)
        except ActionFailed as failed:
            return _error_response(failed.error)
        except Exception:
            _log.exception("action failed unexpectedly", action=action)
            return _error_response(
                ActionError(
                    code="upstream_error",
                    message=f"{actions.connector}.{action} failed unexpectedly",
                    retryable=False,
                )
            )
        finally:
            if actions.knows(action):  # the path is the caller's: only catalogued names
                short = action.removeprefix(f"{actions.connector}.")
                _SECONDS.of(actions.connector, short).observe(time.perf_counter() - started)
        return Response(ActionResult(output=output))

    router = Router(
        path="/v1",
        route_handlers=[catalog, invoke, *extra_routes],
        middleware=[service_token_middleware(service_token)],
    )
    return create_app(
        component=f"connector-{actions.connector}", route_handlers=[router], readiness=readiness
    )


def _error_response(error: ActionError) -> Response[ActionResult | ActionErrorEnvelope]:
    headers = {}
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(error.retry_after_s)))
    return Response(
        ActionErrorEnvelope(error=error),
        status_code=ERROR_STATUS[error.code],
        headers=headers,
    )
