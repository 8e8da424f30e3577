"""W1 and W2 of BENCHMARK.md: a chain of connector calls, in a closed loop.

The workflow is ``steps`` (10) sequential steps, each calling ``bench.step``: an
in-process action that waits a simulated latency (none, fixed, or lognormal) and
answers a ~1 KB object. Each step's input is ~1 KB too (the run's payload) and
carries a counter taken from the previous step's output. The engine is the real one
(:func:`~dataworkflows.composition.engine.engine_parts`) on a fresh, migrated database
with PostgreSQL's default durability (fsync and synchronous_commit on).

The load driver keeps ``in_flight`` runs going: each of ``in_flight`` tasks starts a
run with :meth:`WorkflowService.start_run`, waits for it with
:meth:`Executor.wait_for`, and starts the next. Figures are taken over a window
that opens after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal, Protocol

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

from dataworkflows.composition.engine import EngineParts, engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.engine.definitions import parse_duration
from dataworkflows.engine.executor import EngineConfig
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.aio import run as run_loop
from dataworkflows.runtime.logging import configure_logging

__all__ = ["Latency", "Options", "Result", "chain_definition", "main", "measure"]

WORKFLOW: Final = "bench-chain"
RUN_TIMEOUT_S: Final = 600.0
"""How long the driver waits for one run before counting it as timed out."""
_PAYLOAD_CHARS: Final = 1000
# Fixed pseudo-random text: as incompressible as real data, the same in every run.
_TEXT_RNG: Final = random.Random(20240601)
_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
INPUT_PAYLOAD: Final = "".join(_TEXT_RNG.choices(_ALPHABET, k=_PAYLOAD_CHARS))
OUTPUT_DATA: Final = "".join(_TEXT_RNG.choices(_ALPHABET, k=_PAYLOAD_CHARS))


# Simulated latency ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    """The latency ``bench.step`` simulates: none, a fixed one, or lognormal."""

    kind: Literal["zero", "fixed", "lognormal"]
    seconds: float = 0.0
    """The fixed latency, or the lognormal's median."""
    sigma: float = 0.0
    """The lognormal's sigma (of the underlying normal)."""

    @classmethod
    def parse(cls, text: str) -> Latency:
        """``0``, a duration (``50ms``, ``0.05``, ``1s``) or ``lognormal``.

        ``lognormal`` has median 100 ms and p99 1 s: sigma = ln(10) / z(0.99).
        """
        if text.strip().lower() == "lognormal":
            return cls(kind="lognormal", seconds=0.1, sigma=math.log(10) / 2.326)
        seconds = parse_duration(text.strip(), field="latency")
        return cls(kind="fixed", seconds=seconds) if seconds > 0 else cls(kind="zero")

    @property
    def spec(self) -> str:
        """The text :meth:`parse` turns back into this latency (for a child process)."""
        if self.kind == "zero":
            return "0"
        if self.kind == "fixed":
            return repr(self.seconds)
        return "lognormal"

    @property
    def label(self) -> str:
        """A short description for reports."""
        if self.kind == "zero":
            return "0"
        if self.kind == "fixed":
            return f"{self.seconds * 1000:g}ms"
        return f"lognormal(median {self.seconds * 1000:g}ms, p99 1s)"

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A function giving one latency in seconds per call."""
        if self.kind == "lognormal":
            mu, sigma = math.log(self.seconds), self.sigma
            return lambda: rng.lognormvariate(mu, sigma)
        seconds = self.seconds
        return lambda: seconds


# The bench connector ----------------------------------------------------------------


class StepInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``bench.step``'s input: ~1 KB of payload and a counter."""

    payload: str
    n: int
    step: int


class StepOutput(msgspec.Struct, kw_only=True):
    """``bench.step``'s output: the counter plus one, and ~1 KB of data."""

    n: int
    step: int
    data: str


