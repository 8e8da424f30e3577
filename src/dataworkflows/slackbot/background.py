"""Work that continues after Slack has its answer, and the memory of events already seen.

Slack wants every request acknowledged within 3 seconds, so handlers only check and
schedule; :class:`BackgroundTasks` owns what they schedule. Each task is kept in a set
(an unreferenced asyncio task can be garbage-collected mid-flight), its exceptions are
logged and never reach Slack, and on shutdown running tasks get a grace period and
are then cancelled, so a stopping bot neither hangs nor leaves tasks behind.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

from dataworkflows.runtime.logging import get_logger

__all__ = ["BackgroundTasks", "RecentIds"]

_log = get_logger(__name__)


class BackgroundTasks:
    """The bot's background tasks: started by handlers, finished or cancelled on close."""

    def __init__(self, *, grace_s: float = 5.0) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._grace_s = grace_s
        self._closing = False

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> bool:
        """Run ``work`` in the background; False (and ``work`` dropped) when closing."""
        if self._closing:
            work.close()
            _log.warning("background work refused: the bot is stopping", task=name)
            return False
        task = asyncio.create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            # The last line of defence: the work itself answers users; this only logs.
            _log.exception("background task failed", task=name)

    async def wait_idle(self, within_s: float) -> bool:
        """Wait until no task runs (including tasks started meanwhile); False if that
        takes longer than ``within_s``."""
        deadline = time.monotonic() + within_s
        while self._tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    async def close(self) -> None:
        """Refuse new work, give running tasks ``grace_s``, then cancel what is left."""
        self._closing = True
        if not self._tasks:
            return
        if not await self.wait_idle(self._grace_s):
            left = set(self._tasks)
            _log.info("cancelling background tasks", count=len(left))
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)


class RecentIds:
    """Ids seen in the last ``ttl_s`` seconds (at most ``max_size``, oldest dropped first).

    Slack redelivers an event it thinks we missed (up to three times over about an
    hour); remembering ``event_id``s makes a redelivery a no-op in this process. The
    engine's idempotency keys cover redeliveries that reach another replica.
    """

    def __init__(
        self,
        *,
        ttl_s: float = 3600.0,
        max_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._ttl_s = ttl_s
        self._max_size = max_size
        self._clock = clock

    def __len__(self) -> int:
        return len(self._seen)

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is offered within the window (and remember it)."""
        now = self._clock()
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at <= self._ttl_s and len(self._seen) < self._max_size:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True
