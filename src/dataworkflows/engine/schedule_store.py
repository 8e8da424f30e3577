"""Where schedules are kept: the port, and its PostgreSQL adapter (schedules.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Protocol
from uuid import UUID

import msgspec
from psycopg.types.json import Jsonb

from dataworkflows.runtime.database import StoredFunctions, outages_as_unavailable
from dataworkflows.runtime.queries import load_queries

__all__ = ["PostgresScheduleStore", "ScheduleRecord", "ScheduleStore", "StoredSchedule"]

_Q: Final = load_queries("dataworkflows.engine.sql", "schedules.sql")


class _ScheduleFields(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    workflow_name: str
    cron: str
    timezone: str
    inputs: dict[str, Any]
    missed: str
    missed_limit: int
    description: str
    source: str
    checksum: str
    next_fire_at: datetime


class StoredSchedule(_ScheduleFields, frozen=True, kw_only=True):
    """A schedule to store (its inputs already sealed); ``paused`` None keeps the
    stored state (a new schedule: not paused)."""

    paused: bool | None


class ScheduleRecord(_ScheduleFields, frozen=True, kw_only=True):
    """A schedule as stored, with where it stands."""

    paused: bool
    last_tick_at: datetime | None
    last_run_id: UUID | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ScheduleStore(Protocol):
    """Schedules, and the compare-and-set that moves each one past its ticks."""

    async def put_schedule(self, schedule: StoredSchedule) -> tuple[bool, bool]:
        """Create or replace; (whether it is new, whether anything changed). The same
        declaration again keeps the stored next fire time."""
        ...

    async def list_schedules(self, workflow_name: str | None = None) -> list[ScheduleRecord]:
        """Every schedule (of one workflow), by name."""
        ...

    async def get_schedule(self, name: str) -> ScheduleRecord | None:
        """One schedule, or None."""
        ...

    async def set_paused(
        self, name: str, paused: bool, next_fire_at: datetime
    ) -> ScheduleRecord | None:
        """Pause, or resume from ``next_fire_at``; the schedule as it now is (None: no such)."""
        ...

    async def delete_schedule(self, name: str) -> bool:
        """Remove a schedule; whether there was one."""
        ...

    async def due_schedules(self, now: datetime, limit: int) -> list[ScheduleRecord]:
        """Unpaused schedules due at ``now``, earliest first."""
        ...

    async def next_due(self) -> datetime | None:
        """When the next unpaused schedule is due (None: there is none)."""
        ...

    async def advance(
        self,
        name: str,
        *,
        expected: datetime,
        next_fire_at: datetime,
        last_tick_at: datetime | None,
        last_run_id: UUID | None,
        last_error: str | None,
    ) -> bool:
        """Move a schedule on from ``expected`` (the next fire time it was read with);
        False when another engine did first or it was replaced meanwhile."""
        ...


@outages_as_unavailable
class PostgresScheduleStore(StoredFunctions):
    """:class:`ScheduleStore` over a psycopg pool: one stored function per call."""

    async def put_schedule(self, schedule: StoredSchedule) -> tuple[bool, bool]:
        params = msgspec.structs.asdict(schedule)
        params["inputs"] = Jsonb(schedule.inputs, dumps=msgspec.json.encode)
        row = (await self._rows(_Q["put_schedule"], params))[0]
        return bool(row["created"]), bool(row["changed"])

    async def list_schedules(self, workflow_name: str | None = None) -> list[ScheduleRecord]:
        rows = await self._rows(_Q["list_schedules"], {"workflow_name": workflow_name})
        return [msgspec.convert(row, ScheduleRecord) for row in rows]

    async def get_schedule(self, name: str) -> ScheduleRecord | None:
        rows = await self._rows(_Q["get_schedule"], {"name": name})
        return msgspec.convert(rows[0], ScheduleRecord) if rows else None

    async def set_paused(
        self, name: str, paused: bool, next_fire_at: datetime
    ) -> ScheduleRecord | None:
        rows = await self._rows(
            _Q["set_schedule_paused"],
            {"name": name, "paused": paused, "next_fire_at": next_fire_at},
        )
        return msgspec.convert(rows[0], ScheduleRecord) if rows else None

    async def delete_schedule(self, name: str) -> bool:
        rows = await self._rows(_Q["delete_schedule"], {"name": name})
        return bool(rows[0]["deleted"])

    async def due_schedules(self, now: datetime, limit: int) -> list[ScheduleRecord]:
        rows = await self._rows(_Q["due_schedules"], {"now": now, "limit": limit})
        return [msgspec.convert(row, ScheduleRecord) for row in rows]

    async def next_due(self) -> datetime | None:
        rows = await self._rows(_Q["next_schedule_due"], {})
        due: datetime | None = rows[0]["due"]
        return due

    async def advance(
        self,
        name: str,
        *,
        expected: datetime,
        next_fire_at: datetime,
        last_tick_at: datetime | None,
        last_run_id: UUID | None,
        last_error: str | None,
    ) -> bool:
        rows = await self._rows(
            _Q["advance_schedule"],
            {
                "name": name,
                "expected": expected,
                "next_fire_at": next_fire_at,
                "last_tick_at": last_tick_at,
                "last_run_id": last_run_id,
                "last_error": last_error,
            },
        )
        return bool(rows[0]["advanced"])
