"""Schedules: how late a tick's run starts on an idle engine (issue 16 asks <= 1 s).

    uv run python bench/schedules.py --ticks 3

Starts one engine on a fresh database (the embedded PostgreSQL, or
``DW_BENCH_DATABASE_URL``'s server), declares a schedule ``* * * * *`` of a one-step
workflow, and waits for ``--ticks`` minute ticks. For each it reports how long after
the tick the run was created and started (``created_at``/``started_at`` minus the
tick, both stamped by PostgreSQL). Takes about a minute per tick. Exit status 1 when
a tick started no run or more than one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from harness import fresh_database, open_server, percentile
from workloads import progress

from dataworkflows.composition.engine import engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.runtime.aio import run as run_loop
from dataworkflows.runtime.logging import configure_logging

FLOW = """
name: bench-tick
steps:
  - {id: echo, uses: core.echo, with: {ok: true}}
"""


async def measure(database_url: str, ticks: int) -> list[dict[str, Any]]:
    """Lateness of each of the next ``ticks`` minute ticks, in milliseconds."""
    settings = Settings(engine=EngineSettings(api_keys=("bench-api-key-0123456789",)))
    async with engine_parts(settings, database_url=database_url) as (parts, _):
        await parts.service.register(FLOW, source=FLOW)
        await parts.schedules.put(
            {"name": "bench-every-minute", "workflow": "bench-tick", "cron": "* * * * *"},
            source="api",
        )
        first = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        wanted = [first + timedelta(minutes=i) for i in range(ticks)]
        progress(f"waiting for {ticks} tick(s), the last at {wanted[-1]:%H:%M:%S} UTC")
        await asyncio.sleep(max(0.0, (wanted[-1] - datetime.now(UTC)).total_seconds() + 3))
        runs = await parts.service.list_runs(
            workflow="bench-tick",
            status=None,
            created_after=None,
            created_before=None,
            after=None,
            limit=1000,
        )
    rows = []
    for tick in wanted:
        matching = [r for r in runs if r.trigger.get("tick") == tick.isoformat()]
        created = matching[0].created_at if len(matching) == 1 else None
        started = matching[0].started_at if len(matching) == 1 else None
        rows.append(
            {
                "tick": tick.isoformat(),
                "runs": len(matching),
                "created_ms": (created - tick).total_seconds() * 1000 if created else None,
                "started_ms": (started - tick).total_seconds() * 1000 if started else None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print one line per tick and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=3, help="minute ticks to wait for")
    args = parser.parse_args(argv)
    configure_logging(level="WARNING", fmt="console", stream=sys.stderr)
    with open_server() as server, fresh_database(server) as url:
        rows = run_loop(measure(url, args.ticks))
    for row in rows:
        print(
            f"{row['tick']}: {row['runs']} run(s), created +{row['created_ms']:.1f} ms, "
            f"started +{row['started_ms']:.1f} ms"
            if row["runs"] == 1
            else f"{row['tick']}: {row['runs']} run(s)"
        )
    started = [r["started_ms"] for r in rows if r["started_ms"] is not None]
    if started:
        print(
            f"run started after its tick: p50 {percentile(started, 0.5):.1f} ms, "
            f"max {max(started):.1f} ms over {len(started)} tick(s)"
        )
    return 0 if all(r["runs"] == 1 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