class CallLedger:
    """Per run: the simulated latency ``bench.step`` waited in total, and its calls."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[float, int]] = {}

    def add(self, run_id: str, seconds: float) -> None:
        """Count one call of run ``run_id`` that waits ``seconds``."""
        total, calls = self._runs.get(run_id, (0.0, 0))
        self._runs[run_id] = (total + seconds, calls + 1)

    def pop(self, run_id: str) -> tuple[float, int]:
        """(simulated seconds, calls) of a finished run, forgotten afterwards."""
        return self._runs.pop(run_id, (0.0, 0))

    def snapshot(self) -> dict[str, tuple[float, int]]:
        """(simulated seconds, calls) of every run seen so far."""
        return dict(self._runs)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Sleep:
    """``asyncio.sleep`` on a loop found once.

    ``asyncio.sleep`` looks up the running loop on every call, and on Python 3.11 that
    is a ``getpid`` system call: about 5% of the engine process's CPU at W1 with 1,000
    in flight, charged to the engine although it is the simulated connector's.
    """

    __slots__ = ("_loop",)

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, seconds: float) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        future = self._loop.create_future()
        handle = self._loop.call_later(seconds, _wake, future)
        try:
            await future
        finally:
            handle.cancel()


def bench_actions(latency: Latency, ledger: CallLedger, rng: random.Random) -> ActionSet:
    """The ``bench`` connector: ``bench.step`` waits a simulated latency, then answers."""
    bench = ActionSet("bench", description="Benchmark actions with simulated latency.")
    sample = latency.sampler(rng)
    sleep = _Sleep()

    @bench.action(
        "step",
        effect="read",
        description="Waits the simulated latency, then returns the counter plus one.",
    )
    async def step(data: StepInput, call: ActionCall) -> StepOutput:
        seconds = sample()
        if call.context is not None:
            ledger.add(call.context.run_id, seconds)
        if seconds > 0:
            await sleep(seconds)
        return StepOutput(n=data.n + 1, step=data.step, data=OUTPUT_DATA)

    return bench


def _counter_of(step: int) -> str:
    """The expression reading the counter step ``s<step>`` returned."""
    return "{{ steps.s" + str(step) + ".output.n }}"


def chain_definition(steps: int = 10) -> dict[str, Any]:
    """A workflow of ``steps`` sequential ``bench.step`` calls, each fed by the last."""
    chain: list[dict[str, Any]] = []
    for k in range(1, steps + 1):
        counter = "{{ inputs.n }}" if k == 1 else _counter_of(k - 1)
        chain.append(
            {
                "id": f"s{k}",
                "uses": "bench.step",
                "with": {"payload": "{{ inputs.payload }}", "n": counter, "step": k},
            }
        )
    return {
        "name": WORKFLOW,
        "description": f"W1/W2 benchmark: {steps} sequential connector calls.",
        "inputs": {"payload": {"type": "string"}, "n": {"type": "integer", "default": 0}},
        "steps": chain,
        "output": {"n": _counter_of(steps)},
    }


# The closed loop --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Completion:
    """One run as the driver saw it."""

    run_id: str
    ended: float
    """``time.perf_counter()`` when the driver learnt the run had ended."""
    e2e_s: float
    """From calling ``start_run`` to the end of the run."""
    simulated_s: float
    """The latency ``bench.step`` simulated for this run, summed over its steps."""
    complete: bool
    """Whether every step was called exactly once (no failure, no retry)."""


Verifier = Callable[[str], tuple[float, bool]]
"""Given a run's id once it ended: (simulated latency summed, whether it ran correctly)."""


def chain_inputs(index: int) -> dict[str, Any]:
    """The inputs of the runs driver ``index`` starts (W1, W2, W5)."""
    return {"payload": INPUT_PAYLOAD, "n": index}


def ledger_verifier(ledger: CallLedger, steps: int) -> Verifier:
    """A run is complete when ``bench.step`` was called exactly ``steps`` times for it."""

    def verify(run_id: str) -> tuple[float, bool]:
        simulated, calls = ledger.pop(run_id)
        return simulated, calls == steps

    return verify


