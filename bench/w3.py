"""W3 of BENCHMARK.md: fan-out and join, in a closed loop.

    uv run python bench/w3.py --in-flight 100 --duration 20

Each run of ``bench-fanout`` has three steps: ``items`` (``bench.items``) returns
``--items`` (100) items; ``each`` is a ``foreach`` step calling ``bench.item`` once per
item, at most ``--concurrency`` (10) at once; ``total`` (``bench.sum``) adds up what
the items returned. Every call is checked: each item of each run called exactly
once, the sum equal to the one expected from the run's input, and (after the
engine stopped) every succeeded run's output in the database. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import msgspec
import psycopg
import yaml
from harness import (
    Meters,
    Reading,
    Server,
    current_rss_mib,
    fresh_database,
    max_rss_mib,
    open_server,
    percentile,
)
from workloads import (
    ClosedLoop,
    Latency,
    Row,
    figure_lines,
    json_document,
    latency_arg,
    positive_int,
    postgres_line,
    progress,
    seconds_arg,
    warn_if_not_durable,
)

from dataworkflows.composition.engine import engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.engine.executor import EngineConfig
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.aio import run as run_loop
from dataworkflows.runtime.logging import configure_logging

WORKFLOW: Final = "bench-fanout"
MAX_CONCURRENCY: Final = 1000
"""The most a foreach step allows (``Step.concurrency``)."""


# The bench connector ----------------------------------------------------------------


class ItemsInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``bench.items``: the run's base number and how many items to return."""

    base: int
    count: int


