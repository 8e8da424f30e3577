"""The scheduler: every engine starts the runs of the schedules that are due.

Each engine sleeps until the next schedule is due (or a schedule changes: the database
notifies every engine), then, for each due schedule, starts a run per tick to run and
moves the schedule past them. Two engines may do this for the same schedule at the
same moment: a tick's run is keyed by the tick (``schedule:<name>:<tick>``), so the
database keeps one, and the schedule moves on by compare-and-set, so it moves once.
An engine that crashed between starting the runs and moving the schedule on leaves
it due; the next engine to look starts nothing twice, for the same reason.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from dataworkflows.engine.definitions import DefinitionError
from dataworkflows.engine.errors import EngineError, StateConflict, Unavailable
from dataworkflows.engine.executor import Executor
from dataworkflows.engine.schedule_service import ScheduleService, calendar_of, schedule_trigger
from dataworkflows.engine.schedule_store import ScheduleRecord
from dataworkflows.engine.schedules import MissedPolicy, plan_ticks, tick_key
from dataworkflows.engine.wake_loop import WakeLoop
from dataworkflows.runtime.logging import get_logger

__all__ = ["POLL_S", "Scheduler"]

_log = get_logger(__name__)

POLL_S: Final = 30.0
"""Longest sleep without looking (a change another engine made is notified at once;
this covers notifications lost while the listening connection was down)."""
DUE_BATCH: Final = 100
BROKEN_RETRY: Final = timedelta(hours=1)
"""When a schedule that cannot be read any more (its time zone left tzdata) is looked at
again."""


class Scheduler(WakeLoop):
    """Starts the runs of due schedules, until stopped (:meth:`run`)."""

    failure = "schedules not fired"

    def __init__(
        self,
        schedules: ScheduleService,
        *,
        on_changes_from: Executor | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        super().__init__(clock=schedules.clock, poll_s=poll_s)
        self._schedules = schedules
        self._store = schedules.store
        if on_changes_from is not None:
            # The executor follows the database's notifications; a schedule changed on
            # any engine wakes this one.
            on_changes_from.watchers["schedules"] = self.changed

    async def turn(self) -> datetime | None:
        """Fire the due schedules; when the next one is due."""
        return await self.fire_due()

    async def fire_due(self) -> datetime | None:
        """Start the runs of every due schedule; when the next one is due (None: none)."""
        now = self._schedules.clock()
        due = await self._store.due_schedules(now, DUE_BATCH)
        for record in due:
            await self._fire(record, now)
        if len(due) == DUE_BATCH:
            return now  # more are due: go on at once
        return await self._store.next_due()

    async def _fire(self, record: ScheduleRecord, now: datetime) -> None:
        try:
            calendar = calendar_of(record)
        except DefinitionError as exc:
            await self._store.advance(
                record.name,
                expected=record.next_fire_at,
                next_fire_at=now + BROKEN_RETRY,
                last_tick_at=None,
                last_run_id=None,
                last_error=str(exc),
            )
            _log.error("schedule cannot be read", schedule=record.name, error=str(exc))
            return
        missed: MissedPolicy = record.missed  # type: ignore[assignment]  # checked in SQL
        plan = await asyncio.to_thread(
            plan_ticks,
            calendar,
            due=record.next_fire_at,
            now=now,
            missed=missed,
            limit=record.missed_limit,
        )
        if plan.skipped:
            _log.info(
                "missed ticks not run",
                schedule=record.name,
                missed=plan.skipped,
                policy=record.missed,
                since=record.next_fire_at.isoformat(),
            )
        last_run: UUID | None = None
        error: str | None = None
        ticks = plan.ticks
        try:
            inputs = self._schedules.inputs_of(record) if ticks else {}
        except StateConflict as unreadable:
            error, ticks = unreadable.detail, []
            _log.error("scheduled runs not started", schedule=record.name, error=error)
        for tick in ticks:
            try:
                run, created = await self._schedules.workflows.start_run(
                    record.workflow_name,
                    inputs=inputs,
                    idempotency_key=tick_key(record.name, tick),
                    trigger=schedule_trigger(record.name, tick),
                )
            except Unavailable:
                raise  # shutting down: the schedule stays due for the next engine
            except StateConflict as conflict:
                # The tick's run exists, started when the schedule's inputs differed.
                run_id = conflict.extra.get("run_id")
                last_run = UUID(run_id) if isinstance(run_id, str) else last_run
                continue
            except EngineError as problem:
                details = "; ".join(f"{e.field}: {e.message}" for e in problem.errors)
                error = f"{problem.detail} {details}".strip()
                _log.error(
                    "scheduled run not started",
                    schedule=record.name,
                    tick=tick.isoformat(),
                    error=error,
                )
                continue
            last_run = run.id
            if created:
                _log.info(
                    "scheduled run started",
                    schedule=record.name,
                    tick=tick.isoformat(),
                    run_id=str(run.id),
                )
        await self._store.advance(
            record.name,
            expected=record.next_fire_at,
            next_fire_at=plan.next_fire_at,
            last_tick_at=ticks[-1] if ticks else None,
            last_run_id=last_run,
            last_error=error,
        )
