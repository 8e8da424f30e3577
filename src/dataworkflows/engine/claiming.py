"""Claiming: how an engine takes queued runs and the runs of engines that stopped.

The claim loop takes up to the engine's free capacity (at most 100 at a time) whenever
a run is queued (a notification), a local run ends while more may be waiting, or every
``claim_interval_s`` (runs orphaned by an engine whose lease expired send no
notification). A claimed run whose workflow or secrets cannot be loaded now is handed
back to the queue; one that can never start is finished as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final, Protocol
from uuid import UUID

from dataworkflows.engine.journal import Journal, JournalUnavailable, RecordRefused, RunLost
from dataworkflows.engine.lease import Lease
from dataworkflows.engine.metrics import LEASE_TAKEOVERS
from dataworkflows.engine.store import ClaimedRun, EngineStore, RunFinish
from dataworkflows.engine.validation import CompiledWorkflow
from dataworkflows.runtime.database import DatabaseUnavailable
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.sealing import Sealer, SecretsUnavailable

__all__ = ["CLAIM_BATCH", "Claimer", "Launch", "WorkflowLoader"]

_log = get_logger(__name__)

CLAIM_BATCH: Final = 100
"""At most this many runs are claimed in one statement."""

WorkflowLoader = Callable[[str, int], Awaitable[CompiledWorkflow]]
"""Gives the compiled definition of (workflow name, version)."""


class Launch(Protocol):
    """What the claimer hands the executor: start this run here."""

    def __call__(
        self,
        run_id: UUID,
        workflow: CompiledWorkflow,
        inputs: dict[str, Any],
        *,
        deadline: datetime | None,
        resume: bool,
    ) -> None:
        """Start executing the run (resuming its recorded steps when ``resume``)."""
        ...


class Claimer:
    """Takes runs for one engine, within its capacity, and hands them to ``launch``.

    ``capacity`` tells how many more runs the engine can take now; ``on_notification``
    receives the notifications that are not about queued runs (cancels, workflow
    changes).
    """

    def __init__(
        self,
        *,
        store: EngineStore,
        lease: Lease,
        journal: Journal,
        sealer: Sealer,
        load_workflow: WorkflowLoader,
        launch: Launch,
        capacity: Callable[[], int],
        on_notification: Callable[[str], None],
        interval_s: float = 1.0,
    ) -> None:
        self._store = store
        self._lease = lease
        self._journal = journal
        self._sealer = sealer
        self._load_workflow = load_workflow
        self._launch = launch
        self._capacity = capacity
        self._on_notification = on_notification
        self._interval_s = interval_s
        self._wake = asyncio.Event()
        # Whether queued runs may be waiting: a run ending here is then a reason to
        # claim at once; otherwise the periodic poll (for orphans) is enough.
        self._maybe_queued = True
        self._to_release: set[UUID] = set()

    def release_later(self, run_id: UUID) -> None:
        """Hand a run taken here back to the queue (it cannot start or resume now)."""
        self._to_release.add(run_id)

    def run_ended(self) -> None:
        """A local run ended: room for one more, if more may be waiting."""
        if self._maybe_queued:
            self._wake.set()

    async def claim_loop(self) -> None:
        """Claim runs whenever there may be some and room for them, until cancelled."""
        while True:
            with contextlib.suppress(DatabaseUnavailable):
                await self._release_pending()
            claimed = 0
            capacity = self._capacity()
            if capacity > 0:
                try:
                    claimed = await self._claim(min(capacity, CLAIM_BATCH))
                except Exception as exc:  # the loop must outlive any failure
                    _log.warning("claiming runs failed", error_type=type(exc).__name__)
                self._maybe_queued = claimed == min(capacity, CLAIM_BATCH)
            if self._maybe_queued and claimed:
                continue  # more may be waiting
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)

    async def listen_loop(self) -> None:
        """Follow the database's notifications, reconnecting, until cancelled."""
        while True:
            try:
                async for payload in self._store.notifications():
                    if payload == "queued":
                        self._maybe_queued = True
                        self._wake.set()
                    else:
                        self._on_notification(payload)
            except Exception as exc:  # reconnect after any failure
                _log.debug("notification connection lost", error_type=type(exc).__name__)
            await asyncio.sleep(self._interval_s)

    async def _claim(self, limit: int) -> int:
        runs = await self._store.claim_runs(engine=self._lease.engine_id, limit=limit)
        for run in runs:
            await self._start(run)
        return len(runs)

    async def _start(self, run: ClaimedRun) -> None:
        if run.previous_engine is not None:
            LEASE_TAKEOVERS.inc()
            _log.info(
                "resuming a run of a stopped engine",
                run_id=str(run.id),
                previous_engine=run.previous_engine,
            )
        try:
            workflow = await self._load_workflow(run.workflow_name, run.workflow_version)
        except DatabaseUnavailable as exc:
            _log.warning("cannot start a claimed run now", run_id=str(run.id), error=str(exc))
            self._to_release.add(run.id)
            return
        except Exception as exc:
            _log.error("cannot load a claimed run's workflow", run_id=str(run.id), error=str(exc))
            await self._finish_unstartable(run, f"cannot load workflow version: {exc}")
            return
        try:
            inputs = self._sealer.unseal(run.inputs, run.id)
        except SecretsUnavailable as exc:
            _log.error("cannot open a claimed run's secret inputs", run_id=str(run.id))
            await self._finish_unstartable(run, str(exc), code="secrets_unavailable")
            return
        self._launch(run.id, workflow, inputs, deadline=run.deadline_at, resume=run.claim_count > 1)

    async def _release_pending(self) -> None:
        """Give back runs taken but not started (a transient failure at claim or resume)."""
        if not self._to_release:
            return
        ids = list(self._to_release)
        try:
            await self._store.release_runs(engine=self._lease.engine_id, run_ids=ids)
        except DatabaseUnavailable as exc:
            _log.warning("could not release runs yet", runs=len(ids), error_type=type(exc).__name__)
            return
        self._to_release.difference_update(ids)

    async def _finish_unstartable(
        self, run: ClaimedRun, message: str, *, code: str = "definition_error"
    ) -> None:
        with contextlib.suppress(RunLost, JournalUnavailable, RecordRefused):
            await self._journal.finish(
                RunFinish(id=run.id, status="failed", error={"code": code, "message": message})
            )