class ClosedLoop:
    """``in_flight`` tasks, each starting a run as soon as its previous one ends."""

    def __init__(
        self,
        parts: EngineParts,
        verify: Verifier,
        *,
        in_flight: int,
        workflow: str = WORKFLOW,
        inputs: Callable[[int], dict[str, Any]] = chain_inputs,
    ) -> None:
        self._service = parts.service
        self._executor = parts.executor
        self._verify = verify
        self._in_flight = in_flight
        self._workflow = workflow
        self._inputs = inputs
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.completions: list[Completion] = []
        self.errors = 0
        self.timeouts = 0
        self.last_error: str | None = None

    def start(self) -> None:
        """Start the tasks."""
        self._tasks = [
            asyncio.create_task(self._driver(i), name=f"bench-driver-{i}")
            for i in range(self._in_flight)
        ]

    async def stop(self, drain_s: float) -> int:
        """Start no more runs; wait up to ``drain_s`` for those in flight; how many did not end."""
        self._stopping = True
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(self._tasks, timeout=drain_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return len(pending)

    async def _driver(self, index: int) -> None:
        inputs = self._inputs(index)
        while not self._stopping:
            started = time.perf_counter()
            try:
                run, _ = await self._service.start_run(
                    self._workflow, inputs=inputs, idempotency_key=None, trigger={"source": "bench"}
                )
                if not await self._executor.wait_for(run.id, RUN_TIMEOUT_S):
                    # Not executed here (queued for a claim) or slower than the timeout.
                    run = await self._service.wait(run, RUN_TIMEOUT_S)
                    if not run.finished:
                        self.timeouts += 1
                        continue
            except Exception as exc:  # keep the load going; the report shows the count
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.1)
                continue
            ended = time.perf_counter()
            run_id = str(run.id)
            simulated, complete = self._verify(run_id)
            self.completions.append(
                Completion(
                    run_id=run_id,
                    ended=ended,
                    e2e_s=ended - started,
                    simulated_s=simulated,
                    complete=complete,
                )
            )


# One measurement --------------------------------------------------------------------


class RemoteBench(Protocol):
    """The ``bench`` connector served by another process (W5), as the engine reaches it."""

    @property
    def url(self) -> str:
        """The connector's base URL (``DW_CONNECTOR_URLS`` would name it)."""
        ...

    @property
    def token(self) -> str:
        """The service token it accepts."""
        ...

    @property
    def label(self) -> str:
        """How it is reached, for the report."""
        ...

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds of the connector process so far."""
        ...

    def rss_mib(self) -> float | None:
        """The connector process's resident set size now, in MiB."""
        ...

    async def ledger(self) -> dict[str, tuple[float, int]]:
        """(simulated seconds, calls) of ``bench.step`` for every run it served."""
        ...


RemoteFactory = Callable[["Options", int], AbstractContextManager[RemoteBench]]
"""Starts the connector process of measurement ``index``; stops it on exit."""


@dataclass(frozen=True, slots=True)
class Options:
    """What to run."""

    workload: str
    latency: Latency
    in_flight: int = 1000
    duration_s: float = 30.0
    warmup_s: float = 5.0
    pool: int = 15
    steps: int = 10
    repeat: int = 1
    seed: int = 1
    drain_s: float = 30.0
    log_level: str = "warning"
    analyze: bool = False
    """Run ANALYZE after the warm-up (a diagnostic: it shows what planner statistics change)."""
    connector: str = "in-process"
    """How the ``bench`` connector is reached (``in-process``, or W5's HTTP description)."""


@dataclass(slots=True)
class Result:
    """The figures of one measurement window."""

    window_s: float
    runs: int
    runs_per_s: float
    durable_steps: int
    steps_per_s: float
    e2e_p50_ms: float
    e2e_p95_ms: float
    e2e_p99_ms: float
    overhead_p50_ms: float
    overhead_p99_ms: float
    commits_per_step: float
    """Committed transactions of the database (pg_stat_database.xact_commit, reads too)."""
    write_commits_per_step: float
    """Transactions that were given a transaction id, i.e. wrote (and flushed WAL)."""
    batches_per_step: float
    engine_cpu_s: float
    engine_cpu_us_per_step: float
    engine_rss_mib: float
    engine_max_rss_mib: float
    postgres_cpu_s: float | None
    postgres_cpu_us_per_step: float | None
    incomplete_runs: int
    """Runs in the window that did not call every step exactly once."""
    driver_errors: int
    driver_timeouts: int
    run_statuses: dict[str, int] = field(default_factory=dict)
    """Final status of every run in the database once the engine stopped."""
    last_error: str | None = None
    connector_cpu_s: float | None = None
    """CPU of the connector process in the window (W5 only)."""
    connector_cpu_us_per_step: float | None = None
    connector_rss_mib: float | None = None
    """RSS of the connector process at the window's end (W5 only)."""


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def _delta(end: float | None, start: float | None) -> float | None:
    return end - start if end is not None and start is not None else None


