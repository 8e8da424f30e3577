"""OpenTelemetry traces: on when the standard ``OTEL_*`` variables ask for them, off and
free otherwise.

:func:`configure_tracing` turns tracing on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, unless ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none``; spans then go to that endpoint over OTLP/HTTP (the
exporter reads the other ``OTEL_EXPORTER_OTLP_*`` variables itself), named by
``OTEL_SERVICE_NAME`` (default ``dataworkflows-<component>``). While it is off, every
call site checks :func:`active` first and does nothing else: no span objects, no
context switches, no headers.

What is traced, with W3C ``traceparent`` carried between processes:

- every HTTP request a component answers (a server span, continuing the caller's
  trace): the engine's API, each connector's internal API, the Slack bot's endpoints;
- each run an engine executes (a child of the request that started it, when it
  started on that engine) and each step attempt in it;
- each call of the engine to a connector process, and each vendor HTTP call made
  through :func:`traced_http_client` (a client span, with ``traceparent`` sent on).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

__all__ = [
    "SpanKind",
    "TracedTransport",
    "active",
    "configure_tracing",
    "current_context",
    "disable_tracing",
    "inject",
    "mark_outcome",
    "span",
    "traced_http_client",
]

_state: dict[str, Any] = {"tracer": None, "provider": None}


def active() -> bool:
    """Whether spans are being recorded (check before doing any tracing work)."""
    return _state["tracer"] is not None


def wanted(environ: Mapping[str, str]) -> bool:
    """Whether the ``OTEL_*`` variables in ``environ`` ask for traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() in ("none", ""):
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(
    component: str,
    *,
    environ: Mapping[str, str] | None = None,
    exporter: SpanExporter | None = None,
) -> bool:
    """Turn tracing on when ``environ`` (default ``os.environ``) asks for it, or with
    ``exporter`` (tests: spans exported as they end); whether it is on."""
    environ = os.environ if environ is None else environ
    if exporter is None:
        if active() or not wanted(environ):
            return active()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor: Any = BatchSpanProcessor(OTLPSpanExporter())
    else:
        processor = SimpleSpanProcessor(exporter)
    name = environ.get("OTEL_SERVICE_NAME") or f"dataworkflows-{component}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(processor)
    _state["provider"] = provider
    _state["tracer"] = provider.get_tracer("dataworkflows")
    return True


def disable_tracing() -> None:
    """Turn tracing off, sending what is buffered first (process exit, tests)."""
    provider = _state["provider"]
    _state["tracer"] = None
    _state["provider"] = None
    if provider is not None:
        provider.shutdown()


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    parent: otel_context.Context | None = None,
) -> Iterator[Span]:
    """A span around the block (current inside it), ended with an error status when
    the block raises. Only call when :func:`active`."""
    tracer = _state["tracer"]
    assert tracer is not None, "span() while tracing is off"
    with tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes or {})
    ) as current:
        yield current


def fail(current: Span, message: str) -> None:
    """Mark ``current`` as failed with ``message`` (no exception needed)."""
    current.set_status(Status(StatusCode.ERROR, message))


def mark_outcome(status: str, error: Mapping[str, Any] | None) -> None:
    """Record a run's or an attempt's outcome on the current span (failed: an error)."""
    current = trace.get_current_span()
    current.set_attribute("dw.status", status)
    if status != "succeeded":
        # The code only: a message may quote what a vendor was sent.
        fail(current, str(error.get("code")) if error else status)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's ``traceparent`` (and ``tracestate``) to ``headers``."""
    propagate.inject(headers)


def extract(headers: Mapping[str, str]) -> otel_context.Context:
    """The caller's trace context from its request headers."""
    return propagate.extract(headers)


def current_context() -> otel_context.Context:
    """The context now (to start a span under it later, in another task)."""
    return otel_context.get_current()


class TracedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that wraps each request in a client span and sends the
    trace on (``traceparent``) to the vendor."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not active():
            return await self._inner.handle_async_request(request)
        attributes = {
            "http.request.method": request.method,
            "server.address": request.url.host,
            "url.path": request.url.path,
        }
        with span(f"{request.method} {request.url.host}", kind=SpanKind.CLIENT,
                  attributes=attributes) as current:  # fmt: skip
            carrier: dict[str, str] = {}
            inject(carrier)
            request.headers.update(carrier)
            response = await self._inner.handle_async_request(request)
            current.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                fail(current, f"HTTP {response.status_code}")
            return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def traced_http_client(**kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose requests are traced while tracing is on."""
    return httpx.AsyncClient(transport=TracedTransport(httpx.AsyncHTTPTransport()), **kwargs)
