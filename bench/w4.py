"""W4 of BENCHMARK.md: idle concurrency, many runs waiting on a slow connector call.

    uv run python bench/w4.py --runs 10000 --wait 60

Starts ``--runs`` runs at once in one engine process (``EngineConfig.max_runs`` =
``--runs``); each run's single step calls ``bench.wait``, an in-process action that
waits ``--wait`` seconds. While they wait, the engine's RSS and the database
connections in use are sampled. The step timeout and the run deadline are set
explicitly, well above ``--wait``, so neither cuts a call short. Exit status 1 when
a run did not succeed or a call did not happen exactly once. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import msgspec
import psycopg
import yaml
from harness import (
    Meters,
    Server,
    current_rss_mib,
    engine_cpu_seconds,
    fresh_database,
    max_rss_mib,
    open_server,
    percentile,
)
from workloads import (
    Row,
    figure_lines,
    json_document,
    positive_int,
    postgres_line,
    progress,
    seconds_arg,
    warn_if_not_durable,
)

from dataworkflows.composition.engine import EngineParts, engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.engine.executor import EngineConfig
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.engine.store import RunRecord
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.aio import run as run_loop
from dataworkflows.runtime.logging import configure_logging

WORKFLOW: Final = "bench-idle"
RSS_TARGET_MIB: Final = 1024.0
_CONNECTIONS_SQL: Final = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"


# The bench connector ----------------------------------------------------------------


class WaitInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``bench.wait``: how long to wait, and a number to give back."""

    seconds: float
    n: int


class WaitOutput(msgspec.Struct, kw_only=True):
    """``bench.wait``'s answer."""

    n: int
    waited_s: float


class WaitLedger:
    """Every ``bench.wait`` call: per run, how many; overall, when they began and ended."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.waiting = 0
        self.max_waiting = 0
        self.first_start = float("inf")
        self.last_start = float("-inf")
        self.last_end = float("-inf")

    def begin(self, run_id: str | None) -> None:
        now = time.perf_counter()
        if run_id is not None:
            self.calls[run_id] = self.calls.get(run_id, 0) + 1
        self.waiting += 1
        self.max_waiting = max(self.max_waiting, self.waiting)
        self.first_start = min(self.first_start, now)
        self.last_start = max(self.last_start, now)

    def end(self) -> None:
        self.waiting -= 1
        self.last_end = max(self.last_end, time.perf_counter())


def wait_actions(ledger: WaitLedger) -> ActionSet:
    """The ``bench`` connector of W4: ``bench.wait``."""
    bench = ActionSet("bench", description="W4 benchmark actions.")

    @bench.action("wait", effect="read", description="Waits `seconds`, then answers.")
    async def wait(data: WaitInput, call: ActionCall) -> WaitOutput:
        ledger.begin(call.context.run_id if call.context is not None else None)
        started = time.perf_counter()
        try:
            await asyncio.sleep(data.seconds)
        finally:
            ledger.end()
        return WaitOutput(n=data.n, waited_s=time.perf_counter() - started)

    return bench


def idle_definition(wait_s: float, step_timeout_s: float, run_timeout_s: float) -> dict[str, Any]:
    """``bench-idle``: one step waiting ``wait_s``; its timeout and the run's set explicitly."""
    return {
        "name": WORKFLOW,
        "description": f"W4 benchmark: one connector call waiting {wait_s:g} s.",
        "inputs": {"n": {"type": "integer"}, "seconds": {"type": "number"}},
        "timeout": run_timeout_s,
        "steps": [
            {
                "id": "wait",
                "uses": "bench.wait",
                "with": {"seconds": "{{ inputs.seconds }}", "n": "{{ inputs.n }}"},
                "timeout": step_timeout_s,
                # A failure must show as one, not be hidden by a retry.
                "retry": {"attempts": 1},
            }
        ],
        "output": {"n": "{{ steps.wait.output.n }}"},
    }


# One measurement --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    """What to run."""

    runs: int = 10_000
    wait_s: float = 60.0
    step_timeout_s: float = 0.0
    """0: twice ``wait_s`` plus a minute."""
    run_timeout_s: float = 0.0
    """0: the step timeout plus ten minutes."""
    pool: int = 15
    sample_s: float = 1.0
    repeat: int = 1
    log_level: str = "warning"

    @property
    def step_timeout(self) -> float:
        return self.step_timeout_s or 2 * self.wait_s + 60.0

    @property
    def run_timeout(self) -> float:
        return self.run_timeout_s or self.step_timeout + 600.0


