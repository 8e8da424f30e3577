"""The schedules' use cases, behind ``/v1/schedules`` and ``schedules.yaml``.

A schedule is checked when it is declared, as a run would be: its cron expression and
time zone, that its workflow exists, and its inputs against that workflow's latest
version. Secret inputs are stored sealed, as a run's are (under the schedule's own
id); each tick's run gets them as given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from dataworkflows.engine.declarations import declare_file
from dataworkflows.engine.definitions import DefinitionError
from dataworkflows.engine.errors import Invalid, NotFound, StateConflict
from dataworkflows.engine.schedule_store import ScheduleRecord, ScheduleStore, StoredSchedule
from dataworkflows.engine.schedules import (
    SCHEDULE_NAME_RE,
    Calendar,
    parse_schedule,
    sealing_id,
)
from dataworkflows.engine.service import WorkflowService, validate_inputs
from dataworkflows.engine.store import RunRecord
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.problems import FieldError
from dataworkflows.runtime.redaction import Redactor
from dataworkflows.runtime.sealing import Sealer

__all__ = ["SCHEDULES_FILE", "ScheduleService", "schedule_trigger"]

_log = get_logger(__name__)

SCHEDULES_FILE: Final = "schedules.yaml"
"""The file beside the shipped workflows that declares their schedules."""


def schedule_trigger(name: str, tick: datetime | None) -> dict[str, Any]:
    """The trigger recorded on a run a schedule started (``tick`` None: "run now")."""
    if tick is None:
        return {"source": "schedule", "schedule": name, "requested": "run-now"}
    return {"source": "schedule", "schedule": name, "tick": tick.astimezone(UTC).isoformat()}


class ScheduleService:
    """Declare, list, pause, resume, delete and run schedules."""

    def __init__(
        self,
        *,
        store: ScheduleStore,
        workflows: WorkflowService,
        sealer: Sealer,
        redactor: Redactor,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.workflows = workflows
        self.sealer = sealer
        self.redact = redactor
        """Masks secrets in what the API shows."""
        self.clock = clock

    async def put(
        self, document: Any, *, source: str, name: str | None = None
    ) -> tuple[ScheduleRecord, bool]:
        """Create or replace a schedule; (it as stored, whether it is new).

        Raises :class:`Invalid` naming each bad field (the workflow and its inputs
        included).
        """
        try:
            spec, calendar = await asyncio.to_thread(parse_schedule, document, name=name)
        except DefinitionError as exc:
            raise Invalid("The schedule is invalid.", errors=exc.problems) from None
        try:
            workflow = await self.workflows.latest(spec.workflow)
        except NotFound:
            raise Invalid(
                "The schedule is invalid.",
                errors=[
                    FieldError(
                        field="workflow", message=f"there is no workflow called {spec.workflow!r}"
                    )
                ],
            ) from None
        try:
            validate_inputs(workflow.definition, spec.inputs)
        except DefinitionError as exc:
            raise Invalid("The schedule's inputs are invalid.", errors=exc.problems) from None
        unstorable = self.sealer.problems(spec.inputs)
        if unstorable:
            raise Invalid(
                "The schedule's inputs cannot be stored safely.",
                errors=[FieldError(field=path, message=message) for path, message in unstorable],
            )
        created, _ = await self.store.put_schedule(
            StoredSchedule(
                name=spec.name,
                workflow_name=spec.workflow,
                cron=spec.cron,
                timezone=spec.timezone,
                inputs=self.sealer.seal(spec.inputs, sealing_id(spec.name)),
                missed=spec.missed,
                missed_limit=spec.missed_limit,
                description=spec.description,
                paused=spec.paused,
                source=source,
                checksum=self.sealer.fingerprint(spec.checksum_fields()),
                next_fire_at=calendar.after(self.clock()),
            )
        )
        record = await self.get(spec.name)
        if created:
            _log.info("schedule created", schedule=spec.name, workflow=spec.workflow)
        return record, created

    async def register_file(self, path: Path) -> list[str]:
        """Declare the schedules of a ``schedules.yaml``; a line per one not declared."""
        return await declare_file(
            path,
            key="schedules",
            put=lambda entry: self.put(entry, source="file"),
            workflows=self.workflows,
        )

    async def list_schedules(self, workflow: str | None = None) -> list[ScheduleRecord]:
        """Every schedule (of ``workflow``), by name."""
        return await self.store.list_schedules(workflow)

    async def get(self, name: str) -> ScheduleRecord:
        """One schedule; :class:`NotFound` when there is none."""
        # A name no schedule can have (NUL, '/', 500 characters) is not looked up.
        record = await self.store.get_schedule(name) if SCHEDULE_NAME_RE.fullmatch(name) else None
        if record is None:
            raise NotFound(f"There is no schedule called {name!r}.")
        return record

    async def pause(self, name: str) -> ScheduleRecord:
        """Stop starting runs until resumed (a paused schedule's ticks are not caught up)."""
        await self.get(name)
        record = await self.store.set_paused(name, True, self.clock())
        if record is None:
            raise NotFound(f"There is no schedule called {name!r}.")
        return record

    async def resume(self, name: str) -> ScheduleRecord:
        """Start runs again, from the first tick after now."""
        current = await self.get(name)
        next_fire_at = calendar_of(current).after(self.clock())
        record = await self.store.set_paused(name, False, next_fire_at)
        if record is None:
            raise NotFound(f"There is no schedule called {name!r}.")
        return record

    async def delete(self, name: str) -> None:
        """Remove a schedule (its runs stay); :class:`NotFound` when there is none."""
        if not SCHEDULE_NAME_RE.fullmatch(name) or not await self.store.delete_schedule(name):
            raise NotFound(f"There is no schedule called {name!r}.")

    async def run_now(self, name: str, *, idempotency_key: str | None) -> tuple[RunRecord, bool]:
        """Start the schedule's workflow now, with its inputs; (the run, whether new).
        Works on a paused schedule too, and leaves its calendar as it was."""
        record = await self.get(name)
        return await self.workflows.start_run(
            record.workflow_name,
            inputs=self.inputs_of(record),
            idempotency_key=idempotency_key,
            trigger=schedule_trigger(name, None),
        )

    def inputs_of(self, record: ScheduleRecord) -> dict[str, Any]:
        """The schedule's inputs as declared (secrets opened)."""
        try:
            return self.sealer.unseal(record.inputs, sealing_id(record.name))
        except Exception as exc:  # SecretsUnavailable: the key changed or is missing
            raise StateConflict(
                f"The schedule {record.name!r} has secret inputs this engine cannot open "
                f"({exc}); declare it again."
            ) from None


def calendar_of(record: ScheduleRecord) -> Calendar:
    """The stored schedule's calendar (checked when it was declared)."""
    return Calendar.parse(record.cron, record.timezone)
