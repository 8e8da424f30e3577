"""The durable executor: claims runs, executes their steps, records every attempt.

Durability rules (see ARCHITECTURE.md, "Durable execution"):

- A run is executed by the engine that owns it (``dw.runs.owner``). Engines hold a
  lease renewed by a heartbeat; the runs of an engine whose lease expired are
  claimed by another engine (``FOR UPDATE SKIP LOCKED``), which resumes them.
- Each step attempt's result is committed before the next step starts (the journal
  batches these commits across runs). On resume, recorded results are reused:
  a step that succeeded is never executed again.
- Every write to a run is fenced by ownership: an engine that lost a run (it was
  paused past its lease and the run was taken over) has its records refused and
  stops executing that run.
- Write steps get an idempotency key stable across attempts and resumes
  (``<run>:<step>:<iteration>``) to pass upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal
from uuid import UUID, uuid4

import psycopg
from psycopg_pool import PoolTimeout

from dataworkflows import __version__
from dataworkflows.contracts import ActionContext, ActionError, ActionFailed, ActionRequest
from dataworkflows.engine.connectors import ConnectorRegistry
from dataworkflows.engine.evaluation import Evaluator, ExpressionLimitExceeded
from dataworkflows.engine.expressions import CompiledValue, ExpressionError
from dataworkflows.engine.intake import RunIntake
from dataworkflows.engine.journal import Journal, JournalUnavailable, RecordRefused, RunLost
from dataworkflows.engine.store import (
    ClaimedRun,
    EngineStore,
    NewRun,
    RunFinish,
    RunRecord,
    RunStatus,
    StepAttempt,
    StepAttemptRecord,
)
from dataworkflows.engine.validation import CompiledStep, CompiledWorkflow
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.redaction import Redactor
from dataworkflows.runtime.sealing import Sealer, SecretsUnavailable

__all__ = ["EngineConfig", "Executor", "WorkflowLoader"]

_log = get_logger(__name__)

StopReason = Literal["cancelled", "deadline", "shutdown", "lost"]
WorkflowLoader = Callable[[str, int], Awaitable[CompiledWorkflow]]
"""Gives the compiled definition of (workflow name, version)."""

PROGRESS_ROW_AFTER_S: Final = 1.0
"""A step running longer than this gets a 'running' row, so it shows while it runs."""
STOP_STEP_TIMEOUT_S: Final = 10.0
WATCH_INTERVAL_S: Final = 0.1
"""How often attempts are checked for their timeout (so it may fire this much late)."""
LEASE_SAFETY: Final = 0.75
"""Local runs stop when this fraction of the lease passed since the last renewal."""


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How one engine process executes runs."""

    max_runs: int = 1000
    """Runs executed at once by this process; more wait in the queue."""
    lease_seconds: float = 30.0
    """How long other engines wait for this one's heartbeat before taking its runs."""
    step_timeout_s: float = 300.0
    """Timeout of a step attempt that declares none."""
    claim_interval_s: float = 1.0
    """How often to look for queued runs when no notification arrives."""
    shutdown_grace_s: float = 10.0
    """On stop, how long running runs may take to finish before they are released."""


class StepFailed(Exception):
    """A step failed for good (retries exhausted or not retryable)."""

    def __init__(self, step_id: str, error: dict[str, Any]) -> None:
        super().__init__(f"step {step_id} failed: {error.get('message')}")
        self.step_id = step_id
        self.error = error


@dataclass(slots=True)
class _InFlight:
    """An attempt waiting for its connector, watched for its timeout and progress."""

    attempt: StepAttempt
    task: asyncio.Task[Any]
    deadline: float
    progress_at: float
    progress_written: bool = False
    timed_out: bool = False


@dataclass(slots=True)
class _RunState:
    id: UUID
    workflow: CompiledWorkflow
    inputs: dict[str, Any]
    context: dict[str, Any]
    recorded: dict[tuple[str, int], StepAttemptRecord] = field(default_factory=dict)
    next_attempt: dict[tuple[str, int], int] = field(default_factory=dict)
    stop_reason: StopReason | None = None
    task: asyncio.Task[None] | None = None
    in_flight: dict[tuple[str, int], _InFlight] = field(default_factory=dict)
    id_text: str = ""

    def __post_init__(self) -> None:
        self.id_text = str(self.id)


