"""Group commit for the executor: many runs' records, few transactions.

Every run hands its step attempts, run results and events to the journal. Flusher
tasks write whatever has accumulated as one batch (one round trip, one commit); a
caller that needs durability (a step's result before the next step starts) awaits
its record, which resolves when that batch commits. While one batch is in flight the
next one fills, so the busier the engine the larger the batches and the fewer the
commits per step.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from typing import Any, Final
from uuid import UUID

import stamina
from prometheus_client import Histogram

from dataworkflows.engine.group_commit import GroupCommit
from dataworkflows.engine.metrics import (
    JOURNAL_BATCH_RECORDS,
    JOURNAL_COMMIT_SECONDS,
    STEP_SECONDS,
)
from dataworkflows.engine.store import EngineStore, RunFinish, StepAttempt
from dataworkflows.runtime.database import DatabaseUnavailable
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.metrics import Children

__all__ = ["Journal", "JournalUnavailable", "RecordRefused", "RunLost"]

MAX_BATCH: Final = 2000
_log = get_logger(__name__)
_STEPS: Children[Histogram] = Children(STEP_SECONDS)


class RunLost(Exception):
    """The engine no longer holds the run (another engine took it over)."""


class JournalUnavailable(Exception):
    """The database did not accept a batch even after retries."""


class RecordRefused(Exception):
    """The database refused this record itself (not a connection problem)."""


_TRANSIENT: Final = (DatabaseUnavailable, TimeoutError)
"""What a retry may cure: the database out of reach, or too slow to answer."""


def _transient(error: Exception) -> bool:
    return isinstance(error, _TRANSIENT)


class _Pending:
    __slots__ = ("attempts", "events", "finishes", "waiters")

    def __init__(self) -> None:
        self.attempts: list[StepAttempt] = []
        self.finishes: list[RunFinish] = []
        self.events: list[dict[str, Any]] = []
        # (the record waited for, its run, the future resolved when it commits)
        self.waiters: list[tuple[object, UUID, asyncio.Future[None]]] = []

    def __len__(self) -> int:
        return len(self.attempts) + len(self.finishes) + len(self.events)


class Journal(GroupCommit[_Pending]):
    """Batches the records of every run of one engine into few transactions."""

    def __init__(
        self,
        store: EngineStore,
        *,
        engine_id: str,
        flushers: int = 2,
        retry_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(flushers=flushers, name="journal-flusher")
        self.engine_id = engine_id
        self._store = store
        self._retry_timeout_s = retry_timeout_s
        self._pending = _Pending()
        self.batches = 0
        """How many batches were committed (for benchmarks and tests)."""

    def _future_for(self, record: object, run_id: UUID) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._future()
        self._pending.waiters.append((record, run_id, future))
        self._wake.set()
        return future

    async def record(self, attempt: StepAttempt) -> None:
        """Record ``attempt`` and wait until it is committed.

        Raises :class:`RunLost` when the engine no longer holds the run and
        :class:`JournalUnavailable` when the database keeps refusing the batch.
        """
        self._pending.attempts.append(attempt)
        await self._future_for(attempt, attempt.run_id)

    def record_later(self, attempt: StepAttempt) -> None:
        """Record ``attempt`` with the next batch, without waiting (progress rows)."""
        self._pending.attempts.append(attempt)
        self._wake.set()

    async def finish(self, finish: RunFinish) -> None:
        """Record a run's final status and wait until it is committed."""
        self._pending.finishes.append(finish)
        await self._future_for(finish, finish.id)

    def event(self, run_id: UUID, kind: str, detail: dict[str, Any] | None = None) -> None:
        """Append to a run's event log with the next batch, without waiting."""
        self._pending.events.append({"run_id": run_id, "kind": kind, "detail": detail or {}})
        self._wake.set()

    def _take(self) -> _Pending | None:
        pending = self._pending
        if not len(pending):
            return None
        if len(pending) <= MAX_BATCH:
            self._pending = _Pending()
            return pending
        # Split an oversized batch; each waiter goes with the batch holding its record,
        # so none is resolved by another batch's commit.
        batch = _Pending()
        batch.attempts, pending.attempts = (
            pending.attempts[:MAX_BATCH],
            pending.attempts[MAX_BATCH:],
        )
        room = MAX_BATCH - len(batch.attempts)
        batch.finishes, pending.finishes = pending.finishes[:room], pending.finishes[room:]
        room -= len(batch.finishes)
        batch.events, pending.events = pending.events[:room], pending.events[room:]
        taken = {id(r) for r in batch.attempts} | {id(r) for r in batch.finishes}
        batch.waiters = [w for w in pending.waiters if id(w[0]) in taken]
        pending.waiters = [w for w in pending.waiters if id(w[0]) not in taken]
        return batch

    async def _write(self, batch: _Pending) -> None:
        started = time.perf_counter()
        try:
            lost = await self._write_with_retries(batch.attempts, batch.finishes, batch.events)
        except Exception as exc:
            if not _transient(exc) and len(batch) > 1:
                # One record the database refuses must not fail the others: write them
                # one by one, so only the bad one's waiter learns of it.
                await self._write_each(batch)
                return
            _log.error(
                "journal write failed",
                error_type=type(exc).__name__,
                error=str(exc),
                records=len(batch),
            )
            failure: Exception = (
                JournalUnavailable(str(exc)) if _transient(exc) else RecordRefused(str(exc))
            )
            for _, _, future in batch.waiters:
                if not future.done():
                    future.set_exception(failure)
            return
        self.batches += 1
        JOURNAL_COMMIT_SECONDS.observe(time.perf_counter() - started)
        JOURNAL_BATCH_RECORDS.observe(len(batch))
        _observe_steps(batch.attempts)
        for _, run_id, future in batch.waiters:
            if future.done():
                continue
            if run_id in lost:
                future.set_exception(RunLost(str(run_id)))
            else:
                future.set_result(None)

    async def _write_each(self, batch: _Pending) -> None:
        singles: list[_Pending] = []
        for attempt in batch.attempts:
            singles.append(_Pending())
            singles[-1].attempts.append(attempt)
        for finish in batch.finishes:
            singles.append(_Pending())
            singles[-1].finishes.append(finish)
        for event in batch.events:
            singles.append(_Pending())
            singles[-1].events.append(event)
        for single in singles:
            records = [*single.attempts, *single.finishes]
            single.waiters = [w for w in batch.waiters if any(w[0] is r for r in records)]
            await self._write(single)

    async def _write_with_retries(
        self,
        attempts: Sequence[StepAttempt],
        finishes: Sequence[RunFinish],
        events: Sequence[dict[str, Any]],
    ) -> set[UUID]:
        # The first try goes outside stamina. Its retry context is a graph of tenacity
        # objects with reference cycles (47 objects), which only the cyclic garbage
        # collector frees: one per batch was all of the engine's cyclic garbage, and
        # each collection of it stopped every run for 150-250 ms (bench/README.md,
        # "Garbage collection pauses").
        write = functools.partial(
            self._store.write_batch,
            engine=self.engine_id,
            attempts=attempts,
            finishes=finishes,
            events=events,
        )
        try:
            return await write()
        except _TRANSIENT as exc:
            _log.warning("journal write failed; retrying", error_type=type(exc).__name__)
        async for attempt in stamina.retry_context(
            on=_TRANSIENT,
            attempts=None,
            timeout=self._retry_timeout_s,
            wait_initial=0.05,
            wait_max=1.0,
        ):
            with attempt:
                return await write()
        raise AssertionError("unreachable")  # pragma: no cover


def _observe_steps(attempts: Sequence[StepAttempt]) -> None:
    """Each step attempt that ended, in ``dw_step_attempt_duration_seconds``."""
    for attempt in attempts:
        if attempt.finished_at is not None and not attempt.aggregate:
            _STEPS.of(attempt.action, attempt.status).observe(
                (attempt.finished_at - attempt.started_at).total_seconds()
            )
