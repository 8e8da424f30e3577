"""Every component's /metrics, and the shared metrics an operator reads: HTTP requests
by route template (never a path with ids), circuit breakers, vendors' rate-limit waits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import stamina
from litestar import get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from dataworkflows.connectors.toolkit.transport import Upstream
from dataworkflows.contracts.upstream import RateLimited, Unavailable
from dataworkflows.runtime.app import create_app
from dataworkflows.runtime.resilience import CircuitBreaker

ROOT = Path(__file__).resolve().parents[2]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_requests_are_counted_by_route_template_not_by_path() -> None:
    """/things/123 and /things/456 count under /things/{thing_id}: the label set stays
    bounded whatever paths are requested."""

    @get("/things/{thing_id:int}", sync_to_thread=False)
    def thing(thing_id: FromPath[int]) -> dict[str, int]:
        return {"id": thing_id}

    app = create_app(component="unit-metrics", route_handlers=[thing])
    labels = {"component": "unit-metrics", "method": "GET"}
    before = sample("dw_http_requests_total", **labels, route="/things/{thing_id}", status="200")
    async with AsyncTestClient(app) as client:
        assert (await client.get("/things/123")).status_code == 200
        assert (await client.get("/things/456")).status_code == 200
        assert (await client.get("/nothing/here")).status_code == 404
        exposed = await client.get("/metrics")
    assert exposed.status_code == 200
    assert exposed.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "/things/123" not in exposed.text
    after = sample("dw_http_requests_total", **labels, route="/things/{thing_id}", status="200")
    assert after - before == 2
    assert "/nothing/here" not in exposed.text


async def test_breaker_state_and_rate_limit_waits_are_exposed() -> None:
    """An open breaker reads 2, a closed one 0; a vendor's Retry-After is counted as
    time spent waiting on that upstream."""
    breaker = CircuitBreaker("unit-vendor", failure_threshold=1)
    assert sample("dw_circuit_breaker_state", upstream="unit-vendor") == 0
    breaker.record_failure()
    assert sample("dw_circuit_breaker_state", upstream="unit-vendor") == 2
    breaker.record_success()

    upstream = Upstream("unit-vendor", unavailable=Unavailable, breaker=breaker, wait_max=0.2)
    calls = 0

    async def throttled_once() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RateLimited("slow down", retry_after=0.05)
        return "done"

    before = sample("dw_vendor_rate_limit_wait_seconds_total", upstream="unit-vendor")
    stamina.set_testing(True, attempts=2)  # the tests' mode, with room for one retry
    try:
        assert await upstream.call(throttled_once) == "done"
    finally:
        stamina.set_testing(True)
    waited = sample("dw_vendor_rate_limit_wait_seconds_total", upstream="unit-vendor") - before
    assert 0.05 <= waited <= 0.3


def test_the_grafana_dashboard_plots_only_metrics_the_product_exposes() -> None:
    """Each panel's query names metrics the components define (a renamed metric would
    leave a panel empty without this)."""
    import dataworkflows.engine.metrics
    import dataworkflows.slackbot.app

    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dataworkflows.json").read_text())
    defined: set[str] = set()
    for family in REGISTRY.collect():
        defined.update(sample.name for sample in family.samples)
        defined.add(family.name)
        if family.type == "counter":
            defined.add(f"{family.name}_total")
    histogram_parts = ("_bucket", "_sum", "_count")
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"\bdw_[a-z_]+", target["expr"]):
                base = next((name[: -len(p)] for p in histogram_parts if name.endswith(p)), name)
                assert name in defined or base in defined, (panel["title"], name)
    assert dataworkflows.engine.metrics.RUNS_STARTED is not None
