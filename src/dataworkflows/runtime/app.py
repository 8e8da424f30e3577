"""The Litestar app factory every component is built with.

It adds what each process needs in the same shape: ``GET /healthz`` (the process is
alive), ``GET /readyz`` (its dependencies answer; 503 with the reasons otherwise),
``GET /metrics`` (Prometheus' text format, see :mod:`.metrics`),
errors as problem details, a request id on every response and log line, and one
access log line per request.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

import msgspec
import structlog
from litestar import Litestar, Response, get
from litestar.datastructures import MutableScopeHeaders
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.types import ASGIApp, ControllerRouterHandler, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from dataworkflows.runtime import tracing
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from dataworkflows.runtime.metrics import (
    HTTP_REQUEST_SECONDS,
    HTTP_REQUESTS,
    UNMATCHED_ROUTE,
    Children,
    exposition,
)
from dataworkflows.runtime.openapi import complete_when_built
from dataworkflows.runtime.problems import (
    PROBLEM_MEDIA_TYPE,
    REQUEST_ID_HEADER,
    ProblemDocument,
    exception_handlers,
    request_id_from_header,
)

__all__ = ["ReadinessCheck", "create_app"]

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, else one line saying what is wrong."""

READINESS_TIMEOUT_S: Final = 3.0
_QUIET_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})

_log = get_logger("dataworkflows.http")
# The standard logger behind it: asking it whether a level is on is a cached lookup,
# where calling the structlog proxy builds a bound logger on every request.
_log_level_of = logging.getLogger("dataworkflows.http").isEnabledFor


class Health(msgspec.Struct, frozen=True):
    """The answer of ``/healthz``."""

    status: str
    component: str


class Readiness(msgspec.Struct, frozen=True):
    """The answer of ``/readyz``: each check's result (``ok`` or what is wrong)."""

    status: str
    component: str
    checks: dict[str, str]