@dataclass(slots=True)
class Result:
    """The figures of one measurement."""

    runs: int
    succeeded: int
    """Runs that ended ``succeeded`` (the database's word, after the engine stopped)."""
    failed: int
    """Runs in any other state."""
    calls_not_once: int
    """Runs whose ``bench.wait`` was not called exactly once."""
    start_errors: int
    wait_timeouts: int
    start_all_s: float
    """From the first ``start_run`` call to the last one returning."""
    all_waiting_s: float
    """From the first ``start_run`` call until every run's connector call had begun."""
    max_waiting: int
    """The most connector calls waiting at once."""
    finish_after_wait_s: float
    """From the last connector call returning to the last run ended (recorded)."""
    total_s: float
    """From the first ``start_run`` call to the last run ended."""
    e2e_p50_s: float
    e2e_p99_s: float
    e2e_max_s: float
    rss_before_mib: float
    """Engine RSS before the first run started (engine up, workflow registered)."""
    rss_peak_mib: float
    """The process's peak RSS (``ru_maxrss``; also at least every sample)."""
    rss_end_mib: float
    """RSS once every run ended, the engine still up."""
    rss_per_run_kib: float
    """(peak - before) / runs."""
    max_connections: int
    """Max of ``count(*) FROM pg_stat_activity`` for the database, sampled (meter's own
    connection included)."""
    min_connections: int
    idle_engine_cpu_pct: float
    """Engine CPU (% of one core) while every call was waiting."""
    engine_cpu_s: float
    postgres_cpu_s: float | None
    commits: int
    """Committed transactions of the database from before the first start to the end."""
    write_commits: int
    durable_steps: int
    commits_per_run: float
    samples: int
    run_statuses: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None


class Sampler:
    """Samples RSS, database connections and engine CPU every ``interval`` seconds."""

    def __init__(
        self, conn: psycopg.AsyncConnection[tuple[object, ...]], ledger: WaitLedger, runs: int
    ) -> None:
        self._conn = conn
        self._ledger = ledger
        self._runs = runs
        self.rss_peak = 0.0
        self.max_connections = 0
        self.min_connections = sys.maxsize
        self.samples = 0
        self._idle_from: tuple[float, float] | None = None
        self.idle_cpu: tuple[float, float] | None = None
        """(seconds, CPU seconds) spent with every call waiting."""
        self.errors = 0

    async def run(self, interval: float, started: float) -> None:
        last_report = 0.0
        while True:
            now = time.perf_counter()
            self.rss_peak = max(self.rss_peak, current_rss_mib())
            try:
                cursor = await self._conn.execute(_CONNECTIONS_SQL)
                row = await cursor.fetchone()
            except psycopg.Error:
                self.errors += 1
            else:
                count = int(row[0]) if row else 0  # type: ignore[call-overload]
                self.max_connections = max(self.max_connections, count)
                self.min_connections = min(self.min_connections, count)
            self.samples += 1
            self._idle_sample(now)
            if now - last_report >= 10.0:
                last_report = now
                progress(
                    f"  {now - started:5.0f} s: {self._ledger.waiting:,} calls waiting, "
                    f"{self.max_connections} connections at most, "
                    f"RSS {current_rss_mib():,.0f} MiB"
                )
            await asyncio.sleep(interval)

    def _idle_sample(self, now: float) -> None:
        all_waiting = self._ledger.waiting == self._runs
        if all_waiting and self._idle_from is None:
            self._idle_from = (now, engine_cpu_seconds())
        elif not all_waiting and self._idle_from is not None:
            self._close_idle(now)
        elif all_waiting and self._idle_from is not None:
            self._close_idle(now, keep=True)

    def _close_idle(self, now: float, *, keep: bool = False) -> None:
        assert self._idle_from is not None
        began, cpu = self._idle_from
        self.idle_cpu = (now - began, engine_cpu_seconds() - cpu)
        if not keep:
            self._idle_from = None


