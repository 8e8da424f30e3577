"""The executor's retry and resume rules, run in milliseconds on an in-memory store.

The same rules hold against PostgreSQL (tests/integration/test_executor.py,
test_crash_recovery.py); these pin them down without a database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from dataworkflows.connectors.core.service import core_actions
from dataworkflows.contracts import ActionFailed
from dataworkflows.engine.connectors import ConnectorRegistry, InProcessConnector
from dataworkflows.engine.definitions import load_yaml, parse_definition
from dataworkflows.engine.evaluation import Evaluator
from dataworkflows.engine.expressions import EVALUATION_TASKS as EXPRESSION_TASKS
from dataworkflows.engine.interpreter import StepInterpreter
from dataworkflows.engine.journal import Journal
from dataworkflows.engine.runs import RunState
from dataworkflows.engine.store import RunFinish, StepAttempt
from dataworkflows.engine.validation import CompiledWorkflow, compile_workflow
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.evaluation_pool import EvaluationPool
from dataworkflows.runtime.redaction import Redactor
from tests.support.memory_store import MemoryEngineStore

ENGINE = "engine-a"


@dataclass
class Rig:
    """A step interpreter on an in-memory store, with a counting connector."""

    store: MemoryEngineStore
    interpreter: StepInterpreter
    calls: list[tuple[str, int]] = field(default_factory=list)
    """(key, attempt) of every call of ``t.call``."""
    sleeps: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    """How many first attempts of each key fail (retryably)."""
    journal_gone: list[bool] = field(default_factory=list)
    released: list[UUID] = field(default_factory=list)

    async def run(
        self, source: str, *, run_id: UUID | None = None, resume: bool = False
    ) -> tuple[RunFinish | None, UUID]:
        """Run (or resume) ``source`` to its end; its outcome and the run id."""
        state = RunState.new(run_id or uuid4(), _compiled(source), {})
        self.store.hold(state.id, ENGINE)
        return await self.interpreter.outcome(state, resume), state.id


def _compiled(source: str) -> CompiledWorkflow:
    return compile_workflow(parse_definition(load_yaml(source)), catalog=None, version=1)


def _test_actions(rig: Rig) -> ActionSet:
    actions = ActionSet("t")

    @actions.action("call", effect="write", description="Counts the call; may fail.")
    async def call(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
        key = str(data.get("key", ""))
        rig.calls.append((key, call.attempt))
        if call.attempt <= rig.failures.get(key, 0):
            raise ActionFailed.of(
                "upstream_unavailable", "down", retry_after_s=data.get("retry_after")
            )
        return {"key": key, "attempt": call.attempt, "token": data.get("token")}

    return actions


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    store = MemoryEngineStore()
    journal = Journal(store, engine_id=ENGINE, flushers=1)
    pool = EvaluationPool(tasks=EXPRESSION_TASKS, workers=1)
    the_rig = Rig(store=store, interpreter=None)  # type: ignore[arg-type]

    async def sleep(seconds: float) -> None:
        the_rig.sleeps.append(seconds)

    the_rig.interpreter = StepInterpreter(
        store=store,
        journal=journal,
        connectors=ConnectorRegistry(
            [InProcessConnector(_test_actions(the_rig)), InProcessConnector(core_actions())]
        ),
        evaluator=Evaluator(pool),
        redactor=Redactor(["configured-secret-value"]),
        on_journal_unavailable=lambda: the_rig.journal_gone.append(True),
        release_later=the_rig.released.append,
        sleep=sleep,
        jitter=lambda: 0.0,
    )
    journal.start()
    try:
        yield the_rig
    finally:
        await journal.close()
        await pool.close()


TWO_STEPS = """
name: two
steps:
  - {id: a, uses: t.call, with: {key: a}, retry: {attempts: 3, initial_delay: 1s, jitter: 0}}
  - {id: b, uses: t.call, with: {key: b, from_a: "{{ steps.a.output.key }}"}}
"""


async def test_a_transient_failure_is_retried_with_backoff_and_recorded() -> None:
    """Each failed attempt is recorded, the waits follow the policy, the last one wins."""
    async with rig() as r:
        r.failures["a"] = 2
        finish, run_id = await r.run(TWO_STEPS)
    assert finish is not None
    assert finish.status == "succeeded"
    assert [a for k, a in r.calls if k == "a"] == [1, 2, 3]
    assert r.sleeps == [1.0, 2.0]
    statuses = [a.status for a in r.store.calls_of(run_id, "a")]
    assert statuses == ["failed", "failed", "succeeded"]


async def test_the_wait_is_at_least_what_the_connector_asked() -> None:
    """A retry_after_s longer than the backoff is waited instead."""
    source = """
