"""The engine's stored functions (migrations/0001) against a real PostgreSQL server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def put(db: psycopg.Connection[dict[str, Any]], name: str, checksum: str) -> dict[str, Any]:
    row = db.execute(
        "SELECT * FROM dw.put_workflow_version_v1(%s, %s, %s, %s, %s)",
        (
            name,
            f"described {checksum}",
            Jsonb({"name": name, "steps": []}),
            f"name: {name}",
            checksum,
        ),
    ).fetchone()
    assert row is not None
    return row


def create_run(
    db: psycopg.Connection[dict[str, Any]],
    workflow: str,
    *,
    key: str | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    row = db.execute(
        "SELECT * FROM dw.create_run_v1(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            uuid.uuid4(),
            workflow,
            1,
            Jsonb({"board_id": "1"}),
            Jsonb({"source": "api"}),
            key,
            None,
            owner,
            30.0,
        ),
    ).fetchone()
    assert row is not None
    return row


def test_put_workflow_version_numbers_changes_and_keeps_unchanged(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """A new checksum gets the next version; the same checksum returns the current one."""
    first = put(db, "versions-demo", "a" * 64)
    same = put(db, "versions-demo", "a" * 64)
    changed = put(db, "versions-demo", "b" * 64)
    back = put(db, "versions-demo", "a" * 64)
    assert (first["version"], first["created"]) == (1, True)
    assert (same["version"], same["created"]) == (1, False)
    assert (changed["version"], changed["created"]) == (2, True)
    assert (back["version"], back["created"]) == (3, True)


def test_concurrent_registrations_get_distinct_versions(database_url: str) -> None:
    """Registrations racing on one workflow never share or skip a version number."""
    versions: list[int] = []

    def register(i: int) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT version FROM dw.put_workflow_version_v1(%s, '', '{}', '', %s)",
                ("race-demo", f"{i:064d}"),
            ).fetchone()
            assert row is not None
            versions.append(int(row[0]))  # type: ignore[call-overload]

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == list(range(1, 9))


def test_list_and_get_workflows(db: psycopg.Connection[dict[str, Any]]) -> None:
    """Listing shows each workflow's latest version; get returns any version or the latest."""
    put(db, "list-demo", "c" * 64)
    put(db, "list-demo", "d" * 64)
    listed = {r["name"]: r for r in db.execute("SELECT * FROM dw.list_workflows_v1()")}
    assert listed["list-demo"]["latest_version"] == 2
    assert listed["list-demo"]["description"] == f"described {'d' * 64}"
    versions = db.execute("SELECT * FROM dw.get_workflow_versions_v1('list-demo')").fetchall()
    assert [v["version"] for v in versions] == [1, 2]
    latest = db.execute("SELECT * FROM dw.get_workflow_version_v1('list-demo')").fetchone()
    first = db.execute("SELECT * FROM dw.get_workflow_version_v1('list-demo', 1)").fetchone()
    assert latest is not None
    assert latest["version"] == 2
    assert first is not None
    assert first["checksum"] == "c" * 64
    assert first["definition"] == {"name": "list-demo", "steps": []}
    missing = db.execute("SELECT * FROM dw.get_workflow_version_v1('no-such-flow')").fetchall()
    assert missing == []


def test_workflow_names_are_checked(db: psycopg.Connection[dict[str, Any]]) -> None:
    """A name that is not lower-case words is refused by the table itself."""
    with pytest.raises(psycopg.errors.CheckViolation):
        put(db, "Bad Name!", "e" * 64)


def test_create_run_queued_or_claimed(db: psycopg.Connection[dict[str, Any]]) -> None:
    """A run starts queued, or running under the given engine's lease; both get an event."""
    put(db, "runs-demo", "f" * 64)
    queued = create_run(db, "runs-demo")
    claimed = create_run(db, "runs-demo", owner="engine-a")
    assert (queued["created"], queued["status"]) == (True, "queued")
    assert (claimed["created"], claimed["status"]) == (True, "running")
    run = db.execute("SELECT * FROM dw.get_run_v1(%s)", (claimed["id"],)).fetchone()
    assert run is not None
    assert run["lease_owner"] == "engine-a"
    assert run["lease_expires_at"] > run["started_at"]
    assert run["claim_count"] == 1
    assert run["inputs"] == {"board_id": "1"}
    events = db.execute("SELECT * FROM dw.get_run_events_v1(%s)", (queued["id"],)).fetchall()
    assert [e["kind"] for e in events] == ["created"]


def test_create_run_is_idempotent_per_key(db: psycopg.Connection[dict[str, Any]]) -> None:
    """The same idempotency key returns the first run instead of starting another."""
    put(db, "idem-demo", "1" * 64)
    first = create_run(db, "idem-demo", key="k-1")
    again = create_run(db, "idem-demo", key="k-1")
    other = create_run(db, "idem-demo", key="k-2")
    assert first["created"]
    assert not again["created"]
    assert again["id"] == first["id"]
    assert other["id"] != first["id"]


def test_create_run_requires_a_known_version(db: psycopg.Connection[dict[str, Any]]) -> None:
    """A run cannot point at a definition version that does not exist."""
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        create_run(db, "never-registered")


def test_get_run_unknown_is_empty(db: psycopg.Connection[dict[str, Any]]) -> None:
    """An unknown run id gives no row."""
    assert db.execute("SELECT * FROM dw.get_run_v1(%s)", (uuid.uuid4(),)).fetchall() == []