def summarize(
    opts: Options,
    loop: ClosedLoop,
    *,
    start: Reading,
    end: Reading,
    batches: int,
    rss_mib: float,
) -> Result:
    """The figures of the window between ``start`` and ``end``."""
    window = end.at - start.at
    done = [c for c in loop.completions if start.at <= c.ended < end.at]
    steps = end.durable_steps - start.durable_steps
    e2e = [c.e2e_s * 1000 for c in done]
    overhead = [(c.e2e_s - c.simulated_s) * 1000 / opts.steps for c in done]
    engine_cpu = end.engine_cpu_s - start.engine_cpu_s
    pg_cpu = _delta(end.postgres_cpu_s, start.postgres_cpu_s)
    return Result(
        window_s=window,
        runs=len(done),
        runs_per_s=len(done) / window,
        durable_steps=steps,
        steps_per_s=steps / window,
        e2e_p50_ms=percentile(e2e, 0.50),
        e2e_p95_ms=percentile(e2e, 0.95),
        e2e_p99_ms=percentile(e2e, 0.99),
        overhead_p50_ms=percentile(overhead, 0.50),
        overhead_p99_ms=percentile(overhead, 0.99),
        commits_per_step=_ratio(end.xact_commit - start.xact_commit, steps),
        write_commits_per_step=_ratio(end.next_xid - start.next_xid, steps),
        batches_per_step=_ratio(batches, steps),
        engine_cpu_s=engine_cpu,
        engine_cpu_us_per_step=_ratio(engine_cpu * 1e6, steps),
        engine_rss_mib=rss_mib,
        engine_max_rss_mib=max_rss_mib(),
        postgres_cpu_s=pg_cpu,
        postgres_cpu_us_per_step=None if pg_cpu is None else _ratio(pg_cpu * 1e6, steps),
        incomplete_runs=sum(1 for c in done if not c.complete),
        driver_errors=loop.errors,
        driver_timeouts=loop.timeouts,
        last_error=loop.last_error,
    )


def progress(message: str) -> None:
    """A progress line on stderr (the figures go to stdout)."""
    print(message, file=sys.stderr, flush=True)


def _unverified(run_id: str) -> tuple[float, bool]:
    # W5: the calls are counted by the connector process; checked after the drain.
    return float("nan"), False


async def measure(
    url: str, server: Server, opts: Options, index: int, remote: RemoteBench | None = None
) -> Result:
    """Run the closed loop on the migrated database at ``url``; one window's figures.

    ``remote``: the ``bench`` connector runs in that process, reached over HTTP;
    otherwise in this one.
    """
    extra_actions: list[ActionSet] = []
    verify: Verifier = _unverified
    connector_urls: dict[str, str] = {}
    token: str | None = None
    if remote is None:
        ledger = CallLedger()
        extra_actions.append(bench_actions(opts.latency, ledger, random.Random(opts.seed + index)))
        verify = ledger_verifier(ledger, opts.steps)
    else:
        connector_urls, token = {"bench": remote.url}, remote.token
    settings = Settings(
        db_pool_max=opts.pool,
        log_level=opts.log_level,
        engine=EngineSettings(max_runs=opts.in_flight),
        connector_urls=connector_urls,
        service_token=token,
    )
    # max_runs >= in_flight: every run the driver starts is executed here at once.
    config = EngineConfig(max_runs=opts.in_flight, shutdown_grace_s=5.0)
    definition = chain_definition(opts.steps)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as meter_conn:
        meters = Meters(meter_conn, server)
        async with engine_parts(
            settings, database_url=url, config=config, extra_actions=extra_actions
        ) as (parts, _):
            await parts.service.register(definition, source=yaml.safe_dump(definition))
            loop = ClosedLoop(parts, verify, in_flight=opts.in_flight)
            journal = parts.executor.journal
            loop.start()
            progress(f"  warming up for {opts.warmup_s:g} s with {opts.in_flight} runs in flight")
            await asyncio.sleep(opts.warmup_s)
            if opts.analyze:
                await meter_conn.execute("ANALYZE")
            connector_cpu_start = remote.cpu_seconds() if remote is not None else None
            batches_before, start = journal.batches, await meters.read()
            progress(f"  measuring for {opts.duration_s:g} s")
            await asyncio.sleep(opts.duration_s)
            batches_after, end = journal.batches, await meters.read()
            connector_cpu_end = remote.cpu_seconds() if remote is not None else None
            connector_rss = remote.rss_mib() if remote is not None else None
            rss = current_rss_mib()
            progress("  draining the runs in flight")
            unfinished = await loop.stop(opts.drain_s)
            if unfinished:
                progress(f"  {unfinished} runs still running after {opts.drain_s:g} s")
        if remote is not None:
            calls = await remote.ledger()
            loop.completions = [
                replace(
                    c,
                    simulated_s=calls.get(c.run_id, (0.0, 0))[0],
                    complete=calls.get(c.run_id, (0.0, 0))[1] == opts.steps,
                )
                for c in loop.completions
            ]
        result = summarize(
            opts,
            loop,
            start=start,
            end=end,
            batches=batches_after - batches_before,
            rss_mib=rss,
        )
        if remote is not None:
            connector_cpu = _delta(connector_cpu_end, connector_cpu_start)
            result.connector_cpu_s = connector_cpu
            result.connector_cpu_us_per_step = (
                None if connector_cpu is None else _ratio(connector_cpu * 1e6, result.durable_steps)
            )
            result.connector_rss_mib = connector_rss
        cursor = await meter_conn.execute("SELECT status, count(*) FROM dw.runs GROUP BY status")
        result.run_statuses = {str(s): int(n) for s, n in await cursor.fetchall()}
    return result


