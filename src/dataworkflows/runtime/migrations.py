"""The migration runner: numbered SQL files applied in order, once, with checksums.

- Files are named ``NNNN_description.sql`` and applied in name order, each in its
  own transaction together with the row that records its name and checksum.
- An applied file that was edited afterwards stops the runner: the database would
  silently differ from what the file says. Changes go into a new file.
- Runners hold a session advisory lock, so two processes starting at the same moment
  apply each file exactly once; the second finds nothing left to do.
- A database that has migrations this code does not know (a newer release ran) is
  accepted: older processes keep running during a rolling deploy.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Final

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from dataworkflows.runtime.database import DatabaseUnavailable, connect
from dataworkflows.runtime.queries import load_queries

__all__ = [
    "AppliedMigration",
    "MigrationError",
    "MigrationFile",
    "MigrationStatus",
    "apply_migrations",
    "compare_migrations",
    "discover_migrations",
    "fetch_status_async",
    "migration_status",
    "prepare_database",
    "readiness_checks",
]

_Q: Final = load_queries("dataworkflows.runtime.sql", "runtime.sql")
_BOOTSTRAP: Final = (files("dataworkflows.runtime.sql") / "bootstrap.sql").read_bytes()
_NAME_RE: Final = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any constant works; this one is "dw-migr" in ASCII, to be recognisable in pg_locks.
ADVISORY_LOCK_KEY: Final = 0x64772D6D696772
LOCK_WAIT: Final = "60s"


class MigrationError(Exception):
    """Migrations cannot be applied; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class MigrationFile:
    """A numbered SQL file on disk."""

    name: str
    path: Path
    checksum: str

    def sql(self) -> bytes:
        """The file's SQL text."""
        return self.path.read_bytes()


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """A migration recorded as applied in ``dw.schema_migrations``."""

    name: str
    checksum: str
    applied_at: datetime
    duration_ms: int


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """How the database compares with the migration files."""

    applied: list[AppliedMigration] = field(default_factory=list)
    pending: list[MigrationFile] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    """Applied files whose content changed since."""
    unknown: list[str] = field(default_factory=list)
    """Applied migrations with no file here (a newer release applied them)."""

    @property
    def current(self) -> bool:
        """Whether every file is applied unchanged."""
        return not self.pending and not self.edited

    def problem(self) -> str | None:
        """Why the database is not current, in one line, or None."""
        if self.edited:
            return f"applied migration files were edited afterwards: {', '.join(self.edited)}"
        if self.pending:
            names = ", ".join(m.name for m in self.pending)
            return (
                f"{len(self.pending)} migration(s) pending: {names} (run `dataworkflows migrate`)"
            )
        return None


def discover_migrations(directory: Path) -> list[MigrationFile]:
    """The migration files in ``directory``, in the order they apply.

    Raises :class:`MigrationError` for a misnamed ``.sql`` file or a repeated number.
    """
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    found: list[MigrationFile] = []
    numbers: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME_RE.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: migration files must be named NNNN_lowercase_words.sql"
            )
        number = match.group(1)
        if number in numbers:
            raise MigrationError(f"{path.name} and {numbers[number]} share the number {number}")
        numbers[number] = path.name
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        found.append(MigrationFile(name=path.name, path=path, checksum=checksum))
    return found


def compare_migrations(
    migration_files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]
) -> MigrationStatus:
    """Compare files on disk with the migrations recorded in the database."""
    by_name = {m.name: m for m in applied}
    on_disk = {f.name for f in migration_files}
    return MigrationStatus(
        applied=list(applied),
        pending=[f for f in migration_files if f.name not in by_name],
        edited=[
            f.name
            for f in migration_files
            if f.name in by_name and by_name[f.name].checksum != f.checksum
        ],
        unknown=[m.name for m in applied if m.name not in on_disk],
    )


def _applied(conn: psycopg.Connection[tuple[object, ...]]) -> list[AppliedMigration]:
    row = conn.execute(_Q["tracking_exists"]).fetchone()
    if row is None or not row[0]:
        return []
    return [
        AppliedMigration(name=str(n), checksum=str(c), applied_at=a, duration_ms=int(d))  # type: ignore[arg-type,call-overload]
        for n, c, a, d in conn.execute(_Q["applied"]).fetchall()
    ]


def migration_status(url: str, directory: Path) -> MigrationStatus:
    """The status of the database at ``url`` against the files in ``directory``."""
    migration_files = discover_migrations(directory)
    with connect(url) as conn:
        return compare_migrations(migration_files, _applied(conn))


async def fetch_status_async(
    conn: psycopg.AsyncConnection[tuple[object, ...]], migration_files: Sequence[MigrationFile]
) -> MigrationStatus:
    """:func:`migration_status` on an open async connection (for readiness checks)."""
    row = await (await conn.execute(_Q["tracking_exists"])).fetchone()
    applied: list[AppliedMigration] = []
    if row is not None and row[0]:
        rows = await (await conn.execute(_Q["applied"])).fetchall()
        applied = [
            AppliedMigration(name=str(n), checksum=str(c), applied_at=a, duration_ms=int(d))  # type: ignore[arg-type,call-overload]
            for n, c, a, d in rows
        ]
    return compare_migrations(migration_files, applied)


