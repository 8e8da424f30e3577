"""The flusher tasks behind the engine's group commits (the journal, the run intake).

Callers add records and wake the flushers; each flusher takes whatever has
accumulated as one batch and writes it, so while one batch is in flight the next one
fills. Subclasses say how a batch is taken and written.
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

__all__ = ["GroupCommit"]

_B = TypeVar("_B")


class GroupCommit(Generic[_B]):
    """Flusher tasks that write batches of type ``_B`` until closed."""

    def __init__(self, *, flushers: int, name: str) -> None:
        self._flusher_count = flushers
        self._name = name
        self._wake = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        """The loop the flushers run on, once started. Callers use it instead of
        ``asyncio.get_running_loop()`` on every record: on Python 3.11 that costs a
        ``getpid`` system call, which profiles of W1 put at several percent."""

    def start(self) -> None:
        """Start the flusher tasks."""
        self._closing = False
        self.loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._flusher(), name=f"{self._name}-{i}")
            for i in range(self._flusher_count)
        ]

    def _future(self) -> asyncio.Future[Any]:
        """A future on the flushers' loop, for a caller to await its record's commit."""
        return (self.loop or asyncio.get_running_loop()).create_future()

    async def close(self) -> None:
        """Write what is pending, then stop the flushers."""
        self._closing = True
        self._wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def _take(self) -> _B | None:
        """The next batch, removed from what is pending; None when nothing is."""
        raise NotImplementedError

    async def _write(self, batch: _B) -> None:
        """Write ``batch`` and resolve its callers' futures (never raises)."""
        raise NotImplementedError

    async def _flusher(self) -> None:
        while True:
            await self._wake.wait()
            batch = self._take()
            if batch is None:
                if self._closing:
                    return
                self._wake.clear()
                continue
            await self._write(batch)
