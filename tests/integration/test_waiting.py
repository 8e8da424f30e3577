"""Runs that wait for a signal or a time: out of the engine while they wait, resumed
where they were, once."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

from tests.support.engine import API_KEY, running_engine

APPROVAL = """
name: needs-approval
inputs: {gate: {type: string, default: ""}}
steps:
  - {id: before, uses: probe.record, with: {key: "before-{{ run.id }}", wait_for: "{{ inputs.gate or none }}"}}
  - id: approval
    uses: wait.signal
    with: {signal: approval, timeout: 1h}
  - id: after
    uses: probe.record
    with: {key: "after-{{ run.id }}", payload: "{{ steps.approval.output.payload }}"}
output:
  decision: "{{ steps.approval.output.payload }}"
  timed_out: "{{ steps.approval.output.timed_out }}"
"""


async def start(engine: Any, name: str, inputs: dict[str, Any] | None = None) -> Any:
    run, _ = await engine.service.start_run(
        name, inputs=inputs or {}, idempotency_key=None, trigger={"source": "test"}
    )
    return run


async def until_status(engine: Any, run_id: UUID, status: str, within_s: float = 10.0) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        run = await engine.service.run(run_id)
        if run.status == status:
            return run
        assert time.monotonic() < deadline, f"run is {run.status}, not {status}"
        await asyncio.sleep(0.02)


async def test_a_run_waits_outside_the_engine_and_a_signal_resumes_it(database_url: str) -> None:
    """While waiting the run holds nothing; the signal's payload is the step's output,
    and the steps before it are not run again. The console shows the step waiting,
    then, once the run went on, as waited."""
    async with running_engine(database_url) as engine, engine.browser() as browser:
        await browser.post("/sign-in", data={"api_key": API_KEY, "next": "/runs"})
        await engine.register(APPROVAL)
        run = await start(engine, "needs-approval")
        waiting = await until_status(engine, run.id, "waiting")
        assert waiting.waiting_for == "approval"
        assert waiting.wake_at is not None
        assert waiting.owner is None
        assert not engine.executor.is_local(run.id)
        view = (await engine.client.get(f"/v1/runs/{run.id}")).json()
        assert view["run"]["status"] == "waiting"
        assert view["run"]["waiting_for"] == "approval"
        page = (await browser.get(f"/runs/{run.id}")).text
        assert '<span class="status waiting">waiting</span>' in page

        sent = await engine.client.post(
            f"/v1/runs/{run.id}/signals/approval", json={"payload": {"approved": True}}
        )
        assert sent.status_code == 202, sent.text
        assert sent.json()["woke"] is True
        done = await engine.service.wait(await engine.service.run(run.id), 10)
        attempts = await engine.attempts(run.id)
        calls = [c.key for c in engine.probe.calls]
        page = (await browser.get(f"/runs/{run.id}")).text
    assert done.status == "succeeded", done.error
    assert '<span class="status waiting">waited</span>' in page
    assert '<span class="status waiting">waiting</span>' not in page
    assert done.output == {"decision": {"approved": True}, "timed_out": False}
    assert calls == [f"before-{run.id}", f"after-{run.id}"]
    waits = [(a.attempt, a.status) for a in attempts if a.step_id == "approval"]
    assert waits == [(1, "waiting"), (2, "succeeded")]


async def test_a_signal_sent_before_the_run_waits_is_kept_for_it(database_url: str) -> None:
    """A signal that arrives while the run is still busy is taken when it gets there."""
    async with running_engine(database_url) as engine:
        await engine.register(APPROVAL)
        run = await start(engine, "needs-approval", {"gate": "hold"})
        await until_status(engine, run.id, "running")
        sent = await engine.client.post(
            f"/v1/runs/{run.id}/signals/approval", json={"payload": "early"}
        )
        assert sent.status_code == 202
        assert sent.json()["woke"] is False
        engine.probe.gates.setdefault("hold", asyncio.Event()).set()
        done = await engine.service.wait(await engine.service.run(run.id), 10)
    assert done.status == "succeeded", done.error
    assert done.output["decision"] == "early"


TIMED = """
name: timed-wait
inputs: {on_timeout: {type: string, default: continue}}
steps:
  - id: approval
    uses: wait.signal
    with: {signal: approval, timeout: 0.3, default: {approved: false}, on_timeout: "{{ inputs.on_timeout }}"}
  - id: nap
    uses: wait.until
    with: {duration: 0.3}
output:
  approval: "{{ steps.approval.output }}"
  nap: "{{ steps.nap.output }}"
"""


async def test_timeouts_and_timers_wake_the_run_by_themselves(database_url: str) -> None:
    """A signal's timeout goes on with the default (or fails the run); wait.until wakes
    at its time; no engine holds the run meanwhile."""
    async with running_engine(database_url) as engine:
        await engine.register(TIMED)
        started = time.monotonic()
        run = await start(engine, "timed-wait")
        done = await engine.service.wait(run, 15)
        took = time.monotonic() - started
        failing = await start(engine, "timed-wait", {"on_timeout": "fail"})
        failed = await engine.service.wait(failing, 15)
        events = [e.kind for e in await engine.service.store.get_run_events(run.id)]
    assert done.status == "succeeded", done.error
    assert done.output["approval"]["timed_out"] is True
    assert done.output["approval"]["payload"] == {"approved": False}
    assert done.output["nap"]["woke_at"] >= done.output["nap"]["until"]
    assert took >= 0.6
    assert events.count("waiting") == 2
    assert events.count("woken") == 2
    assert failed.status == "failed"
    assert failed.error["code"] == "timed_out"
    assert failed.error["step"] == "approval"


async def test_a_waiting_run_is_cancelled_at_once_and_takes_no_more_signals(
    database_url: str,
) -> None:
    """Cancel needs no engine for a waiting run; an ended run refuses signals (409)."""
    async with running_engine(database_url) as engine:
        await engine.register(APPROVAL)
        run = await start(engine, "needs-approval")
        await until_status(engine, run.id, "waiting")
        cancelled = await engine.client.post(f"/v1/runs/{run.id}/cancel")
        assert cancelled.status_code == 202
        assert cancelled.json()["status"] == "cancelled"
        late = await engine.client.post(f"/v1/runs/{run.id}/signals/approval", json={})
        assert late.status_code == 409
        bad = await engine.client.post(f"/v1/runs/{run.id}/signals/no%20spaces", json={})
        assert bad.status_code == 422
        unknown = await engine.client.post(
            "/v1/runs/00000000-0000-4000-8000-000000000000/signals/approval", json={}
        )
        assert unknown.status_code == 404


async def test_another_engine_resumes_a_run_that_waited_on_a_stopped_one(
    database_url: str,
) -> None:
    """The engine that suspended the run stops; the signal is taken by another."""
    async with running_engine(database_url) as first:
        await first.register(APPROVAL)
        run = await start(first, "needs-approval")
        await until_status(first, run.id, "waiting")
    async with running_engine(database_url) as second:
        sent = await second.client.post(
            f"/v1/runs/{run.id}/signals/approval", json={"payload": "later"}
        )
        assert sent.status_code == 202
        done = await second.service.wait(await second.service.run(run.id), 10)
        before = [c for c in second.probe.calls if c.key == f"before-{run.id}"]
    assert done.status == "succeeded", done.error
    assert done.output["decision"] == "later"
    assert before == [], "the step before the wait ran again"