_TRANSIENT: Final = (psycopg.OperationalError, PoolTimeout)
"""Database failures that pass: the operation is worth trying again later."""

_ENGINE_FAILURE_CODES: Final = frozenset({"engine_lost", "deadline_exceeded", "cancelled"})
"""Failures the engine recorded itself (not the step's outcome): never reused."""


def _now() -> datetime:
    return datetime.now(UTC)


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def _expression_error(message: str, exc: ExpressionError) -> dict[str, Any]:
    """A failed expression: ``expression_limit`` when it went over a limit (time,
    memory, size), else ``expression_error``. Neither is retried."""
    code = "expression_limit" if isinstance(exc, ExpressionLimitExceeded) else "expression_error"
    return _error(code, message)


class Executor:
    """Executes runs for one engine process."""

    def __init__(
        self,
        *,
        store: EngineStore,
        connectors: ConnectorRegistry,
        load_workflow: WorkflowLoader,
        redactor: Redactor,
        evaluator: Evaluator,
        sealer: Sealer,
        config: EngineConfig | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        journal_flushers: int = 2,
    ) -> None:
        self.config = config or EngineConfig()
        self._store = store
        self._connectors = connectors
        self._load_workflow = load_workflow
        self._redact = redactor
        self._evaluator = evaluator
        self._sealer = sealer
        self._sleep = sleep
        self._jitter = jitter
        self.engine_id = self._new_engine_id()
        self.journal = Journal(store, engine_id=self.engine_id, flushers=journal_flushers)
        self._intake = RunIntake(store)
        self._runs: dict[UUID, _RunState] = {}
        self._reserved = 0
        self._done: dict[UUID, asyncio.Future[None]] = {}
        self._claim_wake = asyncio.Event()
        self._intake_tasks: list[asyncio.Task[None]] = []
        self._upkeep: list[asyncio.Task[None]] = []
        self._stopping = False
        self._lease_ok_until = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        # Whether queued runs may be waiting: a run ending here is then a reason to
        # claim at once; otherwise the periodic poll (for orphans) is enough.
        self._maybe_queued = True
        self._to_release: set[UUID] = set()
        self.on_workflow_changed: Callable[[str | None], None] | None = None
        """Called with a workflow's name when another process registered a new version
        (None: any may have changed, e.g. while notifications were not received)."""

    # Lifecycle -------------------------------------------------------------------------

    @staticmethod
    def _new_engine_id() -> str:
        return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    async def start(self) -> None:
        """Register this engine and start claiming runs."""
        self._stopping = False
        await self._heartbeat_once()
        self.journal.start()
        self._intake.start()
        # Intake (claims, notifications) stops first on shutdown; upkeep (heartbeat,
        # attempt watch) goes on while running runs get their grace period.
        self._intake_tasks = [
            asyncio.create_task(self._claim_loop(), name="engine-claims"),
            asyncio.create_task(self._listen_loop(), name="engine-notifications"),
        ]
        self._upkeep = [
            asyncio.create_task(self._heartbeat_loop(), name="engine-heartbeat"),
            asyncio.create_task(self._watch_attempts(), name="engine-attempt-watch"),
        ]
        _log.info("executor started", engine=self.engine_id, max_runs=self.config.max_runs)

    async def stop(self) -> None:
        """Stop claiming, let running runs finish briefly, release the rest to others."""
        self._stopping = True
        await self._intake.close()
        await _cancel(self._intake_tasks)
        running = [s.task for s in self._runs.values() if s.task is not None]
        if running:
            _, pending = await asyncio.wait(running, timeout=self.config.shutdown_grace_s)
            for state in list(self._runs.values()):
                if state.task in pending:
                    self._interrupt(state, "shutdown")
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            await asyncio.wait_for(self.journal.close(), STOP_STEP_TIMEOUT_S)
        except TimeoutError:
            _log.error("pending records were not written before stopping")
        await _cancel(self._upkeep)
        if self._watchdog is not None:
            self._watchdog.cancel()
        try:
            released = await asyncio.wait_for(
                self._store.release_engine(self.engine_id), STOP_STEP_TIMEOUT_S
            )
        except (psycopg.Error, TimeoutError) as exc:
            _log.warning("could not release runs", error_type=type(exc).__name__)
        else:
            if released:
                _log.info("released unfinished runs to other engines", runs=released)

    @property
    def lease_valid_until(self) -> float:
        """Monotonic time until which this engine's lease is surely valid."""
        return self._lease_ok_until

    @property
    def running(self) -> int:
        """How many runs this engine is executing."""
        return len(self._runs)

    def _capacity(self) -> int:
        # No new runs without a lease known to be valid (and registered under our id).
        if time.monotonic() >= self._lease_ok_until:
            return 0
        return self.config.max_runs - len(self._runs) - self._reserved

    # Starting runs ----------------------------------------------------------------------

    async def create_run(
        self,
        workflow: CompiledWorkflow,
        *,
        inputs: dict[str, Any],
        trigger: dict[str, Any],
        idempotency_key: str | None,
        request_hash: str | None = None,
    ) -> tuple[RunRecord, bool]:
        """Create a run; start it here at once when this engine has room, else queue it.

        Secret inputs are stored sealed (the run here gets them as given); the trigger is
        stored with its secrets masked (nothing runs from it).
        """
        local = not self._stopping and self._capacity() > 0
        if local:
            self._reserved += 1
        run_id = uuid4()
        try:
            run, created = await self._intake.create(
                NewRun(
                    id=run_id,
                    workflow_name=workflow.name,
                    workflow_version=workflow.version,
                    inputs=self._sealer.seal(inputs, run_id),
                    trigger=self._redact(trigger),
                    idempotency_key=idempotency_key,
                    timeout_seconds=workflow.timeout_seconds,
                    engine=self.engine_id if local else None,
                    request_hash=request_hash,
                )
            )
            # Only if still ours: an identity given up meanwhile leaves it to a claim.
            if created and local and run.owner == self.engine_id:
                self._launch(run.id, workflow, inputs, deadline=run.deadline_at, resume=False)
        finally:
            if local:
                self._reserved -= 1
        return run, created

    def _launch(
        self,
        run_id: UUID,
        workflow: CompiledWorkflow,
        inputs: dict[str, Any],
        *,
        deadline: datetime | None,
        resume: bool,
    ) -> None:
        state = _RunState(
            id=run_id,
            workflow=workflow,
            inputs=inputs,
            context={
                "inputs": inputs,
                "steps": {},
                "run": {"id": str(run_id), "workflow": workflow.name, "version": workflow.version},
            },
        )
        self._runs[run_id] = state
        self._done.setdefault(run_id, asyncio.get_running_loop().create_future())
        state.task = asyncio.create_task(
            self._execute(state, deadline, resume), name=f"run-{run_id}"
        )

    async def wait_for(self, run_id: UUID, seconds: float) -> bool:
        """Wait up to ``seconds`` for a run of this engine to end; whether it did."""
        future = self._done.get(run_id)
        if future is None:
            return False
        try:
            await asyncio.wait_for(asyncio.shield(future), seconds)
        except TimeoutError:
            return False
        return True

    def is_local(self, run_id: UUID) -> bool:
        """Whether this engine is executing the run."""
        return run_id in self._runs

    def cancel_local(self, run_id: UUID) -> None:
        """Stop a run of this engine now (its cancel is already recorded)."""
        state = self._runs.get(run_id)
        if state is not None:
            self._interrupt(state, "cancelled")

    def _interrupt(self, state: _RunState, reason: StopReason) -> None:
        if state.stop_reason is None and state.task is not None and not state.task.done():
            state.stop_reason = reason
            state.task.cancel()

    # Background loops -------------------------------------------------------------------

    async def _heartbeat_once(self) -> None:
        # Measured before the request: the database starts the new lease no earlier.
        sent = time.monotonic()
        engine = self.engine_id
        cancels = await self._store.heartbeat(
            engine=engine,
            lease_seconds=self.config.lease_seconds,
            host=socket.gethostname(),
            pid=os.getpid(),
            version=__version__,
        )
        if engine != self.engine_id:
            return  # renewed an identity given up meanwhile; the next beat registers ours
        self._lease_ok_until = sent + self.config.lease_seconds * LEASE_SAFETY
        self._arm_watchdog()
        for run_id in cancels:
            self.cancel_local(run_id)

    def _arm_watchdog(self) -> None:
        """Stop local runs the moment our lease may be about to expire unrenewed."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        delay = max(0.0, self._lease_ok_until - time.monotonic())
        self._watchdog = asyncio.get_running_loop().call_later(delay, self._lease_lost)

    async def _heartbeat_loop(self) -> None:
        interval = self.config.lease_seconds / 4
        while True:
            await asyncio.sleep(interval)
            try:
                await self._heartbeat_once()
            except (psycopg.Error, OSError) as exc:
                _log.warning("heartbeat failed", error_type=type(exc).__name__)

    def _lease_lost(self) -> None:
        """Our lease may expire unrenewed: others may run our runs soon, so stop them here."""
        if not self._runs:
            return
        _log.error(
            "lease lost: stopping local runs; other engines will resume them",
            engine=self.engine_id,
            runs=len(self._runs),
        )
        for state in list(self._runs.values()):
            self._interrupt(state, "lost")
        # A new identity: the old one's runs become claimable by anyone, us included.
        # It takes runs only once a heartbeat has registered it.
        self.engine_id = self._new_engine_id()
        self.journal.engine_id = self.engine_id
        self._lease_ok_until = 0.0

    async def _watch_attempts(self) -> None:
        """Time out attempts and write progress rows for long ones.

        One scan every WATCH_INTERVAL_S instead of two timers per attempt: at thousands
        of steps per second the timers cost more than the scan.
        """
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = time.monotonic()
            for state in self._runs.values():
                for flight in state.in_flight.values():
                    if not flight.progress_written and now >= flight.progress_at:
                        flight.progress_written = True
                        self.journal.record_later(_copy(flight.attempt))
                    if not flight.timed_out and now >= flight.deadline:
                        flight.timed_out = True
                        flight.task.cancel()

    async def _claim_loop(self) -> None:
        while True:
            with contextlib.suppress(*_TRANSIENT):
                await self._release_pending()
            claimed = 0
            capacity = self._capacity()
            if capacity > 0:
                try:
                    claimed = await self._claim(min(capacity, 100))
                except (psycopg.Error, OSError) as exc:
                    _log.warning("claiming runs failed", error_type=type(exc).__name__)
            if capacity > 0:
                self._maybe_queued = claimed == min(capacity, 100)
            if self._maybe_queued and claimed:
                continue  # more may be waiting
            self._claim_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._claim_wake.wait(), self.config.claim_interval_s)

    async def _claim(self, limit: int) -> int:
        runs = await self._store.claim_runs(engine=self.engine_id, limit=limit)
        for run in runs:
            if run.previous_engine is not None:
                _log.info(
                    "resuming a run of a stopped engine",
                    run_id=str(run.id),
                    previous_engine=run.previous_engine,
                )
            try:
                workflow = await self._load_workflow(run.workflow_name, run.workflow_version)
            except _TRANSIENT as exc:
                _log.warning("cannot start a claimed run now", run_id=str(run.id), error=str(exc))
                self._to_release.add(run.id)
                continue
            except Exception as exc:
                _log.error(
                    "cannot load a claimed run's workflow", run_id=str(run.id), error=str(exc)
                )
                await self._finish_unstartable(run, exc)
                continue
            try:
                inputs = self._sealer.unseal(run.inputs, run.id)
            except SecretsUnavailable as exc:
                _log.error("cannot open a claimed run's secret inputs", run_id=str(run.id))
                await self._finish_unstartable(run, exc, code="secrets_unavailable")
                continue
            self._launch(
                run.id, workflow, inputs, deadline=run.deadline_at, resume=run.claim_count > 1
            )
        return len(runs)

    async def _release_pending(self) -> None:
        """Give back runs taken but not started (a transient failure at claim or resume)."""
        if not self._to_release:
            return
        ids = list(self._to_release)
        try:
            await self._store.release_runs(engine=self.engine_id, run_ids=ids)
        except _TRANSIENT as exc:
            _log.warning("could not release runs yet", runs=len(ids), error_type=type(exc).__name__)
            return
        self._to_release.difference_update(ids)

    async def _finish_unstartable(
        self, run: ClaimedRun, exc: Exception, *, code: str = "definition_error"
    ) -> None:
        message = f"cannot load workflow version: {exc}" if code == "definition_error" else str(exc)
        with contextlib.suppress(RunLost, JournalUnavailable, RecordRefused):
            await self.journal.finish(
                RunFinish(id=run.id, status="failed", error=_error(code, message))
            )

    async def _listen_loop(self) -> None:
        while True:
            try:
                async for payload in self._store.notifications():
                    if payload == "queued":
                        self._maybe_queued = True
                        self._claim_wake.set()
                    elif payload == "listening" or payload.startswith("workflow:"):
                        if self.on_workflow_changed is not None:
                            name = payload.removeprefix("workflow:")
                            self.on_workflow_changed(None if payload == "listening" else name)
                    elif payload.startswith("cancel:"):
                        with contextlib.suppress(ValueError):
                            self.cancel_local(UUID(payload.removeprefix("cancel:")))
            except (psycopg.Error, OSError) as exc:
                _log.debug("notification connection lost", error_type=type(exc).__name__)
            await asyncio.sleep(self.config.claim_interval_s)

    # Executing a run --------------------------------------------------------------------

    async def _execute(self, state: _RunState, deadline: datetime | None, resume: bool) -> None:
        timer = None
        if deadline is not None:
            remaining = (deadline - _now()).total_seconds()
            timer = asyncio.get_running_loop().call_later(
                max(remaining, 0.0), self._interrupt, state, "deadline"
            )
        try:
            finish = await self._outcome(state, resume)
        finally:
            if timer is not None:
                timer.cancel()
        try:
            if finish is not None:
                await self.journal.finish(finish)
                _log.info(
                    "run finished",
                    run_id=state.id_text,
                    workflow=state.workflow.name,
                    status=finish.status,
                )
        except (RunLost, JournalUnavailable, RecordRefused) as exc:
            _log.warning(
                "run outcome not recorded", run_id=state.id_text, error_type=type(exc).__name__
            )
        finally:
            self._runs.pop(state.id, None)
            done = self._done.pop(state.id, None)
            if done is not None and not done.done():
                done.set_result(None)
            if self._maybe_queued:
                self._claim_wake.set()

    async def _outcome(self, state: _RunState, resume: bool) -> RunFinish | None:
        """Run the steps; how the run ended, or None when it is not ours to end."""
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
            self._lease_lost()
            return None
        except RecordRefused as exc:
            _log.error("the database refused a record of this run", run_id=state.id_text)
            message = f"the database refused a record of this run: {exc}"
            return RunFinish(id=state.id, status="failed", error=_error("engine_error", message))
        except _TRANSIENT as exc:
            # Resuming needs the recorded steps; without the database, hand the run back.
            _log.warning("cannot resume the run now", run_id=state.id_text, error=str(exc))
            self._to_release.add(state.id)
            return None
        except Exception as exc:
            _log.exception("run failed inside the engine", run_id=state.id_text)
            message = f"the engine failed ({type(exc).__name__})"
            return RunFinish(id=state.id, status="failed", error=_error("engine_error", message))

    async def _stopped(self, state: _RunState) -> RunFinish | None:
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

    async def _load_recorded(self, state: _RunState) -> None:
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

    async def _run_steps(self, state: _RunState) -> RunFinish:
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

    async def _run_graph(self, state: _RunState) -> None:
        """Run the steps as a dependency graph: each starts once every step it needs ended.

        When a step fails the run, no further step starts; those already running
        finish and are recorded (a retry then reuses them), and the first failure
        is raised. Anything else (the run lost, cancelled) stops every step at once.
        """
        steps_ctx: dict[str, Any] = state.context["steps"]
        waiting = list(state.workflow.steps)
        ended: set[str] = set()
        running: dict[asyncio.Task[dict[str, Any]], CompiledStep] = {}
        failure: StepFailed | None = None
        try:
            while waiting or running:
                if failure is None:
                    ready = [s for s in waiting if ended.issuperset(s.needs)]
                    for step in ready:
                        waiting.remove(step)
                        running[asyncio.ensure_future(self._run_step(state, step))] = step
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    step = running.pop(task)
                    try:
                        steps_ctx[step.id] = task.result()
                    except StepFailed as failed:
                        failure = failure or failed
                    ended.add(step.id)
        finally:
            if running:
                await _cancel(list(running))
        if failure is not None:
            raise failure

    def _reusable(
        self, state: _RunState, step: CompiledStep, iteration: int
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

    async def _run_step(self, state: _RunState, step: CompiledStep) -> dict[str, Any]:
        recorded = self._reusable(state, step, -1)
        if recorded is not None:
            return _step_view(recorded.status, recorded.output, recorded.error)
        context = state.context
        if step.condition is not None:
            try:
                proceed = await self._evaluate(step, step.condition, context)
            except ExpressionError as exc:
                return await self._expression_failure(state, step, -1, f"if: {exc}", exc)
            if not proceed:
                now = _now()
                await self.journal.record(
                    StepAttempt(
                        run_id=state.id,
                        step_id=step.id,
                        iteration=-1,
                        attempt=self._attempt_number(state, step.id, -1),
                        action=step.action,
                        status="skipped",
                        queued_at=now,
                        started_at=now,
                        finished_at=now,
                    )
                )
                return _step_view("skipped", None, None)
        if step.foreach is not None:
            return await self._run_foreach(state, step)
        try:
            arguments = await self._evaluate(step, step.with_, context)
        except ExpressionError as exc:
            return await self._expression_failure(state, step, -1, f"with: {exc}", exc)
        output, error = await self._attempts(state, step, -1, arguments, _now())
        if error is not None:
            if step.on_error == "fail":
                raise StepFailed(step.id, error)
            return _step_view("failed", None, error)
        return _step_view("succeeded", output, None)

    async def _evaluate(
        self, step: CompiledStep, value: CompiledValue, context: Mapping[str, Any]
    ) -> Any:
        """A value of ``step``, evaluated within the step's timeout."""
        return await self._evaluator.evaluate(
            value, context, seconds=step.timeout or self.config.step_timeout_s
        )

    async def _expression_failure(
        self,
        state: _RunState,
        step: CompiledStep,
        iteration: int,
        message: str,
        exc: ExpressionError,
    ) -> dict[str, Any]:
        error = _expression_error(message, exc)
        await self._record_failure(state, step, iteration, error, _now())
        if step.on_error == "fail":
            raise StepFailed(step.id, error)
        return _step_view("failed", None, error)

    async def _run_foreach(self, state: _RunState, step: CompiledStep) -> dict[str, Any]:
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
                    await self._record_failure(state, step, index, error, item_queued)
                else:
                    try:
                        outputs[index], error = await self._attempts(
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
        await self.journal.record(
            StepAttempt(
                run_id=state.id,
                step_id=step.id,
                iteration=-1,
                attempt=self._attempt_number(state, step.id, -1),
                action=step.action,
                aggregate=True,
                status="failed" if failures else "succeeded",
                queued_at=queued,
                started_at=queued,
                finished_at=now,
                input={"items": len(items)},
                output=(masked := self._redact(outputs)),
                redacted=masked is not outputs,
                error=error,
            )
        )
        if failures and step.on_error == "fail":
            assert error is not None
            raise StepFailed(step.id, error)
        return _step_view("failed" if failures else "succeeded", outputs, error)

    async def _record_failure(
        self,
        state: _RunState,
        step: CompiledStep,
        iteration: int,
        error: dict[str, Any],
        queued_at: datetime,
    ) -> None:
        now = _now()
        await self.journal.record(
            StepAttempt(
                run_id=state.id,
                step_id=step.id,
                iteration=iteration,
                attempt=self._attempt_number(state, step.id, iteration),
                action=step.action,
                status="failed",
                queued_at=queued_at,
                started_at=now,
                finished_at=now,
                error=error,
            )
        )

    def _attempt_number(self, state: _RunState, step_id: str, iteration: int) -> int:
        key = (step_id, iteration)
        number = state.next_attempt.get(key, 1)
        state.next_attempt[key] = number + 1
        return number

    async def _attempts(
        self,
        state: _RunState,
        step: CompiledStep,
        iteration: int,
        arguments: Any,
        queued_at: datetime,
    ) -> tuple[Any, dict[str, Any] | None]:
        """Call the step's action until it succeeds or its retry policy gives up."""
        policy = step.retry
        timeout = step.timeout or self.config.step_timeout_s
        recorded_input = self._redact(arguments)
        request_input = arguments if isinstance(arguments, dict) else {"value": arguments}
        idempotency_key = f"{state.id_text}:{step.id}:{iteration}"
        key = (step.id, iteration)
        task = asyncio.current_task()
        assert task is not None
        tries = 0
        while True:
            tries += 1
            attempt = StepAttempt(
                run_id=state.id,
                step_id=step.id,
                iteration=iteration,
                attempt=self._attempt_number(state, step.id, iteration),
                action=step.action,
                status="running",
                queued_at=queued_at,
                started_at=_now(),
                input=recorded_input,
            )
            started = time.monotonic()
            flight = _InFlight(
                attempt=attempt,
                task=task,
                deadline=started + timeout,
                progress_at=started + PROGRESS_ROW_AFTER_S,
            )
            state.in_flight[key] = flight
            output: Any = None
            error: ActionError | None = None
            try:
                output = await self._connectors.invoke(
                    step.action,
                    ActionRequest(
                        input=request_input,
                        idempotency_key=idempotency_key,
                        context=ActionContext(
                            run_id=state.id_text, step_id=step.id, attempt=attempt.attempt
                        ),
                    ),
                )
            except ActionFailed as exc:
                error = exc.error
            except asyncio.CancelledError:
                if not flight.timed_out or state.stop_reason is not None:
                    raise
                task.uncancel()  # the watcher cancelled only this attempt
                error = ActionError(
                    code="upstream_unavailable",
                    message=f"no answer within the step timeout of {timeout:g} s",
                    retryable=True,
                )
            except Exception as exc:
                _log.exception("connector raised", action=step.action, run_id=state.id_text)
                error = ActionError(
                    code="upstream_error",
                    message=f"the connector failed unexpectedly ({type(exc).__name__})",
                    retryable=False,
                )
            # Not in a finally: an interrupted run leaves the attempt here, for _stopped().
            del state.in_flight[key]
            attempt.finished_at = _now()
            if error is None:
                attempt.status = "succeeded"
                attempt.output = self._redact(output)
                attempt.redacted = attempt.output is not output
                await self.journal.record(attempt)
                return output, None
            error_dict = _error(error.code, error.message, retryable=error.retryable)
            if error.retry_after_s is not None:
                error_dict["retry_after_s"] = error.retry_after_s
            attempt.status = "failed"
            attempt.error = self._redact(error_dict)
            await self.journal.record(attempt)
            if not error.retryable or tries >= policy.attempts:
                return None, attempt.error
            delay = policy.delay(
                tries, jitter_fraction=self._jitter(), retry_after_s=error.retry_after_s
            )
            self.journal.event(
                state.id,
                "step_retry",
                {
                    "step": step.id,
                    "iteration": iteration,
                    "attempt": attempt.attempt,
                    "delay_s": round(delay, 3),
                },
            )
            await self._sleep(delay)
            queued_at = _now()


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


def _copy(attempt: StepAttempt) -> StepAttempt:
    # The progress row is a snapshot: the attempt object itself changes when it ends.
    return StepAttempt(
        run_id=attempt.run_id,
        step_id=attempt.step_id,
        iteration=attempt.iteration,
        attempt=attempt.attempt,
        action=attempt.action,
        status="running",
        queued_at=attempt.queued_at,
        started_at=attempt.started_at,
        input=attempt.input,
    )


def _step_view(status: str, output: Any, error: Mapping[str, Any] | None) -> dict[str, Any]:
    errors = list(error.get("items", [])) if error else []
    return {"status": status, "output": output, "error": error, "errors": errors}
