"""Benchmark plumbing: a PostgreSQL server, fresh databases, and the meters.

Nothing here knows about workflows. :func:`open_server` gives a PostgreSQL server
(an embedded one in a temporary directory, or the one at ``DW_BENCH_DATABASE_URL``),
:func:`fresh_database` a migrated database on it that is dropped afterwards, and
:class:`Meters` the figures read at both ends of a measurement window: committed
transactions, transaction ids, durable steps, engine and PostgreSQL CPU.
"""

from __future__ import annotations

import math
import os
import resource
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil  # type: ignore[import-untyped]  # no stubs installed
import psycopg
from psycopg import sql

from dataworkflows.runtime.embedded import EmbeddedPostgres
from dataworkflows.runtime.migrations import apply_migrations
from dataworkflows.runtime.resources import bundled_dir

__all__ = [
    "BENCH_DATABASE_URL_ENV",
    "Meters",
    "Reading",
    "Server",
    "fresh_database",
    "open_server",
    "percentile",
]

BENCH_DATABASE_URL_ENV = "DW_BENCH_DATABASE_URL"
"""A PostgreSQL URL (a role allowed to CREATE DATABASE); unset: an embedded server."""


@dataclass(frozen=True, slots=True)
class Server:
    """A PostgreSQL server to benchmark against."""

    admin_url: str
    """A URL to a database on the server from which databases can be created."""
    kind: str
    """``embedded`` or ``external``."""
    version: str
    fsync: str
    synchronous_commit: str
    postmaster_pid: int | None
    """The postmaster's pid when it runs on this machine and can be found, else None."""


def _settings(url: str) -> tuple[str, str, str, str | None]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('fsync'), "
            "current_setting('synchronous_commit')"
        ).fetchone()
        assert row is not None
        try:
            data_dir = conn.execute("SHOW data_directory").fetchone()
        except psycopg.Error:  # needs superuser or pg_read_all_settings
            data_dir = None
    return str(row[0]), str(row[1]), str(row[2]), str(data_dir[0]) if data_dir else None


def _postmaster_pid(data_dir: Path | None) -> int | None:
    """The first line of ``postmaster.pid``, when the file is readable here."""
    if data_dir is None:
        return None
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        pid = int(first)
    except (OSError, ValueError, IndexError):
        return None
    return pid if psutil.pid_exists(pid) else None


@contextmanager
def open_server() -> Iterator[Server]:
    """The server at ``DW_BENCH_DATABASE_URL``, or an embedded one for as long as needed.

    The embedded server keeps PostgreSQL's defaults: ``fsync`` and
    ``synchronous_commit`` are on, so every commit waits for the disk.
    """
    external = os.environ.get(BENCH_DATABASE_URL_ENV, "").strip()
    if external:
        version, fsync, sync_commit, data_dir = _settings(external)
        yield Server(
            admin_url=external,
            kind="external",
            version=version,
            fsync=fsync,
            synchronous_commit=sync_commit,
            postmaster_pid=_postmaster_pid(Path(data_dir) if data_dir else None),
        )
        return
    with tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp:
        # platformdirs (imported by pgserver) warns when XDG_RUNTIME_DIR is unset.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = EmbeddedPostgres(Path(tmp) / "pgdata", database="postgres")
            server.start()
        try:
            admin = server.admin_url()
            version, fsync, sync_commit, _ = _settings(admin)
            yield Server(
                admin_url=admin,
                kind="embedded",
                version=version,
                fsync=fsync,
                synchronous_commit=sync_commit,
                postmaster_pid=_postmaster_pid(server.data_dir),
            )
        finally:
            server.stop()


def _with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (host, user and options kept)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def fresh_database(server: Server) -> Iterator[str]:
    """A new database on ``server`` with every migration applied; dropped afterwards."""
    name = f"dw_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = _with_database(server.admin_url, name)
        apply_migrations(url, bundled_dir("migrations"))
        yield url
    finally:
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Reading:
    """The meters at one moment."""

    at: float
    """``time.perf_counter()`` when read."""
    xact_commit: int
    """Committed transactions of the database (``pg_stat_database``), reads included."""
    next_xid: int
    """The next transaction id: the difference counts transactions that wrote."""
    durable_steps: int
    """Step attempts recorded as succeeded (committed rows)."""
    engine_cpu_s: float
    postgres_cpu_s: float | None


_READ_SQL = """
SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
       pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
       (SELECT count(*) FROM dw.step_attempts WHERE status = 'succeeded')
"""


class Meters:
    """Reads the figures of one benchmark database, its server and this process."""

    def __init__(self, conn: psycopg.AsyncConnection[tuple[object, ...]], server: Server) -> None:
        self._conn = conn
        self._postmaster = server.postmaster_pid

    async def read(self) -> Reading:
        """Every meter, now."""
        started = time.perf_counter()
        cursor = await self._conn.execute(_READ_SQL)
        row = await cursor.fetchone()
        assert row is not None
        xact_commit, next_xid, steps = (int(v) for v in row)  # type: ignore[call-overload]
        return Reading(
            at=(started + time.perf_counter()) / 2,
            xact_commit=xact_commit,
            next_xid=next_xid,
            durable_steps=steps,
            engine_cpu_s=engine_cpu_seconds(),
            postgres_cpu_s=postgres_cpu_seconds(self._postmaster),
        )


def engine_cpu_seconds() -> float:
    """User + system CPU seconds of this process (the engine and the load driver)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def max_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """This process's resident set size now, in MiB."""
    return float(psutil.Process().memory_info().rss) / (1024 * 1024)


def postgres_cpu_seconds(postmaster_pid: int | None) -> float | None:
    """CPU seconds of the postmaster, its live children and the children it reaped.

    A backend that exits between two readings is still counted: its time moves
    into the postmaster's ``children_*`` times when it is reaped.
    """
    if postmaster_pid is None:
        return None
    try:
        postmaster = psutil.Process(postmaster_pid)
        times = postmaster.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        children = postmaster.children()
    except psutil.Error:
        return None
    for child in children:
        try:
            child_times = child.cpu_times()
        except psutil.Error:
            continue  # exited meanwhile; counted once reaped
        total += child_times.user + child_times.system
    return float(total)
