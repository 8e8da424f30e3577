"""The idempotent-write cache every connector uses for vendors without idempotency keys."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["RecentResults"]

V = TypeVar("V")


class RecentResults(Generic[V]):
    """A write action's results by idempotency key, so that a retried step does not
    write twice to an upstream service that has no idempotency keys of its own.

    This covers the retries that matter (an attempt whose answer was lost, retried
    by the same connector process); a connector restarted between two attempts
    cannot know. ``fingerprint`` (e.g. the action and its input) must match too
    when given; entries older than ``ttl_s`` or beyond the ``size`` newest are gone.
    """

    def __init__(self, *, size: int = 10_000, ttl_s: float = 24 * 3600) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes, V]] = OrderedDict()
        self._size = size
        self._ttl_s = ttl_s

    def get(self, key: str | None, fingerprint: bytes = b"") -> V | None:
        """The result stored for ``key`` (and ``fingerprint``), if any."""
        entry = self._entries.get(key) if key is not None else None
        if entry is None or time.monotonic() - entry[0] > self._ttl_s:
            return None
        return entry[2] if entry[1] == fingerprint else None

    def put(self, key: str | None, value: V, fingerprint: bytes = b"") -> None:
        """Remember ``value`` for ``key`` (nothing without a key)."""
        if key is None:
            return
        self._entries[key] = (time.monotonic(), fingerprint, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    async def once(
        self, key: str | None, write: Callable[[], Awaitable[V]], fingerprint: bytes = b""
    ) -> V:
        """The result stored for ``key`` (and ``fingerprint``), else what ``write()``
        returns, remembered for the next attempt with that key."""
        if (done := self.get(key, fingerprint)) is not None:
            return done
        value = await write()
        self.put(key, value, fingerprint)
        return value