async def _start(parts: EngineParts, index: int, wait_s: float) -> tuple[RunRecord, float]:
    started = time.perf_counter()
    run, _ = await parts.service.start_run(
        WORKFLOW,
        inputs={"n": index, "seconds": wait_s},
        idempotency_key=None,
        trigger={"source": "bench"},
    )
    return run, started


async def _wait(parts: EngineParts, run_id: UUID, limit_s: float) -> float | None:
    """When the run ended (perf_counter), or None if it did not within ``limit_s``."""
    if await parts.executor.wait_for(run_id, limit_s):
        return time.perf_counter()
    current = await parts.service.store.get_run(run_id)
    if current is not None and current.finished:
        return time.perf_counter()
    return None


async def measure(url: str, server: Server, opts: Options) -> Result:
    """Start every run, wait for all, sample meanwhile; the figures."""
    ledger = WaitLedger()
    settings = Settings(
        db_pool_max=opts.pool,
        log_level=opts.log_level,
        engine=EngineSettings(max_runs=opts.runs, step_timeout=opts.step_timeout),
    )
    config = EngineConfig(
        max_runs=opts.runs, step_timeout_s=opts.step_timeout, shutdown_grace_s=5.0
    )
    definition = idle_definition(opts.wait_s, opts.step_timeout, opts.run_timeout)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as meter_conn:
        meters = Meters(meter_conn, server)
        async with engine_parts(
            settings, database_url=url, config=config, extra_actions=[wait_actions(ledger)]
        ) as (parts, _):
            await parts.service.register(definition, source=yaml.safe_dump(definition))
            gc.collect()
            rss_before = current_rss_mib()
            before = await meters.read()
            sampler = Sampler(meter_conn, ledger, opts.runs)
            t0 = time.perf_counter()
            sampling = asyncio.create_task(sampler.run(opts.sample_s, t0))
            progress(f"  starting {opts.runs:,} runs")
            started = await asyncio.gather(
                *(_start(parts, i, opts.wait_s) for i in range(opts.runs)),
                return_exceptions=True,
            )
            t_started = time.perf_counter()
            runs: list[tuple[RunRecord, float]] = []
            start_errors = 0
            last_error: str | None = None
            for item in started:
                if isinstance(item, BaseException):
                    start_errors += 1
                    last_error = f"{type(item).__name__}: {item}"
                else:
                    runs.append(item)
            progress(
                f"  {len(runs):,} runs started in {t_started - t0:.1f} s; waiting for them "
                f"({opts.wait_s:g} s calls)"
            )
            timeout = opts.run_timeout + 60.0
            ended = await asyncio.gather(*(_wait(parts, run.id, timeout) for run, _ in runs))
            t_done = max((e for e in ended if e is not None), default=time.perf_counter())
            rss_end = current_rss_mib()
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
            after = await meters.read()
            progress("  all runs ended; stopping the engine")
        cursor = await meter_conn.execute(
            "SELECT status, count(*) FROM dw.runs WHERE workflow_name = %s GROUP BY status",
            (WORKFLOW,),
        )
        statuses = {str(s): int(n) for s, n in await cursor.fetchall()}
    e2e = [e - s for (_, s), e in zip(runs, ended, strict=True) if e is not None]
    succeeded = statuses.get("succeeded", 0)
    idle = sampler.idle_cpu
    pg_cpu = (
        after.postgres_cpu_s - before.postgres_cpu_s
        if after.postgres_cpu_s is not None and before.postgres_cpu_s is not None
        else None
    )
    commits = after.xact_commit - before.xact_commit
    rss_peak = max(sampler.rss_peak, max_rss_mib(), rss_end)
    return Result(
        runs=opts.runs,
        succeeded=succeeded,
        failed=opts.runs - succeeded,
        calls_not_once=sum(1 for run, _ in runs if ledger.calls.get(str(run.id), 0) != 1),
        start_errors=start_errors,
        wait_timeouts=sum(1 for e in ended if e is None),
        start_all_s=t_started - t0,
        all_waiting_s=ledger.last_start - t0 if ledger.calls else float("nan"),
        max_waiting=ledger.max_waiting,
        finish_after_wait_s=t_done - ledger.last_end if ledger.calls else float("nan"),
        total_s=t_done - t0,
        e2e_p50_s=percentile(e2e, 0.50),
        e2e_p99_s=percentile(e2e, 0.99),
        e2e_max_s=max(e2e, default=float("nan")),
        rss_before_mib=rss_before,
        rss_peak_mib=rss_peak,
        rss_end_mib=rss_end,
        rss_per_run_kib=(rss_peak - rss_before) * 1024 / opts.runs,
        max_connections=sampler.max_connections,
        min_connections=sampler.min_connections if sampler.samples else 0,
        idle_engine_cpu_pct=100 * idle[1] / idle[0] if idle and idle[0] > 0 else float("nan"),
        engine_cpu_s=after.engine_cpu_s - before.engine_cpu_s,
        postgres_cpu_s=pg_cpu,
        commits=commits,
        write_commits=after.next_xid - before.next_xid,
        durable_steps=after.durable_steps - before.durable_steps,
        commits_per_run=commits / opts.runs,
        samples=sampler.samples,
        run_statuses=statuses,
        last_error=last_error,
    )


