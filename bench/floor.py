"""The commit floor: what one round trip and one commit cost, hot and after an idle gap.

    uv run python bench/floor.py --gap 50ms

W1's overhead per step cannot fall below one commit of the step's result. This
measures that floor on the same server, outside the engine, in the pattern W1 has
at low load: one client, one statement, then ``--gap`` of nothing (the connector's
latency) before the next. Each operation is measured twice: back
to back ("hot", as pgbench measures it) and after the gap. The operations are

- ``SELECT 1``: a round trip, no commit;
- ``INSERT`` of one small row: a round trip and a commit (pgbench's unit);
- the journal's batch of one step attempt (``PostgresEngineStore.write_batch``, the
  engine's own code and stored function, a ~2 KB row): what a step waits for at
  1 in flight.

See bench/README.md ("The commit floor at low load").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import psycopg
from harness import Server, fresh_database, open_server, percentile
from workloads import OUTPUT_DATA, positive_int, postgres_line, seconds_arg, warn_if_not_durable

from dataworkflows.engine.postgres_store import PostgresEngineStore
from dataworkflows.engine.store import StepAttempt
from dataworkflows.runtime.database import open_pool

ENGINE = "bench-floor"
Operation = Callable[[int], Awaitable[object]]


def _setup(url: str, run_id: uuid.UUID) -> None:
    """An engine holding one running run, and a small table for the plain INSERT."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO dw.engines (id, host, pid, version, lease_expires_at)"
            " VALUES (%s, 'bench', 0, 'bench', now() + interval '1 day')",
            (ENGINE,),
        )
        conn.execute("INSERT INTO dw.workflows (name, latest_version) VALUES ('floor', 1)")
        conn.execute(
            "INSERT INTO dw.workflow_versions (workflow_name, version, definition, source,"
            " checksum) VALUES ('floor', 1, '{}', '', 'floor')"
        )
        conn.execute(
            "INSERT INTO dw.runs (id, workflow_name, workflow_version, status, owner,"
            " started_at) VALUES (%s, 'floor', 1, 'running', %s, now())",
            (run_id, ENGINE),
        )
        conn.execute("CREATE TABLE bench_floor (id bigint PRIMARY KEY, note text NOT NULL)")


async def _measure(url: str, *, samples: int, gap_s: float) -> dict[str, dict[str, list[float]]]:
    run_id = uuid.uuid4()
    _setup(url, run_id)
    pool = await open_pool(url, max_size=1, name="floor", check=False)
    store = PostgresEngineStore(pool)
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)

    async def select_one(_: int) -> object:
        return await conn.execute("SELECT 1")

    async def insert_row(n: int) -> object:
        return await conn.execute("INSERT INTO bench_floor VALUES (%s, 'x')", (n,))

    async def journal_batch(n: int) -> object:
        at = datetime.now(UTC)
        attempt = StepAttempt(
            run_id=run_id,
            step_id=f"s{n}",
            iteration=-1,
            attempt=1,
            action="bench.step",
            status="succeeded",
            queued_at=at,
            started_at=at,
            finished_at=at,
            input={"payload": OUTPUT_DATA, "n": n},
            output={"n": n + 1, "data": OUTPUT_DATA},
        )
        return await store.write_batch(engine=ENGINE, attempts=[attempt], finishes=[], events=[])

    operations: dict[str, Operation] = {
        "SELECT 1 (round trip)": select_one,
        "INSERT one small row (commit)": insert_row,
        "journal batch of one step (commit)": journal_batch,
    }
    times: dict[str, dict[str, list[float]]] = {
        name: {"hot": [], "after gap": []} for name in operations
    }
    counter = 0
    try:
        # Hot: each operation back to back, as pgbench measures (the CPUs stay awake).
        # After the gap: each sample follows an idle wait, as a step follows its call.
        for mode in ("hot", "after gap"):
            for name, operation in operations.items():
                for _ in range(samples):
                    counter += 1
                    if mode == "after gap":
                        await asyncio.sleep(gap_s)
                    started = time.perf_counter()
                    await operation(counter)
                    times[name][mode].append(time.perf_counter() - started)
                print(f"  {name}, {mode}: {samples} samples", file=sys.stderr)
    finally:
        await conn.close()
        await pool.close()
    return times


def _table(server: Server, gap_s: float, times: dict[str, dict[str, list[float]]]) -> str:
    lines = [
        f"The commit floor: one client, each operation hot and after {gap_s * 1000:g} ms idle",
        postgres_line(server),
        "",
        f"{'operation':38} {'hot p50':>9} {'hot p99':>9} {'gap p50':>9} {'gap p99':>9}  (ms)",
    ]
    for name, modes in times.items():
        cells = [
            percentile(modes[mode], q) * 1000 for mode in ("hot", "after gap") for q in (0.50, 0.99)
        ]
        lines.append(f"{name:38} " + " ".join(f"{c:9.3f}" for c in cells))
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    """Measure and print the floor; the exit status is 0 unless the server is unreachable."""
    p = argparse.ArgumentParser(
        prog="bench/floor.py",
        description="What one round trip and one commit cost on this server, back to "
        "back and after an idle gap (W1's latency).",
    )
    p.add_argument("--gap", type=seconds_arg, default=0.05, help="idle gap, default 50ms")
    p.add_argument("--samples", type=positive_int, default=200, help="samples per operation")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    with open_server() as server:
        warn_if_not_durable(server)
        with fresh_database(server) as url:
            times = asyncio.run(_measure(url, samples=args.samples, gap_s=args.gap))
    if args.json:
        figures = {
            name: {
                f"{mode} p{int(q * 100)} ms": round(percentile(values, q) * 1000, 3)
                for mode, values in modes.items()
                for q in (0.50, 0.99)
            }
            for name, modes in times.items()
        }
        print(json.dumps({"gap_s": args.gap, "figures": figures}, indent=2))
    else:
        print(_table(server, args.gap, times))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
