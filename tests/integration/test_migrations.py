"""The migration runner against a real PostgreSQL server."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from dataworkflows.runtime.database import DatabaseUnavailable
from dataworkflows.runtime.migrations import (
    MigrationError,
    apply_migrations,
    discover_migrations,
    migration_status,
    prepare_database,
)
from tests.support.net import free_port


def write(directory: Path, name: str, sql: str) -> None:
    (directory / name).write_text(sql)


@pytest.fixture
def scratch_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    write(directory, "0002_add_column.sql", "ALTER TABLE dw.things ADD COLUMN size integer;")
    write(directory, "0001_create_table.sql", "CREATE TABLE dw.things (id integer PRIMARY KEY);")
    return directory


def table_columns(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'dw' AND table_name = 'things' ORDER BY ordinal_position"
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_applies_files_in_name_order(empty_database_url: str, scratch_dir: Path) -> None:
    """Files apply by number, whatever order the directory lists them in."""
    applied = apply_migrations(empty_database_url, scratch_dir)
    assert [m.name for m in applied] == ["0001_create_table.sql", "0002_add_column.sql"]
    assert table_columns(empty_database_url) == ["id", "size"]


def test_second_run_is_a_no_op(empty_database_url: str, scratch_dir: Path) -> None:
    """Running again applies nothing and changes nothing."""
    apply_migrations(empty_database_url, scratch_dir)
    assert apply_migrations(empty_database_url, scratch_dir) == []
    status = migration_status(empty_database_url, scratch_dir)
    assert status.current
    assert [m.name for m in status.applied] == ["0001_create_table.sql", "0002_add_column.sql"]


def test_status_lists_pending_then_applied(empty_database_url: str, scratch_dir: Path) -> None:
    """--status reports files not yet applied, and records checksums once applied."""
    before = migration_status(empty_database_url, scratch_dir)
    assert [m.name for m in before.pending] == ["0001_create_table.sql", "0002_add_column.sql"]
    assert before.problem() is not None
    apply_migrations(empty_database_url, scratch_dir)
    after = migration_status(empty_database_url, scratch_dir)
    checksums = {m.name: m.checksum for m in discover_migrations(scratch_dir)}
    assert {m.name: m.checksum for m in after.applied} == checksums
    assert after.problem() is None


def test_edited_applied_file_is_refused(empty_database_url: str, scratch_dir: Path) -> None:
    """Changing a file after it was applied stops the runner with a clear error."""
    apply_migrations(empty_database_url, scratch_dir)
    write(scratch_dir, "0001_create_table.sql", "CREATE TABLE dw.things (id bigint PRIMARY KEY);")
    write(scratch_dir, "0003_more.sql", "ALTER TABLE dw.things ADD COLUMN colour text;")
    with pytest.raises(MigrationError, match=r"0001_create_table\.sql changed after being applied"):
        apply_migrations(empty_database_url, scratch_dir)
    # Nothing after the refusal was applied either.
    assert table_columns(empty_database_url) == ["id", "size"]
    assert migration_status(empty_database_url, scratch_dir).edited == ["0001_create_table.sql"]


def test_failing_file_leaves_nothing_behind(empty_database_url: str, scratch_dir: Path) -> None:
    """A file that fails halfway is rolled back whole and not recorded."""
    write(
        scratch_dir,
        "0003_broken.sql",
        "ALTER TABLE dw.things ADD COLUMN colour text; SELECT no_such_function();",
    )
    with pytest.raises(MigrationError, match=r"0003_broken\.sql failed and was rolled back"):
        apply_migrations(empty_database_url, scratch_dir)
    assert table_columns(empty_database_url) == ["id", "size"]
    status = migration_status(empty_database_url, scratch_dir)
    assert [m.name for m in status.pending] == ["0003_broken.sql"]


def test_misnamed_and_duplicate_files_are_refused(tmp_path: Path) -> None:
    """Only NNNN_words.sql files, each number once."""
    (tmp_path / "1_bad.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_lowercase_words\.sql"):
        discover_migrations(tmp_path)
    (tmp_path / "1_bad.sql").unlink()
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share the number 0001"):
        discover_migrations(tmp_path)


def test_concurrent_runners_apply_each_file_once(empty_database_url: str, tmp_path: Path) -> None:
    """Two runners started together both succeed, and every file runs exactly once."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    # Not idempotent on purpose: a second execution would fail on the INSERT's key
    # and pg_sleep widens the window in which the runners overlap.
    write(
        directory,
        "0001_slow.sql",
        "CREATE TABLE dw.counter (n integer PRIMARY KEY); "
        "SELECT pg_sleep(0.3); INSERT INTO dw.counter VALUES (1);",
    )
    results: list[object] = []
    barrier = threading.Barrier(2)

    def runner() -> None:
        barrier.wait()
        try:
            results.append([m.name for m in apply_migrations(empty_database_url, directory)])
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=len) == [[], ["0001_slow.sql"]]
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM dw.counter").fetchone() == (1,)


