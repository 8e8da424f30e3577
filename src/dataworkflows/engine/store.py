"""The engine's storage port: what it reads and writes, in its own value types.

The executor and the API see only this Protocol and these records; the PostgreSQL
adapter (:mod:`dataworkflows.engine.postgres_store`) implements it with stored
functions. Nothing here mentions psycopg.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol
from uuid import UUID

import msgspec

from dataworkflows.runtime.versions import Registration

__all__ = [
    "ClaimedRun",
    "EngineStore",
    "EntityLink",
    "NewRun",
    "Registration",
    "RunEvent",
    "RunFilter",
    "RunFinish",
    "RunHistory",
    "RunRecord",
    "RunStatus",
    "RunSuspend",
    "SignalAnswer",
    "SignalRecord",
    "StepAttempt",
    "StepAttemptRecord",
    "StoredDefinition",
    "WorkflowSummary",
    "WorkflowVersionInfo",
]

RunStatus = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"]
StepStatus = Literal["running", "waiting", "succeeded", "failed", "skipped", "cancelled"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


class WorkflowSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow and its latest version."""

    name: str
    latest_version: int
    description: str
    created_at: datetime
    updated_at: datetime


class WorkflowVersionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One stored version of a workflow."""

    version: int
    description: str
    checksum: str
    created_at: datetime


class StoredDefinition(msgspec.Struct, frozen=True, kw_only=True):
    """A stored definition version with its source text."""

    name: str
    version: int
    description: str
    definition: dict[str, Any]
    source: str
    checksum: str
    created_at: datetime


class RunRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A run as stored."""

    id: UUID
    workflow_name: str
    workflow_version: int
    status: RunStatus
    inputs: dict[str, Any]
    output: Any
    error: dict[str, Any] | None
    trigger: dict[str, Any]
    idempotency_key: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    timeout_seconds: float | None
    deadline_at: datetime | None
    owner: str | None
    claim_count: int
    cancel_requested_at: datetime | None
    wake_at: datetime | None = None
    """While waiting: when it wakes by itself (a timeout, or the time it waits for)."""
    waiting_for: str | None = None
    """While waiting: the signal it waits for."""
    request_hash: str | None = None
    """A fingerprint of the request that started the run (see ``NewRun.request_hash``);
    only where the run was just created or found by its idempotency key."""

    @property
    def finished(self) -> bool:
        """Whether the run reached a final status."""
        return self.status in FINISHED


class StepAttemptRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded attempt of a step (or of one foreach item)."""

    step_id: str
    iteration: int
    attempt: int
    action: str
    aggregate: bool
    redacted: bool
    """The output had secrets masked: it cannot stand in for the real one on resume."""
    status: StepStatus
    input: Any
    output: Any
    error: dict[str, Any] | None
    queued_at: datetime
    started_at: datetime
    finished_at: datetime | None


class RunEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a run's event log."""

    id: int
    at: datetime
    kind: str
    detail: dict[str, Any]


class EntityLink(msgspec.Struct, frozen=True, kw_only=True):
    """A record of one system linked to its counterpart in another, seen from the first."""

    system: str
    id: str
    other_system: str
    other_id: str
    data: dict[str, Any]
    run_id: UUID | None
    created_at: datetime
    updated_at: datetime


class RunHistory(NamedTuple):
    """A run with everything recorded about it."""

    run: RunRecord
    attempts: list[StepAttemptRecord]
    events: list[RunEvent]
    children: list[RunRecord]
    """The runs its steps started, oldest first."""
    links: list[EntityLink]
    """The records it linked (dw.entity_links), as it last wrote them."""


class ClaimedRun(msgspec.Struct, frozen=True, kw_only=True):
    """A run an engine just took: queued, or recovered from a dead engine."""

    id: UUID
    workflow_name: str
    workflow_version: int
    inputs: dict[str, Any]
    deadline_at: datetime | None
    claim_count: int
    previous_engine: str | None


