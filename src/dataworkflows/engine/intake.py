"""Group commit for new runs: runs started together are created in one statement.

Every API request (or Slack command, or schedule) that starts a run waits for its
row to be committed, as it must: the caller gets the run's id and an idempotency
key must be checked against the database. Creating the runs that arrive while the
previous batch commits in one statement spends one round trip and one commit on
all of them instead of one each.
"""

from __future__ import annotations

import asyncio
from typing import Final

from dataworkflows.engine.group_commit import GroupCommit
from dataworkflows.engine.store import EngineStore, NewRun, RunRecord

__all__ = ["EngineStopping", "RunIntake"]

MAX_BATCH: Final = 500

_Waiting = tuple[NewRun, asyncio.Future[tuple[RunRecord, bool]]]
"""A run to create, and the future its caller awaits."""


class EngineStopping(Exception):
    """The engine is shutting down and starts no more runs."""


class RunIntake(GroupCommit[list[_Waiting]]):
    """Creates runs in batches; :meth:`create` resolves when its batch committed."""

    def __init__(self, store: EngineStore, *, flushers: int = 2) -> None:
        super().__init__(flushers=flushers, name="run-intake")
        self._store = store
        self._pending: list[_Waiting] = []

    async def create(self, run: NewRun) -> tuple[RunRecord, bool]:
        """The run as created (True), or the run that already has its idempotency key."""
        if self._closing:
            raise EngineStopping("the engine is stopping")
        future: asyncio.Future[tuple[RunRecord, bool]] = self._future()
        self._pending.append((run, future))
        self._wake.set()
        return await future

    def _take(self) -> list[_Waiting] | None:
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        return batch or None

    async def _write(self, batch: list[_Waiting]) -> None:
        try:
            results = await self._store.create_runs([run for run, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