def request_context(app: ASGIApp, component: str = "") -> ASGIApp:
    """Middleware: bind a request id for logs and responses, log each request and count
    it (``dw_http_requests_total``, by route template: never a path with ids)."""

    requests: Children[Counter] = Children(HTTP_REQUESTS)
    seconds: Children[Histogram] = Children(HTTP_REQUEST_SECONDS)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = request_id_from_header(incoming)
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableScopeHeaders.from_message(message)
                headers[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            if tracing.active():
                await _traced(app, scope, receive, send_with_id, lambda: status)
            else:
                await app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            path = scope["path"]
            quiet = path in _QUIET_PATHS and status < 400
            if _log_level_of(logging.DEBUG if quiet else logging.INFO):
                (_log.debug if quiet else _log.info)(
                    "request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            route = scope.get("path_template") or UNMATCHED_ROUTE
            requests.of(component, scope["method"], route, str(status)).inc()
            seconds.of(component, route).observe(elapsed)
            structlog.contextvars.reset_contextvars(**tokens)

    return middleware


async def _traced(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, status: Callable[[], int]
) -> None:
    """Answer the request in a server span that continues the caller's trace."""
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    method = str(scope.get("method", "GET"))
    with tracing.span(
        f"{method} {scope['path']}",
        kind=tracing.SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": scope["path"]},
        parent=tracing.extract(headers),
    ) as current:
        try:
            await app(scope, receive, send)
        finally:
            # Routed now: name the span by its template (bounded), as HTTP semconv says.
            route = scope.get("path_template")
            if route:
                current.update_name(f"{method} {route}")
                current.set_attribute("http.route", route)
            current.set_attribute("http.response.status_code", status())
            if status() >= 500:
                tracing.fail(current, f"HTTP {status()}")


_PARAM_TYPE_RE: Final = re.compile(r"\{(\w+):[^}]+\}")


def exact_allow(app: ASGIApp) -> ASGIApp:
    """Middleware: ``OPTIONS`` answers ``Allow`` with every method of the path.

    Litestar builds a path's automatic OPTIONS handler with the methods of the first
    handler registered for it (GET of ``/v1/workflows/{name}``), and the route that
    later merges the others (PUT) keeps that handler: ``Allow`` would omit PUT.
    """
    allowed: dict[str, str] = {}

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS":
            await app(scope, receive, send)
            return

        async def send_exact(message: Message) -> None:
            template = scope.get("path_template")
            if message["type"] == "http.response.start" and template:
                if not allowed:
                    for route in scope["app"].routes:
                        path = _PARAM_TYPE_RE.sub(r"{\1}", route.path)
                        allowed[path] = ", ".join(sorted(route.methods))
                if template in allowed:
                    headers = MutableScopeHeaders.from_message(message)
                    if "allow" in headers:
                        headers["allow"] = allowed[template]
            await send(message)

        await app(scope, receive, send_exact)

    return middleware


def _health_routes(component: str, checks: Mapping[str, ReadinessCheck]) -> list[Any]:
    @get("/healthz", tags=["health"], summary="The process is alive", sync_to_thread=False)
    def healthz() -> Health:
        return Health(status="ok", component=component)

    @get(
        "/readyz",
        tags=["health"],
        summary="The process can do its work",
        description="503 with the failing checks when a dependency is not ready.",
        responses={
            503: ResponseSpec(
                data_container=ProblemDocument,
                description="Not ready; `detail` and `checks` say what is wrong",
                media_type=PROBLEM_MEDIA_TYPE,
            )
        },
    )
    async def readyz() -> Response[Readiness]:
        names = list(checks)
        results = await asyncio.gather(*(_run_check(checks[n]) for n in names))
        report = {n: (r or "ok") for n, r in zip(names, results, strict=True)}
        failing = [f"{n}: {r}" for n, r in zip(names, results, strict=True) if r]
        if not failing:
            return Response(Readiness(status="ready", component=component, checks=report))
        body = {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "; ".join(failing),
            "instance": "/readyz",
            "request_id": structlog.contextvars.get_contextvars().get("request_id"),
            "component": component,
            "checks": report,
        }
        return Response(body, status_code=503, media_type=PROBLEM_MEDIA_TYPE)  # type: ignore[arg-type]

    @get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics",
        include_in_schema=False,
        sync_to_thread=False,
    )
    def metrics() -> Response[bytes]:
        return Response(exposition(), media_type=METRICS_CONTENT_TYPE)

    return [healthz, readyz, metrics]


async def _run_check(check: ReadinessCheck) -> str | None:
    try:
        return await asyncio.wait_for(check(), timeout=READINESS_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {READINESS_TIMEOUT_S:g} s"
    except Exception as exc:
        _log.warning("readiness check failed", error_type=type(exc).__name__, error=str(exc))
        return f"check failed ({type(exc).__name__})"


def create_app(
    *,
    component: str,
    route_handlers: Sequence[ControllerRouterHandler] = (),
    readiness: Mapping[str, ReadinessCheck] | None = None,
    lifespan: Sequence[Callable[[Litestar], AbstractAsyncContextManager[Any]]] = (),
    dependencies: Mapping[str, Provide] | None = None,
    openapi: OpenAPIConfig | None = None,
    debug: bool = False,
) -> Litestar:
    """A Litestar app for ``component`` with the shared endpoints and behaviour.

    ``readiness`` maps a check name to a check; ``/readyz`` runs them concurrently.
    ``openapi`` None means the component publishes no API documentation.
    """
    app = Litestar(
        route_handlers=[*_health_routes(component, readiness or {}), *route_handlers],
        middleware=[DefineMiddleware(request_context, component=component), exact_allow],
        exception_handlers=exception_handlers(),
        lifespan=list(lifespan),
        dependencies=dict(dependencies or {}),
        openapi_config=openapi,
        debug=debug,
        # Our middleware logs requests; Litestar's own exception logging would
        # print a second traceback for errors the problem handler already logged.
        logging_config=None,
    )
    complete_when_built(app)
    return app