class StepAttempt(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A step attempt to record (its start or its end)."""

    run_id: UUID
    step_id: str
    iteration: int
    attempt: int
    action: str
    status: StepStatus
    queued_at: datetime
    started_at: datetime
    finished_at: datetime | None = None
    aggregate: bool = False
    redacted: bool = False
    input: Any = None
    output: Any = None
    error: dict[str, Any] | None = None


class NewRun(msgspec.Struct, frozen=True, kw_only=True):
    """A run to create."""

    id: UUID
    workflow_name: str
    workflow_version: int
    inputs: dict[str, Any]
    trigger: dict[str, Any]
    idempotency_key: str | None
    timeout_seconds: float | None
    engine: str | None
    """The engine that starts it at once, or None to queue it."""
    request_hash: str | None = None
    """A fingerprint of the request (inputs and trigger): a later request with the same
    idempotency key must have the same one."""


class RunSuspend(msgspec.Struct, kw_only=True):
    """A run that waits: for ``signal``, or until ``wake_at`` (or both: a timeout)."""

    id: UUID
    wake_at: datetime | None
    signal: str | None


class SignalRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A signal sent to a run, taken by a wait step."""

    id: int
    payload: Any
    sent_at: datetime


class SignalAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What sending a signal did."""

    accepted: bool
    """False: the run had already ended."""
    woke: bool
    """The run was waiting for it and is queued again."""
    status: str


class RunFinish(msgspec.Struct, kw_only=True):
    """A run's final status to record."""

    id: UUID
    status: RunStatus
    output: Any = None
    error: dict[str, Any] | None = None


class RunFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which runs to list: newest first, after the (created_at, id) cursor ``after``."""

    workflow: str | None = None
    status: str | None = None
    trigger: str | None = None
    """What started the runs (the trigger's source: api, schedule, hook...)."""
    text: str | None = None
    """The start of a run id, or words of the workflow's name, the inputs or the error."""
    created_from: datetime | None = None
    """Inclusive."""
    created_to: datetime | None = None
    """Exclusive."""
    after: tuple[datetime, UUID] | None = None
    limit: int = 50


class EngineStore(Protocol):
    """Port: everything the engine keeps in its database."""

    async def put_workflow_version(
        self, *, name: str, description: str, definition: dict[str, Any], source: str, checksum: str
    ) -> Registration:
        """Store a definition; an unchanged one keeps its version."""
        ...

    async def list_workflows(self) -> list[WorkflowSummary]:
        """Every workflow with its latest version."""
        ...

    async def get_workflow_versions(self, name: str) -> list[WorkflowVersionInfo]:
        """The versions of ``name``, oldest first (empty: unknown workflow)."""
        ...

    async def get_workflow_version(
        self, name: str, version: int | None = None
    ) -> StoredDefinition | None:
        """One version (the latest when None), or None."""
        ...

    async def create_runs(self, runs: Sequence[NewRun]) -> list[tuple[RunRecord, bool]]:
        """Create runs in one transaction, in order: each the new run and True, or the
        existing run with the same idempotency key and False."""
        ...

    async def get_run(self, run_id: UUID) -> RunRecord | None:
        """A run, or None."""
        ...

    async def list_runs(self, query: RunFilter) -> list[RunRecord]:
        """The runs ``query`` selects, newest first."""
        ...

    async def get_step_attempts(self, run_id: UUID) -> list[StepAttemptRecord]:
        """Every recorded attempt of a run's steps."""
        ...

    async def get_run_events(self, run_id: UUID) -> list[RunEvent]:
        """A run's event log, oldest first."""
        ...

    async def get_child_runs(self, run_id: UUID) -> list[RunRecord]:
        """The runs a run's steps started (sub-workflows), oldest first."""
        ...

    async def signal_run(self, run_id: UUID, name: str, payload: Any) -> SignalAnswer | None:
        """Send a run a signal (kept until a wait step takes it; a run waiting for it is
        queued again); None when there is no such run."""
        ...

    async def take_signal(self, run_id: UUID, name: str, taker: str) -> SignalRecord | None:
        """The oldest signal ``name`` not taken by another step, now taken by ``taker``
        (the one ``taker`` took before, on a resume)."""
        ...

    async def suspend_run(
        self, engine: str, run_id: UUID, *, wake_at: datetime | None, signal: str | None
    ) -> str | None:
        """Hand a run this engine holds back as waiting (or queued, when the signal is
        already there); the new status, or None when the run is not this engine's."""
        ...

    async def wake_runs(self, limit: int) -> int:
        """Queue waiting runs whose time has come; how many."""
        ...

    async def prune_runs(self, *, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` ended runs created before ``before``, oldest first
        (counted in the per-day totals first); how many went."""
        ...

    async def history_since(self) -> datetime | None:
        """Before when run history has been pruned (None: never)."""
        ...

    async def count_unfinished_runs(self) -> dict[str, int]:
        """How many runs are queued, running and waiting, across every engine."""
        ...

    async def next_wake(self) -> datetime | None:
        """When the next waiting run wakes by itself (None: none does)."""
        ...

    async def request_cancel(self, run_id: UUID) -> RunRecord | None:
        """Ask a run to stop, and every unfinished run it started, down the tree; the
        run as it now is, or None."""
        ...

    async def retry_run(self, run_id: UUID) -> RunRecord | None:
        """Queue a failed or cancelled run again; the run as it now is, or None."""
        ...

    async def heartbeat(
        self, *, engine: str, lease_seconds: float, host: str, pid: int, version: str
    ) -> list[UUID]:
        """Renew ``engine``'s lease; its runs with a pending cancel request."""
        ...

    async def release_engine(self, engine: str) -> int:
        """Requeue ``engine``'s unfinished runs and end its lease; how many runs."""
        ...

    async def release_runs(self, *, engine: str, run_ids: Sequence[UUID]) -> int:
        """Requeue these runs of ``engine`` (taken but not started); how many."""
        ...

    async def claim_runs(self, *, engine: str, limit: int) -> list[ClaimedRun]:
        """Take up to ``limit`` runs (orphaned first, then queued)."""
        ...

    async def write_batch(
        self,
        *,
        engine: str,
        attempts: Sequence[StepAttempt],
        finishes: Sequence[RunFinish],
        events: Sequence[dict[str, Any]],
    ) -> set[UUID]:
        """Record a batch in one transaction; the runs ``engine`` no longer holds."""
        ...

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
        """Link two records (replacing the record's previous counterpart in that system)."""
        ...

    async def get_entity_links(self, *, system: str, id: str) -> list[EntityLink]:
        """The links of one record, from its side."""
        ...

    async def get_run_links(self, run_id: UUID) -> list[EntityLink]:
        """The links a run wrote (at most 200), oldest first."""
        ...

    def notifications(self) -> AsyncIterator[str]:
        """Wake-ups from other processes, until cancelled.

        ``listening`` once listening starts (anything cached may have changed before),
        then ``queued`` (a run waits), ``cancel:<run id>`` and ``workflow:<name>`` (a new
        version). Raises when the connection breaks; callers reconnect.
        """
        ...