class Item(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One item: its index and its value (``base + i``)."""

    i: int
    v: int


class ItemsOutput(msgspec.Struct, kw_only=True):
    """``bench.items``' answer."""

    items: list[Item]


class ItemResult(msgspec.Struct, kw_only=True):
    """``bench.item``'s answer: the item's index and twice its value."""

    i: int
    v: int


class SumInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``bench.sum``: the foreach step's outputs."""

    values: list[ItemResult]


class SumOutput(msgspec.Struct, kw_only=True):
    """``bench.sum``'s answer."""

    sum: int
    count: int


def expected_sum(base: int, items: int) -> int:
    """What ``bench.sum`` must answer for a run whose input is ``base``."""
    return 2 * (items * base + items * (items - 1) // 2)


@dataclass(slots=True)
class _RunCalls:
    base: int
    items: list[int]
    """Calls of ``bench.item`` per item index."""
    sums: list[tuple[int, int]] = field(default_factory=list)
    """(sum, count) of each ``bench.sum`` call."""
    misplaced: int = 0
    """``bench.item`` calls whose index is out of range or whose iteration differs."""
    active: int = 0
    max_active: int = 0


class FanoutLedger:
    """What the bench actions saw, per run; checked when the run ends."""

    def __init__(self, items: int) -> None:
        self._items = items
        self._runs: dict[str, _RunCalls] = {}
        self.item_calls = 0
        self.max_active = 0
        """The most ``bench.item`` calls of one run seen waiting at once."""
        self.unknown_calls = 0
        """Calls for a run ``bench.items`` was never called for (or called twice)."""

    def begin(self, run_id: str, base: int) -> None:
        if run_id in self._runs:
            self.unknown_calls += 1
        self._runs[run_id] = _RunCalls(base=base, items=[0] * self._items)

    def item(self, run_id: str, index: int, key: str | None) -> _RunCalls | None:
        self.item_calls += 1
        calls = self._runs.get(run_id)
        if calls is None:
            self.unknown_calls += 1
            return None
        # The engine's idempotency key is <run>:<step>:<iteration>.
        iteration = key.rsplit(":", 1)[-1] if key else ""
        if 0 <= index < self._items and iteration == str(index):
            calls.items[index] += 1
        else:
            calls.misplaced += 1
        return calls

    def total(self, run_id: str, value: int, count: int) -> None:
        calls = self._runs.get(run_id)
        if calls is None:
            self.unknown_calls += 1
            return
        calls.sums.append((value, count))

    def verify(self, run_id: str) -> tuple[float, bool]:
        """Whether the run called every item once and summed them right; forgotten after."""
        calls = self._runs.pop(run_id, None)
        if calls is None:
            return 0.0, False
        self.max_active = max(self.max_active, calls.max_active)
        right = (expected_sum(calls.base, self._items), self._items)
        ok = not calls.misplaced and all(n == 1 for n in calls.items) and calls.sums == [right]
        return 0.0, ok


def fanout_actions(latency: Latency, ledger: FanoutLedger, rng: random.Random) -> ActionSet:
    """The ``bench`` connector of W3: ``items``, ``item`` (simulated latency) and ``sum``."""
    bench = ActionSet("bench", description="W3 benchmark actions.")
    sample = latency.sampler(rng)

    @bench.action("items", effect="read", description="Returns `count` items base+i.")
    async def items(data: ItemsInput, call: ActionCall) -> ItemsOutput:
        if call.context is not None:
            ledger.begin(call.context.run_id, data.base)
        return ItemsOutput(items=[Item(i=i, v=data.base + i) for i in range(data.count)])

    @bench.action(
        "item", effect="read", description="Waits the simulated latency; returns twice v."
    )
    async def item(data: Item, call: ActionCall) -> ItemResult:
        calls = None
        if call.context is not None:
            calls = ledger.item(call.context.run_id, data.i, call.idempotency_key)
        seconds = sample()
        if seconds > 0:
            if calls is not None:
                calls.active += 1
                calls.max_active = max(calls.max_active, calls.active)
            try:
                await asyncio.sleep(seconds)
            finally:
                if calls is not None:
                    calls.active -= 1
        return ItemResult(i=data.i, v=2 * data.v)

    @bench.action("sum", effect="read", description="Adds up the values.")
    async def total(data: SumInput, call: ActionCall) -> SumOutput:
        value = sum(r.v for r in data.values)
        if call.context is not None:
            ledger.total(call.context.run_id, value, len(data.values))
        return SumOutput(sum=value, count=len(data.values))

    return bench


def fanout_definition(items: int, concurrency: int) -> dict[str, Any]:
    """``bench-fanout``: items, a foreach over them, and their sum."""
    return {
        "name": WORKFLOW,
        "description": f"W3 benchmark: {items} items, a foreach of {concurrency} at once, a sum.",
        "inputs": {"base": {"type": "integer"}},
        "steps": [
            {
                "id": "items",
                "uses": "bench.items",
                "with": {"base": "{{ inputs.base }}", "count": items},
            },
            {
                "id": "each",
                "uses": "bench.item",
                "foreach": "{{ steps.items.output.items }}",
                "concurrency": concurrency,
                "with": {"i": "{{ item.i }}", "v": "{{ item.v }}"},
            },
            {
                "id": "total",
                "uses": "bench.sum",
                "with": {"values": "{{ steps.each.output }}"},
            },
        ],
        "output": {
            "sum": "{{ steps.total.output.sum }}",
            "count": "{{ steps.total.output.count }}",
        },
    }


def _inputs(index: int) -> dict[str, Any]:
    return {"base": index}


# One measurement --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    """What to run."""

    items: int = 100
    concurrency: int = 10
    latency: Latency = field(default_factory=lambda: Latency(kind="zero"))
    in_flight: int = 100
    duration_s: float = 30.0
    warmup_s: float = 5.0
    pool: int = 15
    repeat: int = 1
    seed: int = 1
    drain_s: float = 30.0
    log_level: str = "warning"


@dataclass(slots=True)
class Result:
    """The figures of one measurement window."""

    window_s: float
    runs: int
    runs_per_s: float
    durable_steps: int
    steps_per_s: float
    """Step attempts recorded as succeeded: items, every foreach item, the foreach
    step's summary row, and total (items + 3 per run)."""
    item_calls_per_s: float
    """``bench.item`` calls per second (all of them, counted by the connector)."""
    e2e_p50_ms: float
    e2e_p95_ms: float
    e2e_p99_ms: float
    commits_per_step: float
    write_commits_per_step: float
    batches_per_step: float
    engine_cpu_s: float
    engine_cpu_us_per_step: float
    engine_rss_mib: float
    engine_max_rss_mib: float
    postgres_cpu_s: float | None
    postgres_cpu_us_per_step: float | None
    max_item_calls_at_once: int
    """The most ``bench.item`` calls of one run waiting at once (0 when L = 0)."""
    wrong_runs: int
    """Runs in the window with an item not called exactly once or a wrong sum."""
    unknown_calls: int
    driver_errors: int
    driver_timeouts: int
    db_succeeded: int = 0
    db_wrong_output: int = 0
    """Succeeded runs (all, from the database) whose output is not the expected sum."""
    db_wrong_items: int = 0
    """Succeeded runs whose ``each`` step has not exactly one attempt per item, succeeded."""
    run_statuses: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def summarize(
    loop: ClosedLoop,
    ledger: FanoutLedger,
    *,
    start: Reading,
    end: Reading,
    item_calls: int,
    batches: int,
    rss_mib: float,
) -> Result:
    """The figures of the window between ``start`` and ``end``."""
    window = end.at - start.at
    done = [c for c in loop.completions if start.at <= c.ended < end.at]
    steps = end.durable_steps - start.durable_steps
    e2e = [c.e2e_s * 1000 for c in done]
    engine_cpu = end.engine_cpu_s - start.engine_cpu_s
    pg_cpu = (
        end.postgres_cpu_s - start.postgres_cpu_s
        if end.postgres_cpu_s is not None and start.postgres_cpu_s is not None
        else None
    )
    return Result(
        window_s=window,
        runs=len(done),
        runs_per_s=len(done) / window,
        durable_steps=steps,
        steps_per_s=steps / window,
        item_calls_per_s=item_calls / window,
        e2e_p50_ms=percentile(e2e, 0.50),
        e2e_p95_ms=percentile(e2e, 0.95),
        e2e_p99_ms=percentile(e2e, 0.99),
        commits_per_step=_ratio(end.xact_commit - start.xact_commit, steps),
        write_commits_per_step=_ratio(end.next_xid - start.next_xid, steps),
        batches_per_step=_ratio(batches, steps),
        engine_cpu_s=engine_cpu,
        engine_cpu_us_per_step=_ratio(engine_cpu * 1e6, steps),
        engine_rss_mib=rss_mib,
        engine_max_rss_mib=max_rss_mib(),
        postgres_cpu_s=pg_cpu,
        postgres_cpu_us_per_step=None if pg_cpu is None else _ratio(pg_cpu * 1e6, steps),
        max_item_calls_at_once=ledger.max_active,
        wrong_runs=sum(1 for c in done if not c.complete),
        unknown_calls=ledger.unknown_calls,
        driver_errors=loop.errors,
        driver_timeouts=loop.timeouts,
        last_error=loop.last_error,
    )


_CHECK_SQL = """
WITH ok AS (SELECT id, inputs, output FROM dw.runs WHERE status = 'succeeded'),
items AS (
    SELECT a.run_id
    FROM dw.step_attempts a JOIN ok ON ok.id = a.run_id
    WHERE a.step_id = 'each' AND a.iteration >= 0
    GROUP BY a.run_id
    HAVING count(*) = %(items)s AND count(DISTINCT a.iteration) = %(items)s
       AND bool_and(a.status = 'succeeded')
)
SELECT (SELECT count(*) FROM ok),
       (SELECT count(*) FROM ok
        WHERE (output->>'sum')::bigint IS DISTINCT FROM
                  2 * (%(items)s * (inputs->>'base')::bigint + %(triangle)s)
           OR (output->>'count')::int IS DISTINCT FROM %(items)s),
       (SELECT count(*) FROM ok WHERE id NOT IN (SELECT run_id FROM items))
"""


async def measure(url: str, server: Server, opts: Options, index: int) -> Result:
    """Run the closed loop on the migrated database at ``url``; one window's figures."""
    ledger = FanoutLedger(opts.items)
    actions = fanout_actions(opts.latency, ledger, random.Random(opts.seed + index))
    settings = Settings(
        db_pool_max=opts.pool,
        log_level=opts.log_level,
        engine=EngineSettings(max_runs=opts.in_flight),
    )
    config = EngineConfig(max_runs=opts.in_flight, shutdown_grace_s=5.0)
    definition = fanout_definition(opts.items, opts.concurrency)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as meter_conn:
        meters = Meters(meter_conn, server)
        async with engine_parts(
            settings, database_url=url, config=config, extra_actions=[actions]
        ) as (parts, _):
            await parts.service.register(definition, source=yaml.safe_dump(definition))
            loop = ClosedLoop(
                parts, ledger.verify, in_flight=opts.in_flight, workflow=WORKFLOW, inputs=_inputs
            )
            journal = parts.executor.journal
            loop.start()
            progress(f"  warming up for {opts.warmup_s:g} s with {opts.in_flight} runs in flight")
            await asyncio.sleep(opts.warmup_s)
            calls_before, batches_before = ledger.item_calls, journal.batches
            start = await meters.read()
            progress(f"  measuring for {opts.duration_s:g} s")
            await asyncio.sleep(opts.duration_s)
            calls_after, batches_after = ledger.item_calls, journal.batches
            end = await meters.read()
            rss = current_rss_mib()
            progress("  draining the runs in flight")
            unfinished = await loop.stop(opts.drain_s)
            if unfinished:
                progress(f"  {unfinished} runs still running after {opts.drain_s:g} s")
        result = summarize(
            loop,
            ledger,
            start=start,
            end=end,
            item_calls=calls_after - calls_before,
            batches=batches_after - batches_before,
            rss_mib=rss,
        )
        progress("  checking every succeeded run in the database")
        cursor = await meter_conn.execute(
            _CHECK_SQL, {"items": opts.items, "triangle": opts.items * (opts.items - 1) // 2}
        )
        row = await cursor.fetchone()
        assert row is not None
        result.db_succeeded, result.db_wrong_output, result.db_wrong_items = (int(v) for v in row)
        cursor = await meter_conn.execute("SELECT status, count(*) FROM dw.runs GROUP BY status")
        result.run_statuses = {str(s): int(n) for s, n in await cursor.fetchall()}
    return result


# Reporting --------------------------------------------------------------------------


def _errors_cell(result: Any) -> str:
    return f"{result.driver_errors}/{result.driver_timeouts}"


def _db_cell(result: Any) -> str:
    return f"{result.db_wrong_output}/{result.db_wrong_items}"


ROWS: Final[tuple[Row, ...]] = (
    ("runs/s", "runs_per_s", "{:,.1f}"),
    ("durable steps/s", "steps_per_s", "{:,.0f}"),
    ("item calls/s", "item_calls_per_s", "{:,.0f}"),
    ("end-to-end p50 (ms)", "e2e_p50_ms", "{:,.1f}"),
    ("end-to-end p95 (ms)", "e2e_p95_ms", "{:,.1f}"),
    ("end-to-end p99 (ms)", "e2e_p99_ms", "{:,.1f}"),
    ("commits/step (all, reads incl.)", "commits_per_step", "{:.3f}"),
    ("xids/step (writes, savepoints)", "write_commits_per_step", "{:.3f}"),
    ("journal batches/step", "batches_per_step", "{:.3f}"),
    ("engine CPU (s in window)", "engine_cpu_s", "{:.1f}"),
    ("engine CPU per step (us)", "engine_cpu_us_per_step", "{:,.0f}"),
    ("engine RSS at window end (MiB)", "engine_rss_mib", "{:,.0f}"),
    ("engine max RSS (MiB)", "engine_max_rss_mib", "{:,.0f}"),
    ("PostgreSQL CPU (s in window)", "postgres_cpu_s", "{:.1f}"),
    ("PostgreSQL CPU per step (us)", "postgres_cpu_us_per_step", "{:,.0f}"),
    ("max item calls of a run at once", "max_item_calls_at_once", "{:,.0f}"),
    ("runs in window", "runs", "{:,.0f}"),
    ("wrong runs in window", "wrong_runs", "{:,.0f}"),
    ("calls for unknown runs", "unknown_calls", "{:,.0f}"),
    ("driver errors / timeouts", "driver_errors", _errors_cell),
    ("succeeded runs in the database", "db_succeeded", "{:,.0f}"),
    ("  wrong output / wrong items", "db_wrong_output", _db_cell),
)


def format_table(opts: Options, server: Server, results: Sequence[Result]) -> str:
    """The figures as a readable table, one column per run (plus the median)."""
    header = (
        f"W3: fan-out and join, {opts.items} items, foreach concurrency {opts.concurrency}, "
        f"item L = {opts.latency.label}, {opts.in_flight:,} runs in flight, window "
        f"{opts.duration_s:g} s after {opts.warmup_s:g} s warm-up, pool {opts.pool}"
    )
    lines = [header, postgres_line(server), "", *figure_lines(ROWS, results), ""]
    for i, r in enumerate(results, 1):
        statuses = ", ".join(f"{k}={v:,}" for k, v in sorted(r.run_statuses.items()))
        lines.append(f"run {i}: runs in the database at the end: {statuses}")
        if r.last_error:
            lines.append(f"run {i}: last driver error: {r.last_error}")
    lines.append(
        f"durable steps = succeeded step attempts: per run items, {opts.items} foreach items, "
        f"the foreach step's summary row and total ({opts.items + 3} per run)."
    )
    lines.append(
        "commits/step counts every committed transaction of the database (reads included); "
        "engine CPU is this whole process (engine and load driver)."
    )
    return "\n".join(lines)


# Command line -----------------------------------------------------------------------


def _concurrency(text: str) -> int:
    value = positive_int(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_CONCURRENCY}")
    return value


def main(argv: Sequence[str]) -> int:
    """Parse ``argv``, measure, print; the exit status."""
    p = argparse.ArgumentParser(
        prog="bench/w3.py", description="W3 of BENCHMARK.md: fan-out and join, closed loop."
    )
    p.add_argument("--items", type=positive_int, default=100, help="items per run")
    p.add_argument(
        "--concurrency", type=_concurrency, default=10, help="foreach concurrency (<= 1000)"
    )
    p.add_argument(
        "--latency",
        type=latency_arg,
        default=Latency(kind="zero"),
        help="simulated latency of each item call: 0, a duration (50ms) or lognormal; default 0",
    )
    p.add_argument("--in-flight", type=positive_int, default=100, help="runs kept in flight")
    p.add_argument("--duration", type=seconds_arg, default=30.0, help="measurement window, s")
    p.add_argument("--warmup", type=seconds_arg, default=5.0, help="warm-up before the window, s")
    p.add_argument("--pool", type=positive_int, default=15, help="engine DB pool size")
    p.add_argument(
        "--repeat", type=positive_int, default=1, help="measurements, each on a fresh database"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated latencies")
    p.add_argument("--drain", type=seconds_arg, default=30.0, help="max wait for runs at the end")
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = p.parse_args(argv)
    opts = Options(
        items=args.items,
        concurrency=args.concurrency,
        latency=args.latency,
        in_flight=args.in_flight,
        duration_s=args.duration,
        warmup_s=args.warmup,
        pool=args.pool,
        repeat=args.repeat,
        seed=args.seed,
        drain_s=args.drain,
        log_level=args.log_level,
    )
    configure_logging(level=opts.log_level, fmt="console", stream=sys.stderr)
    results: list[Result] = []
    with open_server() as server:
        warn_if_not_durable(server)
        for index in range(opts.repeat):
            progress(f"W3 measurement {index + 1}/{opts.repeat}")
            with fresh_database(server) as url:
                results.append(run_loop(measure(url, server, opts, index)))
    if args.json:
        options = {**asdict(opts), "latency": opts.latency.label}
        print(json_document("W3", options, server, results))
    else:
        print(format_table(opts, server, results))
    failed = any(
        not r.runs
        or r.wrong_runs
        or r.unknown_calls
        or r.driver_errors
        or r.driver_timeouts
        or r.db_wrong_output
        or r.db_wrong_items
        for r in results
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