# Reporting --------------------------------------------------------------------------

Row = tuple[str, str, str | Callable[[Any], str]]
"""(label, attribute, format): a ``str.format`` pattern, or a function of the whole
result (its median cell is left empty)."""


def _errors_cell(result: Any) -> str:
    return f"{result.driver_errors}/{result.driver_timeouts}"


_ROWS: Final[tuple[Row, ...]] = (
    ("runs/s", "runs_per_s", "{:,.1f}"),
    ("durable steps/s", "steps_per_s", "{:,.0f}"),
    ("end-to-end p50 (ms)", "e2e_p50_ms", "{:,.1f}"),
    ("end-to-end p95 (ms)", "e2e_p95_ms", "{:,.1f}"),
    ("end-to-end p99 (ms)", "e2e_p99_ms", "{:,.1f}"),
    ("overhead/step p50 (ms)", "overhead_p50_ms", "{:,.2f}"),
    ("overhead/step p99 (ms)", "overhead_p99_ms", "{:,.2f}"),
    ("commits/step (all, reads incl.)", "commits_per_step", "{:.3f}"),
    ("xids/step (writes, savepoints)", "write_commits_per_step", "{:.3f}"),
    ("journal batches/step", "batches_per_step", "{:.3f}"),
    ("engine CPU (s in window)", "engine_cpu_s", "{:.1f}"),
    ("engine CPU per step (us)", "engine_cpu_us_per_step", "{:,.0f}"),
    ("engine RSS at window end (MiB)", "engine_rss_mib", "{:,.0f}"),
    ("engine max RSS (MiB)", "engine_max_rss_mib", "{:,.0f}"),
    ("PostgreSQL CPU (s in window)", "postgres_cpu_s", "{:.1f}"),
    ("PostgreSQL CPU per step (us)", "postgres_cpu_us_per_step", "{:,.0f}"),
    ("connector process CPU (s in window)", "connector_cpu_s", "{:.1f}"),
    ("connector process CPU per step (us)", "connector_cpu_us_per_step", "{:,.0f}"),
    ("connector process RSS (MiB)", "connector_rss_mib", "{:,.0f}"),
    ("runs in window", "runs", "{:,.0f}"),
    ("incomplete runs in window", "incomplete_runs", "{:,.0f}"),
    ("driver errors / timeouts", "driver_errors", _errors_cell),
)
_REMOTE_ONLY: Final = frozenset(
    {"connector_cpu_s", "connector_cpu_us_per_step", "connector_rss_mib"}
)


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return fmt.format(value)