# Reporting --------------------------------------------------------------------------


def _runs_cell(result: Any) -> str:
    return f"{result.succeeded:,}/{result.failed:,}"


def _errors_cell(result: Any) -> str:
    return f"{result.start_errors}/{result.wait_timeouts}"


ROWS: Final[tuple[Row, ...]] = (
    ("runs", "runs", "{:,.0f}"),
    ("runs succeeded / not succeeded", "succeeded", _runs_cell),
    ("runs not calling exactly once", "calls_not_once", "{:,.0f}"),
    ("start errors / wait timeouts", "start_errors", _errors_cell),
    ("time to start all runs (s)", "start_all_s", "{:,.2f}"),
    ("until every call was waiting (s)", "all_waiting_s", "{:,.2f}"),
    ("most calls waiting at once", "max_waiting", "{:,.0f}"),
    ("last run ended after last call (s)", "finish_after_wait_s", "{:,.2f}"),
    ("first start to last end (s)", "total_s", "{:,.1f}"),
    ("run end-to-end p50 (s)", "e2e_p50_s", "{:,.2f}"),
    ("run end-to-end p99 (s)", "e2e_p99_s", "{:,.2f}"),
    ("run end-to-end max (s)", "e2e_max_s", "{:,.2f}"),
    ("engine RSS before the runs (MiB)", "rss_before_mib", "{:,.0f}"),
    ("engine RSS peak (MiB)", "rss_peak_mib", "{:,.0f}"),
    ("engine RSS at the end (MiB)", "rss_end_mib", "{:,.0f}"),
    ("engine RSS per run (KiB)", "rss_per_run_kib", "{:,.1f}"),
    ("DB connections, max sampled", "max_connections", "{:,.0f}"),
    ("DB connections, min sampled", "min_connections", "{:,.0f}"),
    ("engine CPU while all wait (% core)", "idle_engine_cpu_pct", "{:.1f}"),
    ("engine CPU, whole measurement (s)", "engine_cpu_s", "{:.1f}"),
    ("PostgreSQL CPU, whole measurement (s)", "postgres_cpu_s", "{:.1f}"),
    ("commits (all, reads incl.)", "commits", "{:,.0f}"),
    ("xids (writes, savepoints)", "write_commits", "{:,.0f}"),
    ("commits per run", "commits_per_run", "{:.3f}"),
    ("durable steps", "durable_steps", "{:,.0f}"),
)


def format_table(opts: Options, server: Server, results: Sequence[Result]) -> str:
    """The figures as a readable table, one column per measurement (plus the median)."""
    header = (
        f"W4: idle concurrency, {opts.runs:,} runs at once in one engine process, each "
        f"waiting on a {opts.wait_s:g} s connector call; step timeout "
        f"{opts.step_timeout:g} s, run deadline {opts.run_timeout:g} s, pool {opts.pool}, "
        f"sampled every {opts.sample_s:g} s"
    )
    lines = [header, postgres_line(server), "", *figure_lines(ROWS, results), ""]
    for i, r in enumerate(results, 1):
        statuses = ", ".join(f"{k}={v:,}" for k, v in sorted(r.run_statuses.items()))
        lines.append(f"run {i}: runs in the database at the end: {statuses}")
        if r.last_error:
            lines.append(f"run {i}: last start error: {r.last_error}")
    lines.append(
        "DB connections count pg_stat_activity rows of the benchmark database, the meter's "
        "own connection included; RSS peak is the process's ru_maxrss (engine and driver)."
    )
    lines.append(
        f"target (BENCHMARK.md): {opts.runs:,} runs in flight with RSS <= 1 GiB, zero failed "
        f"runs; peak here {'<=' if all(r.rss_peak_mib <= RSS_TARGET_MIB for r in results) else '>'}"
        " 1 GiB."
    )
    return "\n".join(lines)