def test_list_runs_filters_and_pages(db: psycopg.Connection[dict[str, Any]]) -> None:
    """Runs list newest first, filter by workflow and status, and page by keyset."""
    put(db, "page-demo", "2" * 64)
    ids = [create_run(db, "page-demo")["id"] for _ in range(5)]
    create_run(db, "page-demo", owner="engine-a")

    def page(after: dict[str, Any] | None, status: str | None = None) -> list[dict[str, Any]]:
        return db.execute(
            "SELECT * FROM dw.list_runs_v1(%s, %s, %s, %s, %s, %s, %s)",
            (
                "page-demo",
                status,
                None,
                None,
                after["created_at"] if after else None,
                after["id"] if after else None,
                2,
            ),
        ).fetchall()

    queued: list[dict[str, Any]] = []
    last = None
    while batch := page(last, "queued"):
        queued.extend(batch)
        last = batch[-1]
    assert sorted(r["id"] for r in queued) == sorted(ids)
    keys = [(r["created_at"], r["id"]) for r in queued]
    assert keys == sorted(keys, reverse=True)
    assert [r["status"] for r in page(None, "running")] == ["running"]
    future = datetime.now(UTC) + timedelta(days=1)
    none = db.execute(
        "SELECT * FROM dw.list_runs_v1(NULL, NULL, %s, NULL, NULL, NULL, 10)", (future,)
    ).fetchall()
    assert none == []


def attempt(run_id: uuid.UUID, step: str, status: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "run_id": str(run_id),
        "step_id": step,
        "iteration": -1,
        "attempt": 1,
        "status": status,
        "input": {"board_id": "1"},
        "started_at": now,
        "finished_at": None if status == "running" else now,
        **extra,
    }


def test_record_step_attempts_upserts_and_reads_back(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """An attempt recorded as running is completed in place, with its output."""
    put(db, "steps-demo", "3" * 64)
    run_id = create_run(db, "steps-demo", owner="engine-a")["id"]
    record = "SELECT * FROM dw.record_step_attempts_v1(%s, %s)"
    lost = db.execute(record, ("engine-a", Jsonb([attempt(run_id, "read", "running")]))).fetchall()
    assert lost == []
    db.execute(
        record,
        ("engine-a", Jsonb([attempt(run_id, "read", "succeeded", output={"count": 3})])),
    )
    rows = db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (run_id,)).fetchall()
    assert len(rows) == 1
    assert rows[0]["status"] == "succeeded"
    assert rows[0]["output"] == {"count": 3}
    assert rows[0]["input"] == {"board_id": "1"}
    assert rows[0]["finished_at"] >= rows[0]["started_at"]


def test_completed_attempt_is_never_reopened(db: psycopg.Connection[dict[str, Any]]) -> None:
    """A late 'running' row for a finished attempt leaves the result as it was."""
    put(db, "final-demo", "4" * 64)
    run_id = create_run(db, "final-demo", owner="engine-a")["id"]
    record = "SELECT * FROM dw.record_step_attempts_v1(%s, %s)"
    db.execute(record, ("engine-a", Jsonb([attempt(run_id, "s", "failed", error={"code": "x"})])))
    db.execute(record, ("engine-a", Jsonb([attempt(run_id, "s", "running")])))
    rows = db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (run_id,)).fetchall()
    assert [(r["status"], r["error"]) for r in rows] == [("failed", {"code": "x"})]


def test_start_and_end_in_one_batch_keep_the_end(db: psycopg.Connection[dict[str, Any]]) -> None:
    """A batch holding both the start and the end of an attempt records the end."""
    put(db, "batch-demo", "5" * 64)
    run_id = create_run(db, "batch-demo", owner="engine-a")["id"]
    batch = [attempt(run_id, "s", "running"), attempt(run_id, "s", "succeeded", output={"ok": 1})]
    db.execute("SELECT * FROM dw.record_step_attempts_v1(%s, %s)", ("engine-a", Jsonb(batch)))
    rows = db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (run_id,)).fetchall()
    assert [(r["status"], r["output"]) for r in rows] == [("succeeded", {"ok": 1})]


def test_records_from_an_engine_without_the_lease_are_refused(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """Only the lease owner can record steps; others learn the run was lost to them."""
    put(db, "fence-demo", "6" * 64)
    mine = create_run(db, "fence-demo", owner="engine-a")["id"]
    queued = create_run(db, "fence-demo")["id"]
    batch = [attempt(mine, "s", "succeeded"), attempt(queued, "s", "succeeded")]
    lost = db.execute(
        "SELECT lost_run_id FROM dw.record_step_attempts_v1(%s, %s)", ("engine-b", Jsonb(batch))
    ).fetchall()
    assert sorted(r["lost_run_id"] for r in lost) == sorted([mine, queued])
    assert db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (mine,)).fetchall() == []


def test_run_events_append_in_batches_and_read_in_order(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """Events of several runs go in one call and read back per run, oldest first."""
    put(db, "events-demo", "7" * 64)
    a = create_run(db, "events-demo")["id"]
    b = create_run(db, "events-demo")["id"]
    count = db.execute(
        "SELECT dw.append_run_events_v1(%s) AS n",
        (
            Jsonb(
                [
                    {"run_id": str(a), "kind": "claimed", "detail": {"owner": "engine-a"}},
                    {"run_id": str(b), "kind": "claimed"},
                    {"run_id": str(a), "kind": "finished", "detail": {"status": "succeeded"}},
                ]
            ),
        ),
    ).fetchone()
    assert count == {"n": 3}
    events = db.execute("SELECT * FROM dw.get_run_events_v1(%s)", (a,)).fetchall()
    assert [e["kind"] for e in events] == ["created", "claimed", "finished"]
    assert events[1]["detail"] == {"owner": "engine-a"}
