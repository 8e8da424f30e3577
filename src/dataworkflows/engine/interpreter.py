"""The step interpreter: what one run does, step by step, durably.

Given a run's compiled workflow, it runs the steps (in order, or as a dependency graph
when steps declare ``needs``), evaluates their expressions within their budgets, calls
their actions with retries (:mod:`.attempts`), and records every attempt through the
journal before the next step starts. On resume it reuses what was recorded: a step
that succeeded is never executed again. It knows nothing of leases or claims
(:mod:`.lease`, :mod:`.claiming`); the executor (:mod:`.executor`) gives it runs
(:mod:`.runs`) and stops them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Final
from uuid import UUID

from dataworkflows.engine.attempts import StepAttempts
from dataworkflows.engine.connectors import ConnectorRegistry
from dataworkflows.engine.evaluation import Evaluator, ExpressionLimitExceeded
from dataworkflows.engine.expressions import CompiledValue, ExpressionError
from dataworkflows.engine.journal import Journal, JournalUnavailable, RecordRefused, RunLost
from dataworkflows.engine.runs import RunState, StepFailed
from dataworkflows.engine.runs import error as _error
from dataworkflows.engine.runs import now as _now
from dataworkflows.engine.runs import step_view as _step_view
from dataworkflows.engine.store import (
    EngineStore,
    RunFinish,
    RunStatus,
    RunSuspend,
    StepAttempt,
    StepAttemptRecord,
)
from dataworkflows.engine.validation import CompiledStep
from dataworkflows.engine.wait_steps import WaitSteps
from dataworkflows.engine.waiting import WAIT_ACTIONS, Suspended
from dataworkflows.runtime.database import DatabaseUnavailable
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.redaction import Redactor

__all__ = ["StepInterpreter"]

_log = get_logger(__name__)

DEFAULT_STEP_TIMEOUT_S: Final = 300.0

_ENGINE_FAILURE_CODES: Final = frozenset({"engine_lost", "deadline_exceeded", "cancelled"})
"""Failures the engine recorded itself (not the step's outcome): never reused."""


def _expression_error(message: str, exc: ExpressionError) -> dict[str, Any]:
    """A failed expression: ``expression_limit`` when it went over a limit (time,
    memory, size), else ``expression_error``. Neither is retried."""
    code = "expression_limit" if isinstance(exc, ExpressionLimitExceeded) else "expression_error"
    return _error(code, message)


class StepInterpreter:
    """Runs the steps of runs, recording each attempt through ``journal``.

    ``on_journal_unavailable`` is called when the journal gave up (the database is
    gone longer than its retries): the engine then treats its lease as lost.
    ``release_later`` hands a run back to the queue (it could not resume now).
    """

    def __init__(
        self,
        *,
        store: EngineStore,
        journal: Journal,
        connectors: ConnectorRegistry,
        evaluator: Evaluator,
        redactor: Redactor,
        on_journal_unavailable: Callable[[], None],
        release_later: Callable[[UUID], None],
        step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self.journal = journal
        self._evaluator = evaluator
        self._redact = redactor
        self._on_journal_unavailable = on_journal_unavailable
        self._release_later = release_later
        self._step_timeout_s = step_timeout_s
        self._calls = StepAttempts(
            journal=journal,
            connectors=connectors,
            redactor=redactor,
            step_timeout_s=step_timeout_s,
            sleep=sleep,
            jitter=jitter,
        )
        self._waits = WaitSteps(store=store, journal=journal, calls=self._calls, redactor=redactor)

    async def outcome(self, state: RunState, resume: bool) -> RunFinish | RunSuspend | None:
        """Run the steps; how the run ended (or that it waits), or None when it is not
        ours to end."""
        try:
            if resume:
                await self._load_recorded(state)
            return await self._run_steps(state)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            return await self._stopped(state)
        except RunLost:
            return None
        except JournalUnavailable:
            self._on_journal_unavailable()
            return None
        except RecordRefused as exc:
            _log.error("the database refused a record of this run", run_id=state.id_text)
            message = f"the database refused a record of this run: {exc}"
            return RunFinish(id=state.id, status="failed", error=_error("engine_error", message))
        except DatabaseUnavailable as exc:
            # Resuming needs the recorded steps; without the database, hand the run back.
            _log.warning("cannot resume the run now", run_id=state.id_text, error=str(exc))
            self._release_later(state.id)
            return None
        except Exception as exc:
            _log.exception("run failed inside the engine", run_id=state.id_text)
            message = f"the engine failed ({type(exc).__name__})"
            return RunFinish(id=state.id, status="failed", error=_error("engine_error", message))

    async def _stopped(self, state: RunState) -> RunFinish | None:
        """Record what an interrupted run was doing; the run's final status, if any."""
        reason = state.stop_reason
        if reason in ("shutdown", "lost", None):
            return None  # another engine resumes it; nothing here is final
        status: RunStatus = "cancelled" if reason == "cancelled" else "failed"
        code = "cancelled" if reason == "cancelled" else "deadline_exceeded"
        message = "cancelled on request" if reason == "cancelled" else "the run's deadline passed"
        now = _now()
        for flight in list(state.in_flight.values()):
            attempt = flight.attempt
            attempt.status = "cancelled" if reason == "cancelled" else "failed"
            attempt.finished_at = now
            attempt.error = _error(code, message)
            self.journal.record_later(attempt)
        return RunFinish(id=state.id, status=status, error=_error(code, message))

    async def _load_recorded(self, state: RunState) -> None:
        attempts = await self._store.get_step_attempts(state.id)
        for record in attempts:
            key = (record.step_id, record.iteration)
            latest = state.recorded.get(key)
            if latest is None or record.attempt > latest.attempt:
                state.recorded[key] = record
            state.next_attempt[key] = max(state.next_attempt.get(key, 1), record.attempt + 1)
        now = _now()
        for record in state.recorded.values():
            if record.status == "running":
                # Its engine stopped mid-attempt; close the row so it does not show as running.
                self.journal.record_later(
                    StepAttempt(
                        run_id=state.id,
                        step_id=record.step_id,
                        iteration=record.iteration,
                        attempt=record.attempt,
                        action=record.action,
                        status="failed",
                        queued_at=record.queued_at,
                        started_at=record.started_at,
                        finished_at=now,
                        error=_error("engine_lost", "the engine running this attempt stopped"),
                    )
                )

    async def _run_steps(self, state: RunState) -> RunFinish | RunSuspend:
        steps_ctx: dict[str, Any] = state.context["steps"]
        try:
            if state.workflow.concurrent:
                await self._run_graph(state)
            else:
                for step in state.workflow.steps:
                    steps_ctx[step.id] = await self._run_step(state, step)
        except StepFailed as failed:
            return RunFinish(
                id=state.id, status="failed", error={**failed.error, "step": failed.step_id}
            )
        except Suspended as waits:
            return RunSuspend(id=state.id, wake_at=waits.wake_at, signal=waits.signal)
        output = None
        if state.workflow.output is not None:
            try:
                output = await self._evaluator.evaluate(state.workflow.output, state.context)
            except ExpressionError as exc:
                return RunFinish(
                    id=state.id,
                    status="failed",
                    error=_expression_error(f"output: {exc}", exc),
                )
        return RunFinish(id=state.id, status="succeeded", output=self._redact(output))

    async def _run_graph(self, state: RunState) -> None:
        """Run the steps as a dependency graph: each starts once every step it needs ended.

        When a step fails the run, no further step starts; those already running
        finish and are recorded (a retry then reuses them), and the first failure
        is raised. A step that waits does the same, then the run waits (the steps
        that ran are reused when it resumes). Anything else (the run lost, cancelled)
        stops every step at once.
        """
        steps_ctx: dict[str, Any] = state.context["steps"]
        waiting = list(state.workflow.steps)
        ended: set[str] = set()
        running: dict[asyncio.Task[dict[str, Any]], CompiledStep] = {}
        failure: StepFailed | None = None
        suspended: Suspended | None = None
        try:
            while waiting or running:
                if failure is None and suspended is None:
                    ready = [s for s in waiting if ended.issuperset(s.needs)]
                    for step in ready:
                        waiting.remove(step)
                        # A step that needs only steps that were skipped is on a branch
                        # that did not run: it is skipped too. A join runs.
                        off = step.joins and all(
                            steps_ctx[need]["status"] == "skipped" for need in step.needs
                        )
                        running[asyncio.ensure_future(self._run_step(state, step, off))] = step
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    step = running.pop(task)
                    try:
                        steps_ctx[step.id] = task.result()
                    except StepFailed as failed:
                        failure = failure or failed
                    except Suspended as waits:
                        suspended = _earliest(suspended, waits)
                    ended.add(step.id)
        finally:
            if running:
                await _cancel(list(running))
        if failure is not None:
            raise failure
        if suspended is not None:
            raise suspended

    def _reusable(
        self, state: RunState, step: CompiledStep, iteration: int
    ) -> StepAttemptRecord | None:
        record = state.recorded.get((step.id, iteration))
        if record is None:
            return None
        if record.redacted:
            # The recorded output has masked values: replaying it would feed "***"
            # to later steps, so the step runs again (with the same idempotency key).
            return None
        if record.status in ("succeeded", "skipped"):
            return record
        engine_made = (record.error or {}).get("code") in _ENGINE_FAILURE_CODES
        if record.status == "failed" and step.on_error == "continue" and not engine_made:
            return record
        return None

    async def _run_step(
        self, state: RunState, step: CompiledStep, off_branch: bool = False
    ) -> dict[str, Any]:
        settled = await self._settled(state, step, off_branch)
        if settled is not None:
            return settled
        if step.foreach is not None:
            return await self._run_foreach(state, step)
        try:
            arguments = await self._evaluate(step, step.with_, state.context)
        except ExpressionError as exc:
            return await self._expression_failure(state, step, -1, f"with: {exc}", exc)
        if step.action in WAIT_ACTIONS:
            return await self._waits.outcome(state, step, arguments)
        output, error = await self._calls.call(state, step, -1, arguments, _now())
        if error is not None:
            if step.on_error == "fail":
                raise StepFailed(step.id, error)
            return _step_view("failed", None, error)
        return _step_view("succeeded", output, None)

    async def _settled(
        self, state: RunState, step: CompiledStep, off_branch: bool
    ) -> dict[str, Any] | None:
        """The step's view when it needs no running: recorded before, on a branch that
        did not run, its condition false (or failing); None: run it."""
        recorded = self._reusable(state, step, -1)
        if recorded is not None:
            return _step_view(recorded.status, recorded.output, recorded.error)
        if off_branch:
            return await self._skip(state, step)
        if step.condition is not None:
            try:
                proceed = await self._evaluate(step, step.condition, state.context)
            except ExpressionError as exc:
                return await self._expression_failure(state, step, -1, f"if: {exc}", exc)
            if not proceed:
                return await self._skip(state, step)
        return None

    async def _skip(self, state: RunState, step: CompiledStep) -> dict[str, Any]:
        """Record ``step`` as skipped (its condition is false, or its branch did not run)."""
        now = _now()
        await self.journal.record(
            self._calls.new(
                state, step, -1, status="skipped", queued_at=now, started_at=now, finished_at=now
            )
        )
        return _step_view("skipped", None, None)

    async def _evaluate(
        self, step: CompiledStep, value: CompiledValue, context: Mapping[str, Any]
    ) -> Any:
        """A value of ``step``, evaluated within the step's timeout."""
        return await self._evaluator.evaluate(
            value, context, seconds=step.timeout or self._step_timeout_s
        )

    async def _expression_failure(
        self,
        state: RunState,
        step: CompiledStep,
        iteration: int,
        message: str,
        exc: ExpressionError,
    ) -> dict[str, Any]:
        error = _expression_error(message, exc)
        await self._calls.record_failure(state, step, iteration, error, _now())
        if step.on_error == "fail":
            raise StepFailed(step.id, error)
        return _step_view("failed", None, error)

    async def _run_foreach(self, state: RunState, step: CompiledStep) -> dict[str, Any]:
        assert step.foreach is not None
        queued = _now()
        try:
            items = await self._evaluate(step, step.foreach, state.context)
        except ExpressionError as exc:
            return await self._expression_failure(state, step, -1, f"foreach: {exc}", exc)
        if not isinstance(items, list | tuple):
            message = f"foreach: must give a list, got {type(items).__name__}"
            return await self._expression_failure(
                state, step, -1, message, ExpressionError(message)
            )
        outputs: list[Any] = [None] * len(items)
        failures: list[dict[str, Any]] = []
        gate = asyncio.Semaphore(step.concurrency)
        stop = False

        async def one(index: int, item: Any) -> None:
            nonlocal stop
            recorded = self._reusable(state, step, index)
            if recorded is not None:
                outputs[index] = recorded.output
                if recorded.status == "failed":
                    failures.append({"index": index, **(recorded.error or {})})
                return
            item_queued = _now()
            async with gate:
                if stop:
                    return
                context = {**state.context, "item": item, "index": index}
                error: dict[str, Any] | None
                try:
                    arguments = await self._evaluate(step, step.with_, context)
                except ExpressionError as exc:
                    error = _expression_error(f"with: {exc}", exc)
                    await self._calls.record_failure(state, step, index, error, item_queued)
                else:
                    try:
                        outputs[index], error = await self._calls.call(
                            state, step, index, arguments, item_queued
                        )
                    except BaseException:
                        # Set before the gate opens: the next item must not start.
                        stop = True
                        raise
                if error is not None:
                    failures.append({"index": index, **error})
                    if step.on_error == "fail":
                        stop = True

        await _all_or_none([one(i, item) for i, item in enumerate(items)])
        failures.sort(key=lambda f: int(f["index"]))
        error = None
        if failures:
            error = _error(
                "items_failed",
                f"{len(failures)} of {len(items)} items failed",
                items=failures,
            )
        now = _now()
        masked = self._redact(outputs)
        await self.journal.record(
            self._calls.new(
                state,
                step,
                -1,
                status="failed" if failures else "succeeded",
                queued_at=queued,
                started_at=queued,
                finished_at=now,
                aggregate=True,
                input={"items": len(items)},
                output=masked,
                redacted=masked is not outputs,
                error=error,
            )
        )
        if failures and step.on_error == "fail":
            assert error is not None
            raise StepFailed(step.id, error)
        return _step_view("failed" if failures else "succeeded", outputs, error)


async def _all_or_none(coroutines: list[Coroutine[Any, Any, None]]) -> None:
    """Run ``coroutines`` concurrently; if one raises (or we are cancelled), stop the rest.

    RunLost, JournalUnavailable or a cancellation: no foreach item may go on calling
    connectors once the run is no longer ours.
    """
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()


def _earliest(current: Suspended | None, new: Suspended) -> Suspended:
    """Of two waiting branches, the one to wake for first (a signal alone: no time)."""
    if current is None:
        return new
    if new.wake_at is not None and (current.wake_at is None or new.wake_at < current.wake_at):
        return Suspended(new.wake_at, current.signal or new.signal)
    return current