def test_shipped_migrations_apply_to_an_empty_database(
    empty_database_url: str, migrations_dir: Path
) -> None:
    """The repository's own migrations apply cleanly and leave the database current."""
    applied = apply_migrations(empty_database_url, migrations_dir)
    assert applied
    assert migration_status(empty_database_url, migrations_dir).current


def test_database_newer_than_code_is_accepted(empty_database_url: str, scratch_dir: Path) -> None:
    """A migration applied by a newer release (no file here) is reported, not refused."""
    apply_migrations(empty_database_url, scratch_dir)
    (scratch_dir / "0002_add_column.sql").unlink()
    status = migration_status(empty_database_url, scratch_dir)
    assert status.unknown == ["0002_add_column.sql"]
    assert status.current
    assert apply_migrations(empty_database_url, scratch_dir) == []


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_prepare_applies_pending_files_when_asked(
    empty_database_url: str, scratch_dir: Path
) -> None:
    """With apply, start-up applies what is pending at once and waits for nothing."""
    clock = FakeClock()
    applied = prepare_database(
        empty_database_url, scratch_dir, apply=True, timeout_s=30, sleep=clock.sleep, clock=clock
    )
    assert [m.name for m in applied] == ["0001_create_table.sql", "0002_add_column.sql"]
    assert clock.sleeps == []


def test_prepare_waits_until_another_process_migrates(
    empty_database_url: str, scratch_dir: Path
) -> None:
    """Without apply, start-up waits (saying why once) until the migrations are applied."""
    reasons: list[str] = []
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 3:  # the migration job finishes meanwhile
            apply_migrations(empty_database_url, scratch_dir)

    applied = prepare_database(
        empty_database_url,
        scratch_dir,
        apply=False,
        timeout_s=60,
        on_wait=reasons.append,
        sleep=sleep,
        clock=clock,
    )
    assert applied == []
    assert len(clock.sleeps) == 3
    assert clock.sleeps == sorted(clock.sleeps), "the wait backs off"
    assert reasons == [
        "waiting for migrations: 2 migration(s) pending: 0001_create_table.sql, "
        "0002_add_column.sql (run `dataworkflows migrate`)"
    ]
    assert migration_status(empty_database_url, scratch_dir).current


def test_prepare_gives_up_on_pending_migrations_after_the_timeout(
    empty_database_url: str, scratch_dir: Path
) -> None:
    """Waiting is bounded: when nobody migrates, start-up fails naming what is pending."""
    clock = FakeClock()
    with pytest.raises(MigrationError, match=r"not migrated after 20 s: 2 migration\(s\) pending"):
        prepare_database(
            empty_database_url,
            scratch_dir,
            apply=False,
            timeout_s=20,
            sleep=clock.sleep,
            clock=clock,
        )
    assert 15 <= clock.now <= 20
    assert max(clock.sleeps) == 5.0


def test_prepare_waits_for_an_unreachable_database_then_names_it(scratch_dir: Path) -> None:
    """A database that never answers is retried until the timeout, then named (no password)."""
    reasons: list[str] = []
    clock = FakeClock()
    url = f"postgresql://dw:hunter2-password@127.0.0.1:{free_port()}/dw"
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1:\d+, database \"dw\"") as caught:
        prepare_database(
            url,
            scratch_dir,
            apply=True,
            timeout_s=10,
            on_wait=reasons.append,
            sleep=clock.sleep,
            clock=clock,
        )
    assert len(clock.sleeps) >= 3
    assert len(reasons) == 1
    assert "hunter2" not in str(caught.value) + reasons[0]


def test_prepare_until_reachable_returns_once_the_database_answers(
    empty_database_url: str, scratch_dir: Path
) -> None:
    """`migrate --wait` waits for the database only: pending files do not keep it waiting."""
    clock = FakeClock()
    applied = prepare_database(
        empty_database_url,
        scratch_dir,
        apply=False,
        until_reachable=True,
        timeout_s=60,
        sleep=clock.sleep,
        clock=clock,
    )
    assert applied == []
    assert clock.sleeps == []
    assert len(migration_status(empty_database_url, scratch_dir).pending) == 2


def test_prepare_refuses_an_edited_migration_at_once(
    empty_database_url: str, scratch_dir: Path
) -> None:
    """An applied file edited since is a mistake no wait can mend: it fails at once."""
    apply_migrations(empty_database_url, scratch_dir)
    write(scratch_dir, "0001_create_table.sql", "CREATE TABLE dw.things (id bigint PRIMARY KEY);")
    clock = FakeClock()
    with pytest.raises(MigrationError, match=r"0001_create_table\.sql"):
        prepare_database(
            empty_database_url,
            scratch_dir,
            apply=False,
            timeout_s=60,
            sleep=clock.sleep,
            clock=clock,
        )
    assert clock.sleeps == []
