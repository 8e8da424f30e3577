"""The internal connector API, served for any :class:`ActionSet`.

- ``GET /v1/actions``: the catalog.
- ``POST /v1/actions/{action}``: ``{"input", "idempotency_key", "context"}`` ->
  ``{"output"}``, or ``{"error": {"code", "message", "retryable", "retry_after_s"}}``
  with the status of its code (``ERROR_STATUS``).

Both need ``Authorization: Bearer <DW_SERVICE_TOKEN>``: connectors hold credentials
for upstream systems, so only the engine (and the Slack bot) may call them.
"""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

import msgspec
from litestar import Litestar, Request, Response, Router, get, post
from litestar.enums import ScopeType
from litestar.params import BodyKwarg, FromPath
from litestar.serialization import default_serializer
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send
from litestar.types.asgi_types import (
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
)
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
    "direct_invoke",
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
        # Reached for what direct_invoke hands on: a body it could not take as is.
        answer, status, headers = await _call(actions, action, data)
        return Response(answer, status_code=status, headers=headers)

    router = Router(
        path="/v1",
        route_handlers=[catalog, invoke, *extra_routes],
        middleware=[service_token_middleware(service_token), direct_invoke(actions)],
    )
    return create_app(
        component=f"connector-{actions.connector}", route_handlers=[router], readiness=readiness
    )


async def _call(
    actions: ActionSet, action: str, data: ActionRequest
) -> tuple[ActionResult | ActionErrorEnvelope, int, dict[str, str]]:
    """Run one call: its answer, HTTP status and extra headers; the duration recorded."""
    started = time.perf_counter()
    try:
        output = await actions.invoke(action, data)
    except ActionFailed as failed:
        return _error_answer(failed.error)
    except Exception:
        _log.exception("action failed unexpectedly", action=action)
        return _error_answer(
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
    return ActionResult(output=output), 200, {}


def _error_answer(
    error: ActionError,
) -> tuple[ActionResult | ActionErrorEnvelope, int, dict[str, str]]:
    headers = {}
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(error.retry_after_s)))
    return ActionErrorEnvelope(error=error), ERROR_STATUS[error.code], headers


INVOKE_ROUTE: Final = "/v1/actions/{action}"
MAX_DIRECT_BODY: Final = 10_000_000
"""Litestar's own request body limit: larger bodies go to Litestar, which answers 413."""

_strict_request = msgspec.json.Decoder(ActionRequest)
_answer_encoder = msgspec.json.Encoder(enc_hook=default_serializer)  # as Litestar's


def direct_invoke(actions: ActionSet) -> Callable[[ASGIApp], ASGIApp]:
    """Router middleware: answer a well-formed ``POST /v1/actions/{action}`` itself.

    Every engine step is one such call, and Litestar's per-request work (the kwargs
    model, the Response and ASGIResponse objects, the handler chain) was half of a
    connector process's CPU per call (bench/w5.py). This reads the body, decodes it
    strictly, calls the action and writes the same JSON answer Litestar would. A
    body it cannot take as is (malformed, the wrong shape, too large) goes on to the
    Litestar handler unread, so every error answer stays Litestar's own.
    """

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if (
                scope["type"] != ScopeType.HTTP
                or scope["method"] != "POST"
                or scope.get("path_template") != INVOKE_ROUTE
            ):
                await app(scope, receive, send)
                return
            chunks: list[bytes] = []
            size = 0
            more = True
            while more and size <= MAX_DIRECT_BODY:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the caller went away: nobody to answer
                chunk = message.get("body", b"")
                chunks.append(chunk)
                size += len(chunk)
                more = message.get("more_body", False)
            body = b"".join(chunks)
            data = None
            if not more and size <= MAX_DIRECT_BODY:
                with contextlib.suppress(msgspec.DecodeError):  # ValidationError included
                    data = _strict_request.decode(body)
            if data is None:
                await app(scope, _replay(body, more, receive), send)
                return
            answer, status, headers = await _call(actions, scope["path_params"]["action"], data)
            payload = _answer_encoder.encode(answer)
            raw = [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(payload)),
                *((name.lower().encode(), value.encode()) for name, value in headers.items()),
            ]
            await send(
                HTTPResponseStartEvent(type="http.response.start", status=status, headers=raw)
            )
            await send(
                HTTPResponseBodyEvent(type="http.response.body", body=payload, more_body=False)
            )

        return middleware

    return wrap


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """``receive`` with what was already read from it put back in front."""
    pending = [HTTPRequestEvent(type="http.request", body=body, more_body=more)]

    async def replay() -> ReceiveMessage:
        if pending:
            return pending.pop()
        return await receive()

    return replay