name: throttled
steps:
  - id: a
    uses: t.call
    with: {key: a, retry_after: 7}
    retry: {attempts: 2, initial_delay: 100ms, jitter: 0}
"""
    async with rig() as r:
        r.failures["a"] = 1
        finish, _ = await r.run(source)
    assert finish is not None
    assert finish.status == "succeeded"
    assert r.sleeps == [7.0]


async def test_retries_give_up_after_the_policys_attempts() -> None:
    """The run fails naming the step once every attempt failed; later steps never run."""
    async with rig() as r:
        r.failures["a"] = 10
        finish, _ = await r.run(TWO_STEPS)
    assert finish is not None
    assert finish.status == "failed"
    assert finish.error is not None
    assert finish.error["step"] == "a"
    assert [k for k, _ in r.calls] == ["a", "a", "a"]


def _done(run_id: UUID, step: str, *, attempt: int = 1, **fields: Any) -> StepAttempt:
    now = datetime.now(UTC)
    values: dict[str, Any] = {"status": "succeeded", "finished_at": now, **fields}
    return StepAttempt(
        run_id=run_id,
        step_id=step,
        iteration=-1,
        attempt=attempt,
        action="t.call",
        queued_at=now,
        started_at=now,
        **values,
    )


async def test_a_resumed_run_never_repeats_a_step_that_succeeded() -> None:
    """The recorded output stands in for the step; the next step sees it."""
    run_id = uuid4()
    async with rig() as r:
        r.store.seed(_done(run_id, "a", output={"key": "recorded-a"}))
        finish, _ = await r.run(TWO_STEPS, run_id=run_id, resume=True)
    assert finish is not None
    assert finish.status == "succeeded"
    assert [k for k, _ in r.calls] == ["b"]
    b = r.store.calls_of(run_id, "b")[-1]
    assert b.input == {"key": "b", "from_a": "recorded-a"}


async def test_an_attempt_cut_short_by_a_dead_engine_is_closed_and_tried_again() -> None:
    """A 'running' row left by a stopped engine becomes engine_lost, and the step runs
    again as the next attempt (with the same idempotency key)."""
    run_id = uuid4()
    async with rig() as r:
        r.store.seed(_done(run_id, "a", status="running", finished_at=None))
        finish, _ = await r.run(TWO_STEPS, run_id=run_id, resume=True)
    assert finish is not None
    assert finish.status == "succeeded"
    assert r.calls[0] == ("a", 2)
    first, second = r.store.calls_of(run_id, "a")
    assert first.status == "failed"
    assert first.error is not None
    assert first.error["code"] == "engine_lost"
    assert second.status == "succeeded"


async def test_a_recorded_output_with_masked_secrets_is_not_replayed() -> None:
    """An output recorded with '***' in it cannot feed later steps: the step runs again."""
    run_id = uuid4()
    async with rig() as r:
        r.store.seed(_done(run_id, "a", output={"token": "***"}, redacted=True))
        finish, _ = await r.run(TWO_STEPS, run_id=run_id, resume=True)
    assert finish is not None
    assert finish.status == "succeeded"
    assert [k for k, _ in r.calls] == ["a", "b"]


async def test_a_run_another_engine_took_is_not_ended_here() -> None:
    """When the store says the run is held elsewhere, the interpreter stops without an
    outcome (the other engine ends it)."""
    async with rig() as r:
        state = RunState.new(uuid4(), _compiled(TWO_STEPS), {})
        r.store.hold(state.id, "engine-b")
        finish = await r.interpreter.outcome(state, False)
    assert finish is None
    assert [k for k, _ in r.calls] == ["a"]


@pytest.mark.parametrize("continue_on_error", [True, False])
async def test_a_failed_step_that_lets_the_run_continue_is_reused_on_resume(
    continue_on_error: bool,
) -> None:
    """With on_error: continue a recorded failure stands (not retried on resume);
    without it, a failed step is tried again."""
    on_error = "continue" if continue_on_error else "fail"
    source = f"""
name: tolerant
steps:
  - {{id: a, uses: t.call, with: {{key: a}}, on_error: {on_error}, retry: {{attempts: 1}}}}
  - {{id: b, uses: t.call, with: {{key: b}}}}
"""
    run_id = uuid4()
    error = {"code": "upstream_error", "message": "no", "retryable": False}
    async with rig() as r:
        r.store.seed(_done(run_id, "a", status="failed", error=error))
        finish, _ = await r.run(source, run_id=run_id, resume=True)
    assert finish is not None
    assert finish.status == "succeeded"
    expected = ["b"] if continue_on_error else ["a", "b"]
    assert [k for k, _ in r.calls] == expected
