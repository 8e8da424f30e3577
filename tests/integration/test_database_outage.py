"""Through a PostgreSQL outage the engine answers 503 within 2 s, is ready again within
5 s of the database coming back however long it was gone, and loses no run.

Each test starts a PostgreSQL server of its own, stops it mid-run and starts it again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

import httpx
import pytest

from dataworkflows.engine.executor import EngineConfig
from dataworkflows.runtime.embedded import EmbeddedPostgres
from dataworkflows.runtime.migrations import apply_migrations
from dataworkflows.runtime.resources import bundled_dir
from tests.support.engine import running_engine

STEPS = """\
name: paced
steps:
""" + "".join(f"  - {{id: s{i}, uses: core.sleep, with: {{seconds: 0.4}}}}\n" for i in range(8))


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A migrated PostgreSQL server that the test may stop and start."""
    server = EmbeddedPostgres(tmp_path / "pgdata", database="outage")
    server.start()
    apply_migrations(server.url, bundled_dir("migrations"))
    try:
        yield server
    finally:
        server.stop()


async def timed(request: Awaitable[httpx.Response]) -> tuple[int, float]:
    """The status of ``request`` and how long it took to answer."""
    started = time.perf_counter()
    response = await request
    return response.status_code, time.perf_counter() - started


async def ride_out(server: EmbeddedPostgres, seconds: float) -> None:
    """Stop ``server`` for ``seconds`` under runs in flight and check the engine."""
    url = server.url
    config = EngineConfig(max_runs=20, lease_seconds=5.0, claim_interval_s=0.1)
    async with running_engine(url, config=config) as engine:
        client = engine.client
        assert (await client.put("/v1/workflows/paced", content=STEPS)).status_code == 201
        run_ids = []
        for _ in range(5):
            started = await client.post("/v1/workflows/paced/runs", json={})
            assert started.status_code == 201, started.text
            run_ids.append(started.json()["id"])
        await asyncio.sleep(1.0)
        await asyncio.to_thread(server.stop)

        # Down: every call that needs the database is a 503 problem within 2 s.
        for method, path in (
            ("GET", "/v1/runs"),
            ("GET", f"/v1/runs/{run_ids[0]}"),
            ("POST", "/v1/workflows/paced/runs"),
            ("GET", "/v1/workflows"),
        ):
            status, took = await timed(client.request(method, path, json={}))
            assert status == 503, (method, path)
            assert took < 2.0, (method, path, took)
        down = await client.get("/v1/runs")
        assert down.headers["content-type"].startswith("application/problem+json")
        assert down.headers["retry-after"]
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert (await client.get("/healthz")).status_code == 200

        await asyncio.sleep(seconds)
        await asyncio.to_thread(server.start)
        back = time.monotonic()
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() - back < 5.0, (await client.get("/readyz")).text
            await asyncio.sleep(0.1)
        assert (await client.get("/v1/runs")).status_code == 200

        # No run is lost: each finishes, every step recorded as done.
        deadline = time.monotonic() + 60
        for run_id in run_ids:
            while True:
                detail = (await client.get(f"/v1/runs/{run_id}")).json()
                if detail["run"]["status"] not in ("queued", "running"):
                    break
                assert time.monotonic() < deadline, detail["run"]
                await asyncio.sleep(0.2)
            assert detail["run"]["status"] == "succeeded", detail["run"]["error"]
            done = {a["step_id"] for a in detail["steps"] if a["status"] == "succeeded"}
            assert done == {f"s{i}" for i in range(8)}


async def test_a_short_outage(own_postgres: EmbeddedPostgres) -> None:
    """A 3-second outage: 503s meanwhile, ready within 5 s after, every run finished."""
    await ride_out(own_postgres, 3.0)


async def test_a_minute_long_outage(own_postgres: EmbeddedPostgres) -> None:
    """A 60-second outage (longer than the lease): the same, with the runs resumed."""
    await ride_out(own_postgres, 60.0)