def medians(results: Sequence[Any]) -> dict[str, float | None]:
    """The median of every numeric figure over ``results`` (dataclasses of one kind)."""
    out: dict[str, float | None] = {}
    for key, value in asdict(results[0]).items():
        if isinstance(value, int | float | None) and not isinstance(value, bool):
            values = [getattr(r, key) for r in results if getattr(r, key) is not None]
            numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            out[key] = statistics.median(numeric) if numeric else None
    return out


def figure_lines(rows: Sequence[Row], results: Sequence[Any]) -> list[str]:
    """The figures of ``results`` (one column each, plus the median of several)."""
    columns = [f"run {i + 1}" for i in range(len(results))]
    med = medians(results) if len(results) > 1 else None
    if med is not None:
        columns.append("median")
    width = max(len(label) for label, _, _ in rows) + 2
    lines = [" " * width + "".join(f"{c:>12}" for c in columns)]
    for label, key, fmt in rows:
        if isinstance(fmt, str):
            cells = [_cell(getattr(r, key), fmt) for r in results]
            if med is not None:
                cells.append(_cell(med.get(key), fmt))
        else:
            cells = [fmt(r) for r in results]
            if med is not None:
                cells.append("")
        lines.append(f"{label:<{width}}" + "".join(f"{c:>12}" for c in cells))
    return lines


def postgres_line(server: Server) -> str:
    """The report's line about the PostgreSQL server and its durability settings."""
    return (
        f"PostgreSQL {server.version} ({server.kind}), fsync={server.fsync}, "
        f"synchronous_commit={server.synchronous_commit}"
    )


def format_table(opts: Options, server: Server, results: Sequence[Result]) -> str:
    """The figures as a readable table, one column per run (plus the median)."""
    header = (
        f"{opts.workload}: {opts.steps} sequential steps, L = {opts.latency.label}, "
        f"{opts.in_flight:,} runs in flight, window {opts.duration_s:g} s after "
        f"{opts.warmup_s:g} s warm-up, pool {opts.pool}"
        + (", ANALYZE after warm-up" if opts.analyze else "")
    )
    remote = opts.connector != "in-process"
    rows = [row for row in _ROWS if remote or row[1] not in _REMOTE_ONLY]
    lines = [header]
    if remote:
        lines.append(f"bench connector: {opts.connector}")
    lines += [postgres_line(server), "", *figure_lines(rows, results), ""]
    for i, r in enumerate(results, 1):
        statuses = ", ".join(f"{k}={v:,}" for k, v in sorted(r.run_statuses.items()))
        lines.append(f"run {i}: runs in the database at the end: {statuses}")
        if r.last_error:
            lines.append(f"run {i}: last driver error: {r.last_error}")
    lines.append(
        "commits/step counts every committed transaction of the database "
        "(pg_stat_database.xact_commit, read-only ones included; backends report "
        "it up to ~1 s late); xids/step counts transaction ids: one per transaction "
        "that wrote, and one more per journal batch of step attempts (its savepoint, "
        "migration 0015)."
    )
    lines.append(
        "engine CPU is this whole process (engine and load driver); overhead/step is "
        "(end-to-end - simulated latency) / steps."
    )
    if remote:
        lines.append("targets (BENCHMARK.md): W5 >= 2,000 durable steps/s (connectors over HTTP).")
    else:
        lines.append(
            "targets (BENCHMARK.md): W2 >= 5,000 durable steps/s and <= 0.2 commits/step; "
            "W1 at 1,000 in flight, L = 50ms: overhead/step p50 <= 2 ms, p99 <= 20 ms."
        )
    return "\n".join(lines)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def json_document(
    workload: str, options: dict[str, Any], server: Server, results: Sequence[Any]
) -> str:
    """Every figure of ``results`` (dataclasses) and their medians as JSON."""
    document = {
        "workload": workload,
        "options": options,
        "postgres": {k: v for k, v in asdict(server).items() if k != "admin_url"},
        "runs": [_clean(asdict(r)) for r in results],
        "median": _clean(medians(results)),
    }
    return json.dumps(document, indent=2)


def to_json(opts: Options, server: Server, results: Sequence[Result]) -> str:
    """Every figure as JSON."""
    options = {**asdict(opts), "latency": opts.latency.label}
    return json_document(opts.workload, options, server, results)


