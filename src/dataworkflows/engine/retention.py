"""Run history retention: ended runs older than ``DW_RUN_RETENTION_DAYS`` are pruned.

Each engine prunes (runs held by another transaction are skipped, so engines do not
get in each other's way) once soon after it starts and then every hour, in batches of
:data:`BATCH` runs, one short transaction each with a pause between, so neither the
database nor the engine's other work waits on it. What goes: the run, its step
attempts, events and signals. What stays: runs not ended, whatever their age; each
day's run counts and average duration (``dw.runs_per_day``, rolled up before
deleting); reports (they keep their own snapshot); entity links (their ``run_id`` then
names a run that is gone). ``dw.retention`` (and ``GET /v1/runs``' ``history_since``)
says from when the full history is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from prometheus_client import Counter

from dataworkflows.runtime.logging import get_logger

__all__ = ["BATCH", "Pruner"]

_log = get_logger(__name__)

BATCH: Final = 500
FIRST_AFTER_S: Final = 60.0
EVERY_S: Final = 3600.0
PAUSE_S: Final = 0.1
RUNS_PRUNED: Final = Counter(
    "dw_runs_pruned", "Ended runs deleted by the retention policy (DW_RUN_RETENTION_DAYS)."
)


class _Prunes(Protocol):
    async def prune_runs(self, *, before: datetime, limit: int) -> int: ...


class Pruner:
    """Prunes ended runs older than ``days``, in small batches, until stopped."""

    def __init__(
        self,
        store: _Prunes,
        *,
        days: int,
        batch: int = BATCH,
        first_after_s: float = FIRST_AFTER_S,
        every_s: float = EVERY_S,
        pause_s: float = PAUSE_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._age = timedelta(days=days)
        self._batch = batch
        self._first_after_s = first_after_s
        self._every_s = every_s
        self._pause_s = pause_s
        self._clock = clock
        self._stopping = False

    def stop(self) -> None:
        """End :meth:`run` (a flag too: a database call may swallow a cancel)."""
        self._stopping = True

    async def run(self) -> None:
        """Prune soon after start, then every hour, until stopped."""
        await asyncio.sleep(self._first_after_s)
        while not self._stopping:
            try:
                await self.prune_once()
            except Exception as exc:  # the loop must outlive a failing database
                _log.warning("pruning run history failed", error_type=type(exc).__name__)
            await asyncio.sleep(self._every_s)

    async def prune_once(self) -> int:
        """Prune every ended run older than the retention age; how many went."""
        before = self._clock() - self._age
        total = 0
        while not self._stopping:
            deleted = await self._store.prune_runs(before=before, limit=self._batch)
            total += deleted
            RUNS_PRUNED.inc(deleted)
            if deleted < self._batch:
                break
            await asyncio.sleep(self._pause_s)
        if total:
            _log.info("run history pruned", runs=total, before=before.isoformat())
        return total
