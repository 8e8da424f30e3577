"""Waiting runs cost the engine nothing: N runs waiting for a signal, then woken.

    uv run python bench/waiting.py --runs 1000
    uv run python bench/waiting.py --runs 10000

Starts one engine on a fresh database (the embedded PostgreSQL, or
``DW_BENCH_DATABASE_URL``'s server), starts ``--runs`` runs of a workflow whose one
step is ``wait.signal``, waits until every run is ``waiting``, and reports the
engine's RSS before and after, the runs it holds, and its asyncio tasks. Then it
signals every run and reports how long until all succeeded. Run it once per N (a
process keeps memory it once used). Exit status 1 when a run did not succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from typing import Any

import psycopg
from harness import current_rss_mib, fresh_database, open_server
from workloads import progress

from dataworkflows.composition.engine import engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.engine.executor import EngineConfig
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.runtime.aio import run as run_loop
from dataworkflows.runtime.logging import configure_logging

FLOW = """
name: bench-wait
inputs: {n: {type: integer}}
steps:
  - {id: approval, uses: wait.signal, with: {signal: go}}
  - {id: after, uses: core.echo, with: {n: "{{ inputs.n }}"}}
"""
BATCH = 200


def count(database_url: str, status: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM dw.runs WHERE workflow_name = 'bench-wait' AND status = %s",
            (status,),
        ).fetchone()
    return int(row[0]) if row else 0


async def until(database_url: str, status: str, runs: int, within_s: float) -> float:
    started = time.monotonic()
    while await asyncio.to_thread(count, database_url, status) < runs:
        if time.monotonic() - started > within_s:
            raise TimeoutError(f"not all {runs} runs {status} within {within_s:.0f} s")
        await asyncio.sleep(0.25)
    return time.monotonic() - started


async def measure(database_url: str, runs: int) -> dict[str, Any]:
    """The figures for ``runs`` waiting runs."""
    settings = Settings(engine=EngineSettings(api_keys=("bench-api-key-0123456789",)))
    config = EngineConfig(max_runs=1000, lease_seconds=30.0)
    async with engine_parts(settings, database_url=database_url, config=config) as (parts, _):
        await parts.service.register(FLOW, source=FLOW)
        gc.collect()
        before_mib = current_rss_mib()
        ids = []
        for start in range(0, runs, BATCH):
            batch = await asyncio.gather(
                *(
                    parts.service.start_run(
                        "bench-wait",
                        inputs={"n": n},
                        idempotency_key=None,
                        trigger={"source": "bench"},
                    )
                    for n in range(start, min(start + BATCH, runs))
                )
            )
            ids.extend(run.id for run, _ in batch)
            progress(f"started {len(ids)}/{runs}")
        to_wait_s = await until(database_url, "waiting", runs, 600)
        await asyncio.sleep(1)
        gc.collect()
        waiting_mib = current_rss_mib()
        held = parts.executor.running
        tasks = len(asyncio.all_tasks())
        progress("signalling every run")
        signalled = time.monotonic()
        for start in range(0, runs, BATCH):
            await asyncio.gather(
                *(parts.service.signal(run_id, "go", None) for run_id in ids[start : start + BATCH])
            )
        await until(database_url, "succeeded", runs, 600)
        done_s = time.monotonic() - signalled
        return {
            "runs": runs,
            "rss_before_mib": round(before_mib, 1),
            "rss_waiting_mib": round(waiting_mib, 1),
            "runs_held_while_waiting": held,
            "asyncio_tasks_while_waiting": tasks,
            "seconds_until_all_waiting": round(to_wait_s, 1),
            "seconds_from_first_signal_to_all_done": round(done_s, 1),
        }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs that wait")
    args = parser.parse_args(argv)
    configure_logging(level="WARNING", fmt="console", stream=sys.stderr)
    with open_server() as server, fresh_database(server) as url:
        figures = run_loop(measure(url, args.runs))
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