# Command line -----------------------------------------------------------------------


def _measure_in_child(opts: Options) -> tuple[Result, Server]:
    """One measurement by ``w4.py --repeat 1 --json`` in a new process."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        *("--runs", str(opts.runs), "--wait", repr(opts.wait_s)),
        *("--step-timeout", repr(opts.step_timeout), "--run-timeout", repr(opts.run_timeout)),
        *("--pool", str(opts.pool), "--sample", repr(opts.sample_s)),
        *("--log-level", opts.log_level, "--repeat", "1", "--json"),
    ]
    child = subprocess.run(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
    try:
        document = json.loads(child.stdout)
    except ValueError:
        raise RuntimeError(
            f"the measurement process failed (exit status {child.returncode})"
        ) from None
    postgres = document["postgres"]
    return Result(**document["runs"][0]), Server(admin_url="", **postgres)


def main(argv: Sequence[str]) -> int:
    """Parse ``argv``, measure, print; the exit status."""
    p = argparse.ArgumentParser(
        prog="bench/w4.py",
        description="W4 of BENCHMARK.md: many runs waiting on a slow connector call.",
    )
    p.add_argument("--runs", type=positive_int, default=10_000, help="runs started at once")
    p.add_argument("--wait", type=seconds_arg, default=60.0, help="each call's wait, s")
    p.add_argument(
        "--step-timeout",
        type=seconds_arg,
        default=0.0,
        help="the step's timeout (also EngineSettings.step_timeout and "
        "EngineConfig.step_timeout_s); "
        "default 2 x wait + 60 s",
    )
    p.add_argument(
        "--run-timeout",
        type=seconds_arg,
        default=0.0,
        help="the workflow's timeout (the run deadline); default step timeout + 600 s",
    )
    p.add_argument("--pool", type=positive_int, default=15, help="engine DB pool size")
    p.add_argument("--sample", type=seconds_arg, default=1.0, help="sampling interval, s")
    p.add_argument(
        "--repeat", type=positive_int, default=1, help="measurements, each on a fresh database"
    )
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = p.parse_args(argv)
    opts = Options(
        runs=args.runs,
        wait_s=args.wait,
        step_timeout_s=args.step_timeout,
        run_timeout_s=args.run_timeout,
        pool=args.pool,
        sample_s=max(args.sample, 0.05),
        repeat=args.repeat,
        log_level=args.log_level,
    )
    if opts.step_timeout <= opts.wait_s or opts.run_timeout <= opts.wait_s:
        progress("WARNING: the step timeout or the run deadline is not above --wait")
    configure_logging(level=opts.log_level, fmt="console", stream=sys.stderr)
    results: list[Result] = []
    if opts.repeat == 1:
        with open_server() as server:
            warn_if_not_durable(server)
            progress("W4 measurement 1/1")
            with fresh_database(server) as url:
                results.append(run_loop(measure(url, server, opts)))
    else:
        # RSS is W4's main figure: each measurement gets a fresh process (and server),
        # so none starts with the heap an earlier one grew.
        for index in range(opts.repeat):
            progress(f"W4 measurement {index + 1}/{opts.repeat} (in a process of its own)")
            result, server = _measure_in_child(opts)
            results.append(result)
    if args.json:
        options = {
            **asdict(opts),
            "step_timeout_s": opts.step_timeout,
            "run_timeout_s": opts.run_timeout,
        }
        print(json_document("W4", options, server, results))
    else:
        print(format_table(opts, server, results))
    failed = any(r.failed or r.calls_not_once or r.start_errors or r.wait_timeouts for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
