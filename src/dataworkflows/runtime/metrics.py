"""Prometheus metrics every component shares, and the ``GET /metrics`` answer.

Names follow Prometheus' conventions (``dw_`` prefix, base units, ``_total`` on
counters, added by the client library); every label has a bounded set of values: a
component, an HTTP method, a route template (never a path with ids in it), a status,
a connector and action name from the catalog, an error code. Run ids, user ids and
inputs never become labels.

The component-specific metrics live beside their component (``engine.metrics``); all
register in the process' default registry, so ``dev`` (every component in one
process) shows them all at each ``/metrics``.
"""

from __future__ import annotations

from typing import Any, Final, Generic, TypeVar

from prometheus_client import Counter, Gauge, Histogram, generate_latest

__all__ = [
    "BREAKER_STATE",
    "CONNECTOR_CALLS",
    "CONNECTOR_CALL_SECONDS",
    "CONTENT_TYPE",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_SECONDS",
    "RATE_LIMIT_WAIT_SECONDS",
    "Children",
    "exposition",
]

M = TypeVar("M", Counter, Histogram, Gauge)

CONTENT_TYPE: Final = "text/plain; version=0.0.4"
"""The classic text format ``generate_latest`` writes (Litestar adds the charset)."""

LATENCY_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
"""Seconds, from half a millisecond (a durable step) to half a minute (a slow vendor)."""

HTTP_REQUESTS: Final = Counter(
    "dw_http_requests",
    "HTTP requests answered, by component, method, route template and status.",
    ["component", "method", "route", "status"],
)
HTTP_REQUEST_SECONDS: Final = Histogram(
    "dw_http_request_duration_seconds",
    "Time to answer an HTTP request, by component and route template.",
    ["component", "route"],
    buckets=LATENCY_BUCKETS,
)
CONNECTOR_CALLS: Final = Counter(
    "dw_connector_calls",
    "Connector actions called, by connector, action and outcome (ok, or the error code).",
    ["connector", "action", "outcome"],
)
CONNECTOR_CALL_SECONDS: Final = Histogram(
    "dw_connector_call_duration_seconds",
    "Time a connector action took (its vendor calls and their retries), by connector and action.",
    ["connector", "action"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMIT_WAIT_SECONDS: Final = Counter(
    "dw_vendor_rate_limit_wait_seconds",
    "Time spent waiting because a vendor said to (Retry-After), by upstream.",
    ["upstream"],
)
BREAKER_STATE: Final = Gauge(
    "dw_circuit_breaker_state",
    "Each upstream's circuit breaker: 0 closed, 1 half-open (one trial call), 2 open.",
    ["upstream"],
)
UNMATCHED_ROUTE: Final = "(unmatched)"
"""The route label of a request no route took (a 404): never the path itself."""


class Children(Generic[M]):
    """A metric's children by label values, kept: ``labels()`` costs a lock and a few
    microseconds per call, too much for what every step does."""

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def of(self, *values: str) -> Any:
        """The child for ``values`` (label sets are bounded, so this dict is too)."""
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


def exposition() -> bytes:
    """Every metric of this process in Prometheus' text format."""
    return generate_latest()
