"""Run history retention: old ended runs go in small batches with everything recorded
about them; runs not ended stay; each day's counts survive in dw.runs_per_day; the
API says from when history is complete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from dataworkflows.engine.retention import Pruner
from tests.support.engine import running_engine

FLOW = """
name: kept-or-not
steps:
  - {id: one, uses: core.echo, with: {n: 1}}
"""
WAITS = """
name: waits-long
steps:
  - {id: hold, uses: wait.signal, with: {signal: go}}
"""


async def test_old_ended_runs_are_pruned_and_their_days_still_counted(database_url: str) -> None:
    """Two runs of 40 days ago go (attempts and events too), in batches; a run as old
    but still waiting and a recent run stay; runs_per_day keeps the old day's two."""
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        await engine.register(WAITS)
        ids = []
        for _ in range(3):
            started = await engine.client.post("/v1/workflows/kept-or-not/runs?wait=30", json={})
            assert started.status_code == 200, started.text
            ids.append(started.json()["id"])
        waiting = await engine.client.post("/v1/workflows/waits-long/runs", json={})
        assert waiting.status_code == 201
        old, recent = ids[:2], ids[2]
        long_ago = datetime.now(UTC) - timedelta(days=40)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute(
                "UPDATE dw.runs SET created_at = %(t)s, started_at = %(t)s,"
                " finished_at = %(t)s + interval '2 seconds' WHERE id = ANY(%(ids)s)",
                {"t": long_ago, "ids": old},
            )
            await conn.execute(
                "UPDATE dw.runs SET created_at = %s WHERE id = %s",
                (long_ago, waiting.json()["id"]),
            )

            pruned = await Pruner(engine.service.store, days=30, batch=1, pause_s=0).prune_once()
            assert pruned == 2

            left = await (await conn.execute("SELECT id::text FROM dw.runs")).fetchall()
            assert {r[0] for r in left} == {recent, waiting.json()["id"]}
            attempts = await (
                await conn.execute(
                    "SELECT count(*) FROM dw.step_attempts WHERE run_id::text = ANY(%s)", (old,)
                )
            ).fetchone()
            assert attempts == (0,)
            events = await (
                await conn.execute(
                    "SELECT count(*) FROM dw.run_events WHERE run_id::text = ANY(%s)", (old,)
                )
            ).fetchone()
            assert events == (0,)
            day = await (
                await conn.execute(
                    "SELECT runs, avg_duration_ms FROM dw.runs_per_day"
                    " WHERE workflow_name = 'kept-or-not' AND day = date_trunc('day', %s::timestamptz)",
                    (long_ago,),
                )
            ).fetchone()
            assert day == (2, 2000)

        page = (await engine.client.get("/v1/runs")).json()
        since = datetime.fromisoformat(page["history_since"])
        assert abs((since - (datetime.now(UTC) - timedelta(days=30))).total_seconds()) < 120
        gone = await engine.client.get(f"/v1/runs/{old[0]}")
        assert gone.status_code == 404
        assert await Pruner(engine.service.store, days=30).prune_once() == 0
