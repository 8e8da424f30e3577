"""The engine's Prometheus metrics (see :mod:`dataworkflows.runtime.metrics`).

Labels are workflow names (those registered), action names (the catalog's) and
statuses; never run ids or inputs.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final, Protocol

from prometheus_client import Counter, Gauge, Histogram

from dataworkflows.runtime.database import DatabaseUnavailable
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.metrics import LATENCY_BUCKETS

__all__ = [
    "JOURNAL_BATCH_RECORDS",
    "JOURNAL_COMMIT_SECONDS",
    "LEASE_TAKEOVERS",
    "RUNS_BY_STATUS",
    "RUNS_FINISHED",
    "RUNS_IN_FLIGHT",
    "RUNS_STARTED",
    "RUN_SECONDS",
    "STEP_SECONDS",
    "RunCounter",
]

_log = get_logger(__name__)
COUNT_EVERY_S: Final = 5.0

RUN_BUCKETS: Final = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
"""Seconds: runs take from milliseconds (echo) to an hour (a large sync)."""

RUNS_STARTED: Final = Counter(
    "dw_runs_started", "Runs created (by any trigger), by workflow.", ["workflow"]
)
RUNS_FINISHED: Final = Counter(
    "dw_runs_finished",
    "Runs that ended, by workflow and final status (succeeded, failed, cancelled).",
    ["workflow", "status"],
)
RUN_SECONDS: Final = Histogram(
    "dw_run_duration_seconds",
    "Time from a run's start on this engine (or its resumption, after a wait or a "
    "takeover) to its end, by workflow and final status.",
    ["workflow", "status"],
    buckets=RUN_BUCKETS,
)
STEP_SECONDS: Final = Histogram(
    "dw_step_attempt_duration_seconds",
    "Time a step attempt took, as recorded, by action and status.",
    ["action", "status"],
    buckets=LATENCY_BUCKETS,
)
RUNS_IN_FLIGHT: Final = Gauge("dw_runs_in_flight", "Runs this engine is executing now.")
RUNS_BY_STATUS: Final = Gauge(
    "dw_runs",
    "Runs not ended, across every engine, by status (queued, running, waiting); "
    "read from the database every few seconds.",
    ["status"],
)
LEASE_TAKEOVERS: Final = Counter(
    "dw_lease_takeovers",
    "Runs this engine took over from an engine whose lease expired (crashed or stuck).",
)
JOURNAL_BATCH_RECORDS: Final = Histogram(
    "dw_journal_batch_records",
    "Records (step attempts, run ends, events) written per journal commit.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
JOURNAL_COMMIT_SECONDS: Final = Histogram(
    "dw_journal_commit_duration_seconds",
    "Time to write and commit one journal batch (retries included).",
    buckets=LATENCY_BUCKETS,
)


class _Counts(Protocol):
    async def count_unfinished_runs(self) -> dict[str, int]: ...


class RunCounter:
    """Refreshes ``dw_runs{status}`` from the database every few seconds (one cheap
    query over partial indexes), so a scrape never waits on the database."""

    def __init__(self, store: _Counts, every_s: float = COUNT_EVERY_S) -> None:
        self._store = store
        self._every_s = every_s
        self._stopping = False

    def stop(self) -> None:
        """End :meth:`run` (a flag too: a database call may swallow a cancel)."""
        self._stopping = True

    async def run(self) -> None:
        """Count until stopped."""
        while not self._stopping:
            with contextlib.suppress(DatabaseUnavailable, TimeoutError):
                async with asyncio.timeout(self._every_s):
                    for status, count in (await self._store.count_unfinished_runs()).items():
                        RUNS_BY_STATUS.labels(status).set(count)
            await asyncio.sleep(self._every_s)
