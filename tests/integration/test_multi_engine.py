"""Several engines on one database: each run and step executes in one place only."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import psycopg
import pytest

from dataworkflows.engine.executor import EngineConfig
from dataworkflows.engine.store import NewRun
from tests.support.engine import ProbeLog, running_engine

STEPS = """
name: shared-work
inputs: {n: {type: integer}}
steps:
  - {id: one, uses: probe.record, with: {key: "{{ run.id }}-one", group: work, seconds: 0.01}}
  - {id: two, uses: probe.record, with: {key: "{{ run.id }}-two", group: work, seconds: 0.01}}
  - {id: three, uses: probe.record, with: {key: "{{ run.id }}-three", group: work, seconds: 0.01}}
"""


async def test_two_engines_share_the_queue_without_overlap(database_url: str) -> None:
    """Two engines claiming from one queue run every step exactly once, never concurrently."""
    probe = ProbeLog()
    config = EngineConfig(max_runs=15, lease_seconds=5.0, claim_interval_s=0.02)
    async with (
        running_engine(database_url, config=config, probe=probe) as a,
        running_engine(database_url, config=config, probe=probe) as b,
    ):
        version = await a.register(STEPS)
        store = a.service.store
        run_ids = []
        for n in range(60):
            run, _ = await store.create_run(
                NewRun(
                    id=uuid4(),
                    workflow_name="shared-work",
                    workflow_version=version,
                    inputs={"n": n},
                    trigger={},
                    idempotency_key=None,
                    timeout_seconds=None,
                    engine=None,
                )
            )
            run_ids.append(run.id)
        finals = [await a.service.wait(await store.get_run(r), 30) for r in run_ids]
        claimers = set()
        for run_id in run_ids:
            events = await store.get_run_events(run_id)
            claimers.update(e.detail["engine"] for e in events if e.kind == "claimed")
        engine_ids = {a.executor.engine_id, b.executor.engine_id}
    assert {r.status for r in finals} == {"succeeded"}
    assert probe.overlaps == []
    keys = [c.key for c in probe.calls]
    assert len(keys) == len(set(keys)) == 60 * 3
    assert claimers == engine_ids, "both engines should have taken part"


async def test_a_silent_engine_is_replaced_and_its_done_steps_are_not_redone(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine whose heartbeat fails stops its runs; another resumes them after the lease."""
    probe = ProbeLog()
    config = EngineConfig(max_runs=10, lease_seconds=1.0, claim_interval_s=0.05)
    # B's own lease is long: on a loaded machine a 1 s lease can lapse between two of
    # its heartbeats too, and B would then rightly run the step a third time.
    steady = EngineConfig(max_runs=10, lease_seconds=10.0, claim_interval_s=0.05)
    flow = """
name: handover
steps:
  - {id: first, uses: probe.record, with: {key: first}}
  - {id: second, uses: probe.record, with: {key: second, seconds: 2}}
  - {id: third, uses: probe.record, with: {key: third}}
"""
    async with running_engine(database_url, config=config, probe=probe) as a:
        await a.register(flow)
        run, _ = await a.service.start_run("handover", inputs={}, idempotency_key=None, trigger={})
        while probe.count("second") == 0:
            await asyncio.sleep(0.01)

        async def unreachable(**_: object) -> list[object]:
            raise psycopg.OperationalError("network down")

        # Engine A can no longer renew its lease: it must stop before the lease ends.
        monkeypatch.setattr(a.service.store, "heartbeat", unreachable)
        old_engine = a.executor.engine_id
        async with running_engine(database_url, config=steady, probe=probe) as b:
            final = await b.service.wait(run, 20)
            attempts = await b.service.store.get_step_attempts(run.id)
            events = await b.service.store.get_run_events(run.id)
    assert final.status == "succeeded"
    assert probe.count("first") == 1, "a recorded step ran again"
    assert probe.count("third") == 1
    assert probe.overlaps == [], "two engines ran the same step at the same time"
    seconds = [c for c in probe.calls if c.key == "second"]
    assert len(seconds) == 2  # A's attempt was abandoned, B's completed
    assert seconds[0].ended <= seconds[1].started
    assert [(x.step_id, x.status) for x in attempts if x.step_id != "second"] == [
        ("first", "succeeded"),
        ("third", "succeeded"),
    ]
    recovered = [e for e in events if e.kind == "recovered"]
    assert recovered
    assert recovered[0].detail["previous_engine"] == old_engine


async def test_records_from_an_engine_that_lost_the_run_are_refused(database_url: str) -> None:
    """When a run was taken over, the old engine's late result is refused (fencing)."""
    probe = ProbeLog()
    config = EngineConfig(max_runs=5, lease_seconds=1.0, claim_interval_s=0.05)
    steady = EngineConfig(max_runs=5, lease_seconds=10.0, claim_interval_s=0.05)
    flow = """
name: fenced
steps:
  - {id: slow, uses: probe.record, with: {key: slow, wait_for: release}}
"""
    async with running_engine(database_url, config=config, probe=probe) as a:
        await a.register(flow)
        run, _ = await a.service.start_run("fenced", inputs={}, idempotency_key=None, trigger={})
        while probe.count("slow") == 0:
            await asyncio.sleep(0.01)
        # Freeze A: no heartbeat, no watchdog, no claims; its run is still "in flight".
        for task in [*a.executor._intake_tasks, *a.executor._upkeep]:
            task.cancel()
        a.executor.lease.close()
        async with running_engine(database_url, config=steady, probe=probe) as b:
            while probe.count("slow") < 2:
                await asyncio.sleep(0.05)
            probe.gates["release"].set()  # both calls return now
            final = await b.service.wait(run, 10)
            attempts = await b.service.store.get_step_attempts(run.id)
    assert final.status == "succeeded"
    succeeded = [x for x in attempts if x.status == "succeeded"]
    assert len(succeeded) == 1, "only the owning engine's result may be recorded"
