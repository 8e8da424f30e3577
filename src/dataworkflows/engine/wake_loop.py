"""A background loop that does a turn of work, then sleeps until the time the turn
named, or until told that something changed (a database notification), or stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from dataworkflows.runtime.logging import get_logger

__all__ = ["WakeLoop"]

_log = get_logger(__name__)

ERROR_PAUSE_S: Final = 5.0
"""Wait after a turn failed (the database is down, say) before the next."""


class WakeLoop:
    """Subclasses give :meth:`turn`: do the work due now; when to look again (None: after
    ``poll_s``). ``min_sleep_s`` keeps a turn that names a past time from spinning."""

    failure = "turn failed"
    """What the warning says when a turn raises."""

    def __init__(
        self, *, clock: Callable[[], datetime], poll_s: float, min_sleep_s: float = 0.0
    ) -> None:
        self._clock = clock
        self._poll_s = poll_s
        self._min_sleep_s = min_sleep_s
        self._changed = asyncio.Event()
        self._stopped = False

    def changed(self) -> None:
        """Something changed (here or on another engine): look again now."""
        self._changed.set()

    def stop(self) -> None:
        """Stop after the turn under way (cancelling the task stops it sooner; this also
        holds when a database call swallowed the cancellation)."""
        self._stopped = True
        self._changed.set()

    async def turn(self) -> datetime | None:
        """Do the work due now; when to look again."""
        raise NotImplementedError

    async def run(self) -> None:
        """Turn, then sleep until the next turn is due, until stopped."""
        while not self._stopped:
            self._changed.clear()
            try:
                wake = await self.turn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never give up: the next turn may work
                _log.warning(self.failure, error=f"{type(exc).__name__}: {exc}")
                wake = self._clock() + timedelta(seconds=ERROR_PAUSE_S)
            delay = self._poll_s
            if wake is not None:
                until = (wake - self._clock()).total_seconds()
                delay = min(max(until, self._min_sleep_s), self._poll_s)
            if delay > 0 and not self._stopped:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._changed.wait()
