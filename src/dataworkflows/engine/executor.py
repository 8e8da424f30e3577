"""The durable executor: one engine's runs, from start or claim to their end.

Durability rules (see ARCHITECTURE.md, "Durable execution"):

- A run is executed by the engine that owns it (``dw.runs.owner``). Engines hold a
  lease renewed by a heartbeat (:mod:`.lease`); the runs of an engine whose lease
  expired are claimed by another engine (:mod:`.claiming`), which resumes them.
- Each step attempt's result is committed before the next step starts (the journal
  batches these commits across runs). On resume, recorded results are reused:
  a step that succeeded is never executed again (:mod:`.interpreter`).
- Every write to a run is fenced by ownership: an engine that lost a run (it was
  paused past its lease and the run was taken over) has its records refused and
  stops executing that run.
- Write steps get an idempotency key stable across attempts and resumes
  (``<run>:<step>:<iteration>``) to pass upstream.

This module ties those parts together: it starts and stops them, creates runs (started
here at once when there is room), launches claimed ones, and stops runs on cancel,
deadline, shutdown or a lost lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID, uuid4

from prometheus_client import Counter, Histogram

from dataworkflows.engine.claiming import Claimer, WorkflowLoader
from dataworkflows.engine.connectors import ConnectorRegistry
from dataworkflows.engine.evaluation import Evaluator
from dataworkflows.engine.intake import RunIntake
from dataworkflows.engine.interpreter import StepInterpreter
from dataworkflows.engine.journal import Journal, JournalUnavailable, RecordRefused, RunLost
from dataworkflows.engine.lease import Lease
from dataworkflows.engine.metrics import RUN_SECONDS, RUNS_FINISHED, RUNS_IN_FLIGHT, RUNS_STARTED
from dataworkflows.engine.runs import RunState, StopReason, watch_attempts
from dataworkflows.engine.store import EngineStore, NewRun, RunRecord, RunSuspend
from dataworkflows.engine.validation import CompiledWorkflow
from dataworkflows.runtime import tracing
from dataworkflows.runtime.database import DatabaseUnavailable
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.metrics import Children
from dataworkflows.runtime.redaction import Redactor
from dataworkflows.runtime.sealing import Sealer

__all__ = ["EngineConfig", "Executor", "WorkflowLoader"]

_log = get_logger(__name__)
_STARTED: Children[Counter] = Children(RUNS_STARTED)
_FINISHED: Children[Counter] = Children(RUNS_FINISHED)
_RUN_SECONDS: Children[Histogram] = Children(RUN_SECONDS)

STOP_STEP_TIMEOUT_S: Final = 10.0


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
        self._redact = redactor
        self._sealer = sealer
        self.lease = Lease(
            store,
            seconds=self.config.lease_seconds,
            on_cancel=self.cancel_local,
            on_lost=self._stop_all_runs,
        )
        self.journal = Journal(store, engine_id=self.lease.engine_id, flushers=journal_flushers)
        self.lease.on_new_identity = self._new_identity
        self._intake = RunIntake(store)
        self._runs: dict[UUID, RunState] = {}
        # Read when scraped; the newest executor of the process (the only one outside tests).
        RUNS_IN_FLIGHT.set_function(lambda: len(self._runs))
        self._reserved = 0
        self._done: dict[UUID, asyncio.Future[None]] = {}
        self._claimer = Claimer(
            store=store,
            lease=self.lease,
            journal=self.journal,
            sealer=sealer,
            load_workflow=load_workflow,
            launch=self._launch,
            capacity=self._capacity,
            on_notification=self._notified,
            interval_s=self.config.claim_interval_s,
        )
        self._interpreter = StepInterpreter(
            store=store,
            journal=self.journal,
            connectors=connectors,
            evaluator=evaluator,
            redactor=redactor,
            on_journal_unavailable=self.lease.lost,
            release_later=self._claimer.release_later,
            step_timeout_s=self.config.step_timeout_s,
            sleep=sleep,
            jitter=jitter,
        )
        self._intake_tasks: list[asyncio.Task[None]] = []
        self._upkeep: list[asyncio.Task[None]] = []
        self._stopping = False
        self.on_workflow_changed: Callable[[str | None], None] | None = None
        """Called with a workflow's name when another process registered a new version
        (None: any may have changed, e.g. while notifications were not received)."""
        self.watchers: dict[str, Callable[[], None]] = {}
        """Called on the database notification of their name (``schedules``: a schedule
        changed; ``waiting``: a run began waiting for a time), on any engine, and on
        reconnecting (notifications may have been missed)."""

    @property
    def engine_id(self) -> str:
        """This engine's current identity (it changes after a lost lease)."""
        return self.lease.engine_id

    # Lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Register this engine and start claiming runs."""
        self._stopping = False
        await self.lease.beat()
        self.journal.start()
        self._intake.start()
        # Intake (claims, notifications) stops first on shutdown; upkeep (heartbeat,
        # attempt watch) goes on while running runs get their grace period.
        self._intake_tasks = [
            asyncio.create_task(self._claimer.claim_loop(), name="engine-claims"),
            asyncio.create_task(self._claimer.listen_loop(), name="engine-notifications"),
        ]
        self._upkeep = [
            asyncio.create_task(self.lease.keep(), name="engine-heartbeat"),
            asyncio.create_task(
                watch_attempts(self._runs, self.journal), name="engine-attempt-watch"
            ),
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
        self.lease.close()
        try:
            released = await asyncio.wait_for(
                self._store.release_engine(self.engine_id), STOP_STEP_TIMEOUT_S
            )
        except Exception as exc:  # stopping anyway: the lease expires on its own
            _log.warning("could not release runs", error_type=type(exc).__name__)
        else:
            if released:
                _log.info("released unfinished runs to other engines", runs=released)

    @property
    def lease_valid_until(self) -> float:
        """Monotonic time until which this engine's lease is surely valid."""
        return self.lease.valid_until

    @property
    def running(self) -> int:
        """How many runs this engine is executing."""
        return len(self._runs)

    def _capacity(self) -> int:
        # No new runs without a lease known to be valid (and registered under our id).
        if not self.lease.valid:
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
            if created:
                _STARTED.of(workflow.name).inc()
            if created and local and run.owner == self.engine_id:
                self._launch(run.id, workflow, inputs, deadline=run.deadline_at, resume=False)
                if tracing.active():
                    # The run's span continues the trace of the request that started it.
                    self._runs[run.id].trace_parent = tracing.current_context()
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
        state = RunState.new(run_id, workflow, inputs)
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

    def _interrupt(self, state: RunState, reason: StopReason) -> None:
        if state.stop_reason is None and state.task is not None and not state.task.done():
            state.stop_reason = reason
            state.task.cancel()

    def _stop_all_runs(self) -> bool:
        """Our lease may expire unrenewed: others may run our runs soon, so stop them
        here; whether there were any."""
        if not self._runs:
            return False
        _log.error(
            "lease lost: stopping local runs; other engines will resume them",
            engine=self.engine_id,
            runs=len(self._runs),
        )
        for state in list(self._runs.values()):
            self._interrupt(state, "lost")
        return True

    def _new_identity(self, engine_id: str) -> None:
        self.journal.engine_id = engine_id

    def _notified(self, payload: str) -> None:
        """A notification other than "queued": a cancel, a workflow or schedule change."""
        for name, watcher in self.watchers.items():
            if payload in (name, "listening"):
                watcher()
        if payload == "listening" or payload.startswith("workflow:"):
            if self.on_workflow_changed is not None:
                name = payload.removeprefix("workflow:")
                self.on_workflow_changed(None if payload == "listening" else name)
        elif payload.startswith("cancel:"):
            with contextlib.suppress(ValueError):
                self.cancel_local(UUID(payload.removeprefix("cancel:")))

    # Executing a run --------------------------------------------------------------------

    async def _execute(self, state: RunState, deadline: datetime | None, resume: bool) -> None:
        if not tracing.active():
            await self._execute_run(state, deadline, resume)
            return
        attributes = {
            "dw.run_id": state.id_text,
            "dw.workflow": state.workflow.name,
            "dw.workflow_version": state.workflow.version,
            "dw.resumed": resume,
        }
        with tracing.span(
            f"run {state.workflow.name}", attributes=attributes, parent=state.trace_parent
        ):
            await self._execute_run(state, deadline, resume)

    async def _execute_run(self, state: RunState, deadline: datetime | None, resume: bool) -> None:
        timer = None
        if deadline is not None:
            remaining = (deadline - datetime.now(UTC)).total_seconds()
            timer = asyncio.get_running_loop().call_later(
                max(remaining, 0.0), self._interrupt, state, "deadline"
            )
        try:
            finish = await self._interpreter.outcome(state, resume)
        finally:
            if timer is not None:
                timer.cancel()
        try:
            if isinstance(finish, RunSuspend):
                await self._suspend(state, finish)
            elif finish is not None:
                await self.journal.finish(finish)
                _FINISHED.of(state.workflow.name, finish.status).inc()
                if tracing.active():
                    tracing.mark_outcome(finish.status, finish.error)
                _RUN_SECONDS.of(state.workflow.name, finish.status).observe(
                    time.monotonic() - state.began
                )
                _log.info(
                    "run finished",
                    run_id=state.id_text,
                    workflow=state.workflow.name,
                    status=finish.status,
                )
        except (RunLost, JournalUnavailable, RecordRefused, DatabaseUnavailable) as exc:
            _log.warning(
                "run outcome not recorded", run_id=state.id_text, error_type=type(exc).__name__
            )
        finally:
            self._runs.pop(state.id, None)
            done = self._done.pop(state.id, None)
            if done is not None and not done.done():
                done.set_result(None)
            self._claimer.run_ended()

    async def _suspend(self, state: RunState, waits: RunSuspend) -> None:
        """Hand a waiting run back to the database: it holds nothing here any more.
        (Its waiting step was recorded, and with it everything before.)"""
        status = await self._store.suspend_run(
            self.engine_id, state.id, wake_at=waits.wake_at, signal=waits.signal
        )
        _log.info(
            "run waits",
            run_id=state.id_text,
            workflow=state.workflow.name,
            signal=waits.signal,
            until=waits.wake_at.isoformat() if waits.wake_at else None,
            status=status,
        )


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
