"""The engine's lease: the heartbeat that keeps its runs its own.

An engine holds a lease in the database, renewed by a heartbeat every quarter of its
length. Other engines take its runs once it expires. Locally, the lease is trusted only
for :data:`LEASE_SAFETY` of its length after the renewal was *sent* (the database
starts the new lease no earlier); a watchdog fires when that passes unrenewed, and the
engine then stops its runs (others will resume them) and takes a new identity, which
takes runs again only once a heartbeat has registered it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Final
from uuid import UUID

from dataworkflows import __version__
from dataworkflows.engine.store import EngineStore
from dataworkflows.runtime.logging import get_logger

__all__ = ["LEASE_SAFETY", "Lease", "new_engine_id"]

_log = get_logger(__name__)

LEASE_SAFETY: Final = 0.75
"""Local runs stop when this fraction of the lease passed since the last renewal."""


def new_engine_id() -> str:
    """A fresh engine identity: host, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    """One engine's identity and lease.

    ``on_cancel`` is called with each run the database asks to cancel (a heartbeat
    answers them); ``on_lost`` when the lease may be about to expire unrenewed, before
    the identity changes, and returns whether there was anything to stop.
    """

    def __init__(
        self,
        store: EngineStore,
        *,
        seconds: float,
        on_cancel: Callable[[UUID], None],
        on_lost: Callable[[], bool],
    ) -> None:
        self._store = store
        self.seconds = seconds
        self._on_cancel = on_cancel
        self._on_lost = on_lost
        self.engine_id = new_engine_id()
        self.valid_until = 0.0
        """Monotonic time until which this engine's lease is surely valid."""
        self.on_new_identity: Callable[[str], None] | None = None
        """Called with the new engine id after a lost lease."""
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def valid(self) -> bool:
        """Whether the lease is known to be valid now (runs may be taken)."""
        return time.monotonic() < self.valid_until

    async def beat(self) -> None:
        """Renew the lease once (registering the engine the first time)."""
        # Measured before the request: the database starts the new lease no earlier.
        sent = time.monotonic()
        engine = self.engine_id
        cancels = await self._store.heartbeat(
            engine=engine,
            lease_seconds=self.seconds,
            host=socket.gethostname(),
            pid=os.getpid(),
            version=__version__,
        )
        if engine != self.engine_id:
            return  # renewed an identity given up meanwhile; the next beat registers ours
        self.valid_until = sent + self.seconds * LEASE_SAFETY
        self._arm_watchdog()
        for run_id in cancels:
            self._on_cancel(run_id)

    async def keep(self) -> None:
        """Renew the lease every quarter of its length, until cancelled."""
        interval = self.seconds / 4
        while True:
            await asyncio.sleep(interval)
            try:
                await self.beat()
            except Exception as exc:  # the heartbeat must outlive any failure
                _log.warning("heartbeat failed", error_type=type(exc).__name__)

    def lost(self) -> None:
        """The lease may expire unrenewed: stop the local runs, take a new identity."""
        if not self._on_lost():
            return
        # A new identity: the old one's runs become claimable by anyone, us included.
        # It takes runs only once a heartbeat has registered it.
        self.engine_id = new_engine_id()
        self.valid_until = 0.0
        if self.on_new_identity is not None:
            self.on_new_identity(self.engine_id)

    def close(self) -> None:
        """Stop the watchdog (the engine is stopping)."""
        if self._watchdog is not None:
            self._watchdog.cancel()

    def _arm_watchdog(self) -> None:
        """Stop local runs the moment our lease may be about to expire unrenewed."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        delay = max(0.0, self.valid_until - time.monotonic())
        self._watchdog = asyncio.get_running_loop().call_later(delay, self.lost)