def apply_migrations(
    url: str,
    directory: Path,
    *,
    on_applied: Callable[[MigrationFile, int], None] | None = None,
) -> list[MigrationFile]:
    """Apply every pending migration in ``directory`` to the database at ``url``.

    Returns the files applied now (empty when the database was current). Raises
    :class:`MigrationError` when an applied file was edited or a file fails; the
    failing file leaves nothing behind (its transaction rolls back).
    """
    migration_files = discover_migrations(directory)
    with connect(url) as conn:
        try:
            # Wait a bounded time for another runner, then say so instead of hanging.
            conn.execute(_Q["lock_wait"], {"timeout": LOCK_WAIT})
            conn.execute(_Q["lock"], {"key": ADVISORY_LOCK_KEY})
        except psycopg.errors.LockNotAvailable:
            raise MigrationError(
                "another process has held the migration lock for over "
                f"{LOCK_WAIT}; is a `dataworkflows migrate` stuck?"
            ) from None
        try:
            with conn.transaction():
                conn.execute(_BOOTSTRAP)
            status = compare_migrations(migration_files, _applied(conn))
            if status.edited:
                raise MigrationError(
                    f"{', '.join(status.edited)} changed after being applied to this database; "
                    "restore the applied version and put the change in a new migration file"
                )
            applied_now: list[MigrationFile] = []
            for migration in status.pending:
                started = time.perf_counter()
                try:
                    with conn.transaction():
                        conn.execute(migration.sql())
                        duration_ms = round((time.perf_counter() - started) * 1000)
                        conn.execute(
                            _Q["record"],
                            {
                                "name": migration.name,
                                "checksum": migration.checksum,
                                "duration_ms": duration_ms,
                            },
                        )
                except psycopg.Error as exc:
                    detail = " ".join(str(exc).split()) or type(exc).__name__
                    raise MigrationError(
                        f"{migration.name} failed and was rolled back: {detail}"
                    ) from None
                applied_now.append(migration)
                if on_applied is not None:
                    on_applied(migration, duration_ms)
            return applied_now
        finally:
            if not conn.closed:
                conn.execute(_Q["unlock"], {"key": ADVISORY_LOCK_KEY})


WAIT_FIRST_S: Final = 0.5
WAIT_MAX_S: Final = 5.0


def prepare_database(
    url: str,
    directory: Path,
    *,
    apply: bool,
    timeout_s: float,
    on_wait: Callable[[str], None] = lambda reason: None,
    until_reachable: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[MigrationFile]:
    """Wait until PostgreSQL answers, then make sure every migration is applied.

    With ``apply`` the pending files are applied here (returned); without it this
    waits until another process (``dataworkflows migrate``, a migration job) has
    applied them. Either way it tries for up to ``timeout_s`` seconds, calling
    ``on_wait`` with the reason whenever that changes, so that an engine started
    beside its database waits for it instead of crash-looping. ``until_reachable``
    stops the wait as soon as the database answers, whatever its migrations. Raises
    :class:`DatabaseUnavailable` or :class:`MigrationError` with the last reason when
    the time is up; an edited migration file is refused at once.
    """
    deadline = clock() + timeout_s
    delay = WAIT_FIRST_S
    said: str | None = None
    while True:
        try:
            if apply:
                return apply_migrations(url, directory)
            status = migration_status(url, directory)
            if until_reachable:
                return []
            if status.edited:
                raise MigrationError(str(status.problem()))
            if status.current:
                return []
            reason = f"waiting for migrations: {status.problem()}"
            failure: Exception = MigrationError(
                f"the database is not migrated after {timeout_s:g} s: {status.problem()}"
            )
        except DatabaseUnavailable as exc:
            reason = str(exc)
            failure = exc
        if clock() + delay > deadline:
            raise failure
        if reason != said:
            on_wait(reason)
            said = reason
        sleep(delay)
        delay = min(delay * 2, WAIT_MAX_S)


def readiness_checks(
    pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]],
    migration_files: Sequence[MigrationFile],
) -> dict[str, Callable[[], Awaitable[str | None]]]:
    """``/readyz`` checks: the database answers, and every migration file is applied."""

    async def database() -> str | None:
        try:
            async with pool.connection(timeout=2.0) as conn:
                await conn.execute(_Q["ping"])
        except (psycopg.Error, PoolTimeout) as exc:
            return f"unreachable ({type(exc).__name__})"
        return None

    async def migrations() -> str | None:
        try:
            async with pool.connection(timeout=2.0) as conn:
                status = await fetch_status_async(conn, migration_files)
        except (psycopg.Error, PoolTimeout) as exc:
            return f"cannot read the migration status ({type(exc).__name__})"
        return status.problem()

    return {"database": database, "migrations": migrations}
