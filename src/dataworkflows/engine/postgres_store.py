"""The storage port on PostgreSQL: every call is one stored function (engine.sql)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar
from uuid import UUID

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from dataworkflows.engine.store import (
    ClaimedRun,
    EntityLink,
    NewRun,
    Registration,
    RunEvent,
    RunFilter,
    RunFinish,
    RunRecord,
    SignalAnswer,
    SignalRecord,
    StepAttempt,
    StepAttemptRecord,
    StoredDefinition,
    WorkflowSummary,
    WorkflowVersionInfo,
)
from dataworkflows.runtime.database import (
    Pool,
    StoredFunctions,
    outages_as_unavailable,
    without_nul,
)
from dataworkflows.runtime.queries import load_queries

__all__ = ["PostgresEngineStore"]

_Q: Final = load_queries("dataworkflows.engine.sql", "engine.sql")
_T = TypeVar("_T")


def _json(value: Any) -> Jsonb:
    return Jsonb(value, dumps=msgspec.json.encode)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    encoded = msgspec.json.encode(value)
    if b"\\" in encoded and b"\\u0000" in encoded:
        # PostgreSQL's json types cannot hold NUL characters; keep the rest.
        encoded = msgspec.json.encode(without_nul(value))
    return encoded.decode()


def _array(values: list[Any]) -> list[Any] | None:
    # An empty list has no element type to send in binary; NULL unnests to no rows.
    return values or None


def _batch_arrays(
    attempts: Sequence[StepAttempt],
    finishes: Sequence[RunFinish],
    events: Sequence[dict[str, Any]],
) -> dict[str, list[Any] | None]:
    """A journal batch as the parallel arrays dw.write_batch_v1 takes."""
    return {
        "run_ids": _array([a.run_id for a in attempts]),
        "step_ids": _array([a.step_id for a in attempts]),
        "iterations": _array([a.iteration for a in attempts]),
        "attempts": _array([a.attempt for a in attempts]),
        "actions": _array([a.action for a in attempts]),
        "aggregates": _array([a.aggregate for a in attempts]),
        "redacted": _array([a.redacted for a in attempts]),
        "statuses": _array([a.status for a in attempts]),
        "inputs": _array([_text(a.input) for a in attempts]),
        "outputs": _array([_text(a.output) for a in attempts]),
        "errors": _array([_text(a.error) for a in attempts]),
        "queued_at": _array([a.queued_at for a in attempts]),
        "started_at": _array([a.started_at for a in attempts]),
        "finished_at": _array([a.finished_at for a in attempts]),
        "finish_ids": _array([f.id for f in finishes]),
        "finish_statuses": _array([f.status for f in finishes]),
        "finish_outputs": _array([_text(f.output) for f in finishes]),
        "finish_errors": _array([_text(f.error) for f in finishes]),
        "event_run_ids": _array([e["run_id"] for e in events]),
        "event_kinds": _array([e["kind"] for e in events]),
        "event_details": _array([_text(e.get("detail")) for e in events]),
    }


@outages_as_unavailable
class PostgresEngineStore(StoredFunctions):
    """:class:`~dataworkflows.engine.store.EngineStore` over a psycopg pool.

    A connection failure is :class:`~dataworkflows.runtime.database.DatabaseUnavailable`.
    """

    def __init__(self, pool: Pool, *, journal_pool: Pool | None = None) -> None:
        super().__init__(pool)
        # The journal gets connections of its own, so recording steps never queues
        # behind API requests and run starts.
        self._journal_pool = journal_pool or pool

    async def put_workflow_version(
        self, *, name: str, description: str, definition: dict[str, Any], source: str, checksum: str
    ) -> Registration:
        row = await self._one(
            _Q["put_workflow_version"],
            {
                "name": name,
                "description": description,
                "definition": _json(definition),
                "source": source,
                "checksum": checksum,
            },
            Registration,
        )
        assert row is not None
        return row

    async def list_workflows(self) -> list[WorkflowSummary]:
        return await self._typed(_Q["list_workflows"], {}, WorkflowSummary)

    async def get_workflow_versions(self, name: str) -> list[WorkflowVersionInfo]:
        return await self._typed(_Q["get_workflow_versions"], {"name": name}, WorkflowVersionInfo)

    async def get_workflow_version(
        self, name: str, version: int | None = None
    ) -> StoredDefinition | None:
        return await self._one(
            _Q["get_workflow_version"], {"name": name, "version": version}, StoredDefinition
        )

    async def create_runs(self, runs: Sequence[NewRun]) -> list[tuple[RunRecord, bool]]:
        params = {
            "ids": [r.id for r in runs],
            "workflow_names": [r.workflow_name for r in runs],
            "workflow_versions": [r.workflow_version for r in runs],
            "inputs": [_text(r.inputs) for r in runs],
            "triggers": [_text(r.trigger) for r in runs],
            "idempotency_keys": [r.idempotency_key for r in runs],
            "timeouts": [r.timeout_seconds for r in runs],
            "engines": [r.engine for r in runs],
            "request_hashes": [r.request_hash for r in runs],
        }
        rows = await self._rows(_Q["create_runs"], params)
        by_request = {row.pop("requested_id"): row for row in rows}
        result = []
        for run in runs:
            row = by_request[run.id]
            created = bool(row.pop("created"))
            result.append((msgspec.convert(row, RunRecord), created))
        return result

    async def create_run(self, run: NewRun) -> tuple[RunRecord, bool]:
        """Create one run (see :meth:`create_runs`)."""
        return (await self.create_runs([run]))[0]

    async def get_run(self, run_id: UUID) -> RunRecord | None:
        return await self._one(_Q["get_run"], {"id": run_id}, RunRecord)

    async def list_runs(self, query: RunFilter) -> list[RunRecord]:
        return await self._typed(
            _Q["list_runs"],
            {
                "workflow_name": query.workflow,
                "status": query.status,
                "trigger": query.trigger,
                "text": query.text,
                "created_from": query.created_from,
                "created_to": query.created_to,
                "after_created_at": query.after[0] if query.after else None,
                "after_id": query.after[1] if query.after else None,
                "limit": query.limit,
            },
            RunRecord,
        )

    async def get_step_attempts(self, run_id: UUID) -> list[StepAttemptRecord]:
        return await self._typed(_Q["get_step_attempts"], {"run_id": run_id}, StepAttemptRecord)

    async def get_run_events(self, run_id: UUID) -> list[RunEvent]:
        return await self._typed(_Q["get_run_events"], {"run_id": run_id}, RunEvent)

    async def get_child_runs(self, run_id: UUID) -> list[RunRecord]:
        return await self._typed(_Q["get_child_runs"], {"id": run_id}, RunRecord)

    async def signal_run(self, run_id: UUID, name: str, payload: Any) -> SignalAnswer | None:
        return await self._one(
            _Q["signal_run"], {"id": run_id, "name": name, "payload": _json(payload)}, SignalAnswer
        )

    async def take_signal(self, run_id: UUID, name: str, taker: str) -> SignalRecord | None:
        return await self._one(
            _Q["take_signal"], {"id": run_id, "name": name, "taker": taker}, SignalRecord
        )

    async def suspend_run(
        self, engine: str, run_id: UUID, *, wake_at: datetime | None, signal: str | None
    ) -> str | None:
        rows = await self._typed(
            _Q["suspend_run"],
            {"engine": engine, "id": run_id, "wake_at": wake_at, "signal": signal},
            dict,
        )
        status: str | None = rows[0]["status"]
        return status

    async def wake_runs(self, limit: int) -> int:
        rows = await self._typed(_Q["wake_runs"], {"limit": limit}, dict)
        return int(rows[0]["woken"])

    async def prune_runs(self, *, before: datetime, limit: int) -> int:
        rows = await self._typed(_Q["prune_runs"], {"before": before, "limit": limit}, dict)
        return int(rows[0]["deleted"])

    async def history_since(self) -> datetime | None:
        rows = await self._typed(_Q["history_since"], {}, dict)
        since: datetime | None = rows[0]["since"]
        return since

    async def count_unfinished_runs(self) -> dict[str, int]:
        rows = await self._typed(_Q["count_unfinished_runs"], {}, dict)
        return {status: int(count) for status, count in rows[0].items()}

    async def next_wake(self) -> datetime | None:
        rows = await self._typed(_Q["next_wake"], {}, dict)
        wake_at: datetime | None = rows[0]["wake_at"]
        return wake_at

    async def request_cancel(self, run_id: UUID) -> RunRecord | None:
        return await self._one(_Q["request_cancel"], {"id": run_id}, RunRecord)

    async def retry_run(self, run_id: UUID) -> RunRecord | None:
        return await self._one(_Q["retry_run"], {"id": run_id}, RunRecord)

    async def heartbeat(
        self, *, engine: str, lease_seconds: float, host: str, pid: int, version: str
    ) -> list[UUID]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                _Q["heartbeat_engine"],
                {
                    "engine": engine,
                    "lease_seconds": lease_seconds,
                    "host": host,
                    "pid": pid,
                    "version": version,
                },
            )
            return [row[0] for row in await cursor.fetchall()]  # type: ignore[misc]

    async def release_engine(self, engine: str) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_Q["release_engine"], {"engine": engine})
            row = await cursor.fetchone()
        return int(row[0]) if row else 0  # type: ignore[call-overload]

    async def release_runs(self, *, engine: str, run_ids: Sequence[UUID]) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                _Q["release_runs"], {"engine": engine, "ids": list(run_ids)}
            )
            row = await cursor.fetchone()
        return int(row[0]) if row else 0  # type: ignore[call-overload]

    async def put_entity_link(
        self,
        *,
        system: str,
        id: str,
        other_system: str,
        other_id: str,
        data: dict[str, Any],
        run_id: UUID | None,
    ) -> EntityLink:
        link = await self._one(
            _Q["put_entity_link"],
            {
                "system": system,
                "id": id,
                "other_system": other_system,
                "other_id": other_id,
                "data": _json(data),
                "run_id": run_id,
            },
            EntityLink,
        )
        assert link is not None
        return link

    async def get_entity_links(self, *, system: str, id: str) -> list[EntityLink]:
        return await self._typed(_Q["get_entity_links"], {"system": system, "id": id}, EntityLink)

    async def get_run_links(self, run_id: UUID) -> list[EntityLink]:
        return await self._typed(_Q["get_run_links"], {"run_id": run_id}, EntityLink)

    async def claim_runs(self, *, engine: str, limit: int) -> list[ClaimedRun]:
        return await self._typed(_Q["claim_runs"], {"engine": engine, "limit": limit}, ClaimedRun)

    async def write_batch(
        self,
        *,
        engine: str,
        attempts: Sequence[StepAttempt],
        finishes: Sequence[RunFinish],
        events: Sequence[dict[str, Any]],
    ) -> set[UUID]:
        params: dict[str, Any] = {"engine": engine, **_batch_arrays(attempts, finishes, events)}
        # One statement in autocommit mode: one round trip, one commit.
        async with self._journal_pool.connection() as conn:
            cursor = await conn.execute(_Q["write_batch"], params)
            return {row[0] for row in await cursor.fetchall()}  # type: ignore[misc]

    async def notifications(self) -> AsyncIterator[str]:
        # LISTEN needs a connection of its own for as long as we listen.
        conninfo = self._pool.conninfo
        assert isinstance(conninfo, str)
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        try:
            await conn.execute(_Q["listen_runs"])
            yield "listening"
            while True:
                # Bounded waits: the connection's lock is released between them.
                async for notify in conn.notifies(timeout=5.0):
                    yield notify.payload
        finally:
            await conn.close()