# Command line -----------------------------------------------------------------------


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def seconds_arg(text: str) -> float:
    """An argparse type: a duration (``30``, ``500ms``, ``2m``) in seconds."""
    try:
        return parse_duration(text, field="duration")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def latency_arg(text: str) -> Latency:
    """An argparse type: a :class:`Latency`."""
    try:
        return Latency.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser(
    workload: str, *, with_latency: bool, default_latency: str = "50ms", description: str = ""
) -> argparse.ArgumentParser:
    """The command line of ``bench/w1.py`` (``with_latency``), ``w2.py`` and ``w5.py``."""
    p = argparse.ArgumentParser(
        prog=f"bench/{workload.lower()}.py",
        description=description
        or f"{workload} of BENCHMARK.md: a chain of connector calls in a closed loop.",
    )
    if with_latency:
        p.add_argument(
            "--latency",
            type=latency_arg,
            default=Latency.parse(default_latency),
            help="simulated connector latency: 0, a duration (50ms), or lognormal "
            f"(median 100 ms, p99 1 s); default {default_latency}",
        )
    p.add_argument("--in-flight", type=positive_int, default=1000, help="runs kept in flight")
    p.add_argument("--duration", type=seconds_arg, default=30.0, help="measurement window, s")
    p.add_argument("--warmup", type=seconds_arg, default=5.0, help="warm-up before the window, s")
    p.add_argument("--pool", type=positive_int, default=15, help="engine DB pool size")
    p.add_argument("--steps", type=positive_int, default=10, help="steps per workflow")
    p.add_argument(
        "--repeat", type=positive_int, default=1, help="measurements, each on a fresh database"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated latencies")
    p.add_argument("--drain", type=seconds_arg, default=30.0, help="max wait for runs at the end")
    p.add_argument(
        "--log-level",
        default="warning",
        choices=("debug", "info", "warning", "error"),
        help="engine log level (info logs every run; default warning)",
    )
    p.add_argument(
        "--analyze",
        action="store_true",
        help="diagnostic: run ANALYZE once the warm-up ends (the engine never does)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    return p


def warn_if_not_durable(server: Server) -> None:
    """Say so on stderr when the server does not wait for the disk on commit."""
    if server.fsync != "on" or server.synchronous_commit != "on":
        progress(
            f"WARNING: fsync={server.fsync}, synchronous_commit={server.synchronous_commit}: "
            "figures are not comparable with BENCHMARK.md"
        )


def options_from(args: argparse.Namespace, *, workload: str, latency: Latency) -> Options:
    """The :class:`Options` of parsed arguments of :func:`parser`."""
    return Options(
        workload=workload,
        latency=latency,
        in_flight=args.in_flight,
        duration_s=args.duration,
        warmup_s=args.warmup,
        pool=args.pool,
        steps=args.steps,
        repeat=args.repeat,
        seed=args.seed,
        drain_s=args.drain,
        log_level=args.log_level,
        analyze=args.analyze,
    )


def run_measurements(
    opts: Options, *, json_output: bool, remote: RemoteFactory | None = None
) -> int:
    """Measure ``opts.repeat`` times, print the figures; the exit status."""
    configure_logging(level=opts.log_level, fmt="console", stream=sys.stderr)
    results: list[Result] = []
    with open_server() as server:
        warn_if_not_durable(server)
        for index in range(opts.repeat):
            progress(f"{opts.workload} measurement {index + 1}/{opts.repeat}")
            with fresh_database(server) as url:
                if remote is None:
                    results.append(run_loop(measure(url, server, opts, index)))
                else:
                    with remote(opts, index) as connector:
                        results.append(run_loop(measure(url, server, opts, index, connector)))
    print(to_json(opts, server, results) if json_output else format_table(opts, server, results))
    failed = any(
        not r.runs or r.incomplete_runs or r.driver_errors or r.driver_timeouts for r in results
    )
    return 1 if failed else 0


def main(argv: Sequence[str], *, workload: str, latency: Latency | None = None) -> int:
    """Parse ``argv``, measure, print; the exit status.

    ``latency`` fixes the simulated latency (W2); otherwise ``--latency`` picks it.
    """
    args = parser(workload, with_latency=latency is None).parse_args(argv)
    opts = options_from(
        args, workload=workload, latency=latency if latency is not None else args.latency
    )
    return run_measurements(opts, json_output=args.json)
