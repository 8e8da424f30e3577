"""Prometheus metrics at /metrics: what an operator graphs (runs, steps, connector
calls, HTTP), named by Prometheus' conventions with bounded labels (never a run id)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.support.engine import running_engine

FLOW = """
name: measured
steps:
  - {id: first, uses: core.echo, with: {n: 1}}
  - {id: second, uses: core.echo, needs: [first], with: {n: 2}}
  - {id: broken, uses: core.fail, needs: [second], on_error: continue, retry: {attempts: 1},
     with: {code: invalid_input, retryable: false}}
"""
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_a_run_shows_in_the_engine_s_metrics(database_url: str) -> None:
    """Runs started and finished by workflow and status, step attempts by action and
    status, connector calls by outcome, HTTP requests by route template; no label
    holds a run id, and every family of ours is dw_-prefixed."""
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        before = samples((await engine.client.get("/metrics")).text)
        started = await engine.client.post("/v1/workflows/measured/runs?wait=30", json={})
        assert started.status_code == 200, started.text
        run_id = started.json()["id"]
        assert (await engine.client.get(f"/v1/runs/{run_id}")).status_code == 200

        response = await engine.client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        after = samples(response.text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("dw_runs_started_total", workflow="measured") == 1
    assert grew("dw_runs_finished_total", workflow="measured", status="succeeded") == 1
    assert grew("dw_run_duration_seconds_count", workflow="measured", status="succeeded") == 1
    assert (
        grew("dw_step_attempt_duration_seconds_count", action="core.echo", status="succeeded") == 2
    )
    assert grew("dw_step_attempt_duration_seconds_count", action="core.fail", status="failed") == 1
    assert grew("dw_connector_calls_total", connector="core", action="echo", outcome="ok") == 2
    assert (
        grew("dw_connector_calls_total", connector="core", action="fail", outcome="invalid_input")
        == 1
    )
    assert grew("dw_journal_batch_records_count") >= 1
    route = "/v1/runs/{run_id}"
    assert (
        grew("dw_http_requests_total", component="engine", method="GET", route=route, status="200")
        == 1
    )
    assert value(after, "dw_runs_in_flight") == 0

    for name, labels in after:
        assert not any(UUID_RE.search(v) for _, v in labels), (name, labels)
    ours = {name for name, _ in after if name.startswith("dw_")}
    assert ours, "no dw_ metrics"
    counters = {n for n in ours if n.endswith("_total")}
    assert "dw_runs_started_total" in counters


async def test_unfinished_runs_are_counted_by_status(database_url: str) -> None:
    """dw_runs{status} follows the database: a waiting run shows as waiting."""
    flow = """
name: waits-for-ok
steps:
  - {id: ok, uses: wait.signal, with: {signal: ok}}
"""
    async with running_engine(database_url) as engine:
        await engine.register(flow)
        started = await engine.client.post("/v1/workflows/waits-for-ok/runs", json={})
        assert started.status_code == 201, started.text
        waiting = 0.0
        async with asyncio.timeout(20):
            while waiting < 1:
                await asyncio.sleep(0.5)
                found = samples((await engine.client.get("/metrics")).text)
                waiting = value(found, "dw_runs", status="waiting")
        assert value(found, "dw_runs", status="queued") >= 0
