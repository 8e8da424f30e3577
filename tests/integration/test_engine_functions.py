"""The engine's stored functions (migrations/0001) against a real PostgreSQL server."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from dataworkflows.engine.postgres_store import _batch_arrays
from dataworkflows.engine.store import RunFinish, StepAttempt
from dataworkflows.runtime.queries import load_queries

ENGINE_QUERIES = load_queries("dataworkflows.engine.sql", "engine.sql")


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


def engine(db: psycopg.Connection[dict[str, Any]], name: str, lease_seconds: float = 30.0) -> str:
    """Register (or renew) engine ``name``."""
    db.execute(
        "SELECT * FROM dw.heartbeat_engine_v1(%s, %s, 'host', 1, 'test')", (name, lease_seconds)
    )
    return name


def create_run(
    db: psycopg.Connection[dict[str, Any]],
    workflow: str,
    *,
    key: str | None = None,
    owner: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    if owner is not None:
        engine(db, owner)
    return create_runs(db, [(workflow, key, owner, timeout)])[0]


def create_runs(
    db: psycopg.Connection[dict[str, Any]],
    runs: list[tuple[str, str | None, str | None, float | None]],
) -> list[dict[str, Any]]:
    """Create (workflow, idempotency key, engine, timeout) runs in one call, as the engine does."""
    params = {
        "ids": [uuid.uuid4() for _ in runs],
        "workflow_names": [r[0] for r in runs],
        "workflow_versions": [1 for _ in runs],
        "inputs": ['{"board_id": "1"}' for _ in runs],
        "triggers": ['{"source": "api"}' for _ in runs],
        "idempotency_keys": [r[1] for r in runs],
        "timeouts": [r[3] for r in runs],
        "engines": [r[2] for r in runs],
        "request_hashes": [f"s1:{r[1]}" if r[1] else None for r in runs],
    }
    rows = db.execute(ENGINE_QUERIES["create_runs"], params).fetchall()
    assert [r["requested_id"] for r in rows] == params["ids"]
    return rows


def write(
    db: psycopg.Connection[dict[str, Any]],
    owner: str,
    *,
    attempts: list[dict[str, Any]] | None = None,
    finishes: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> list[uuid.UUID]:
    """One journal batch from engine ``owner``, sent as the engine sends it."""
    params = _batch_arrays(
        [msgspec.convert(a, StepAttempt, strict=False) for a in attempts or []],
        [msgspec.convert(f, RunFinish, strict=False) for f in finishes or []],
        events or [],
    )
    rows = db.execute(ENGINE_QUERIES["write_batch"], {"engine": owner, **params}).fetchall()
    return sorted(r["lost_run_id"] for r in rows)


def claim(
    db: psycopg.Connection[dict[str, Any]], owner: str, limit: int = 10
) -> list[dict[str, Any]]:
    engine(db, owner)
    return db.execute("SELECT * FROM dw.claim_runs_v1(%s, %s)", (owner, limit)).fetchall()


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
    """A run starts queued, or running and owned by the given engine; both log events."""
    put(db, "runs-demo", "f" * 64)
    queued = create_run(db, "runs-demo", timeout=60)
    claimed = create_run(db, "runs-demo", owner="engine-a", timeout=60)
    assert queued["status"] == "queued"
    assert queued["deadline_at"] is None  # the deadline counts from the start
    assert claimed["status"] == "running"
    run = db.execute("SELECT * FROM dw.get_run_v1(%s)", (claimed["id"],)).fetchone()
    assert run is not None
    assert run["owner"] == "engine-a"
    assert run["claim_count"] == 1
    assert run["deadline_at"] - run["started_at"] == timedelta(seconds=60)
    assert run["inputs"] == {"board_id": "1"}
    events = db.execute("SELECT * FROM dw.get_run_events_v1(%s)", (queued["id"],)).fetchall()
    assert [e["kind"] for e in events] == ["created"]
    events = db.execute("SELECT * FROM dw.get_run_events_v1(%s)", (claimed["id"],)).fetchall()
    assert [e["kind"] for e in events] == ["created", "claimed"]


def test_create_run_keeps_and_answers_the_request_fingerprint(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """A new run stores its request's fingerprint; a repeat of its key answers the first
    run with that fingerprint (the engine compares them)."""
    put(db, "hash-demo", "2" * 64)
    first = create_run(db, "hash-demo", key="h-1")
    again = create_run(db, "hash-demo", key="h-1")
    plain = create_run(db, "hash-demo")
    assert first["request_hash"] == "s1:h-1"
    assert again["created"] is False
    assert again["id"] == first["id"]
    assert again["request_hash"] == "s1:h-1"
    assert plain["request_hash"] is None


def test_create_run_is_idempotent_per_key(db: psycopg.Connection[dict[str, Any]]) -> None:
    """The same idempotency key returns the first run instead of starting another."""
    put(db, "idem-demo", "1" * 64)
    first = create_run(db, "idem-demo", key="k-1")
    again = create_run(db, "idem-demo", key="k-1", owner="engine-a")
    other = create_run(db, "idem-demo", key="k-2")
    assert again["id"] == first["id"]
    assert again["status"] == "queued"  # the first run, untouched
    assert other["id"] != first["id"]


def test_a_batch_of_runs_is_created_in_order_with_keys_checked(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """One call creates many runs; a key repeated in the batch or already used is not new."""
    put(db, "batch-create", "2a" * 32)
    before = create_run(db, "batch-create", key="used")
    engine(db, "batcher")
    rows = create_runs(
        db,
        [
            ("batch-create", None, None, None),
            ("batch-create", "fresh", "batcher", 30.0),
            ("batch-create", "fresh", None, None),
            ("batch-create", "used", None, None),
        ],
    )
    assert [r["created"] for r in rows] == [True, True, False, False]
    assert rows[2]["id"] == rows[1]["id"]
    assert rows[3]["id"] == before["id"]
    assert [r["status"] for r in rows] == ["queued", "running", "running", "queued"]
    assert rows[1]["owner"] == "batcher"


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
    create_run(db, "page-demo", owner="engine-page")

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
        "action": "probe.record",
        "input": {"board_id": "1"},
        "queued_at": now,
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
    assert write(db, "engine-a", attempts=[attempt(run_id, "read", "running")]) == []
    write(db, "engine-a", attempts=[attempt(run_id, "read", "succeeded", output={"count": 3})])
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
    write(db, "engine-a", attempts=[attempt(run_id, "s", "failed", error={"code": "x"})])
    write(db, "engine-a", attempts=[attempt(run_id, "s", "running")])
    rows = db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (run_id,)).fetchall()
    assert [(r["status"], r["error"]) for r in rows] == [("failed", {"code": "x"})]


def test_start_and_end_in_one_batch_keep_the_end(db: psycopg.Connection[dict[str, Any]]) -> None:
    """A batch holding both the start and the end of an attempt records the end."""
    put(db, "batch-demo", "5" * 64)
    run_id = create_run(db, "batch-demo", owner="engine-a")["id"]
    batch = [attempt(run_id, "s", "running"), attempt(run_id, "s", "succeeded", output={"ok": 1})]
    write(db, "engine-a", attempts=batch)
    rows = db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (run_id,)).fetchall()
    assert [(r["status"], r["output"]) for r in rows] == [("succeeded", {"ok": 1})]


def test_a_batch_meeting_a_progress_row_writes_all_of_its_attempts(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """A batch that completes a long attempt's progress row keeps its new attempts too."""
    put(db, "mixed-demo", "5a" * 32)
    run_id = create_run(db, "mixed-demo", owner="engine-a")["id"]
    write(db, "engine-a", attempts=[attempt(run_id, "long", "running")])
    batch = [
        attempt(run_id, "short", "succeeded", output={"n": 1}),
        attempt(run_id, "long", "succeeded", output={"n": 2}),
    ]
    assert write(db, "engine-a", attempts=batch) == []
    rows = db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (run_id,)).fetchall()
    assert sorted((r["step_id"], r["status"], r["output"]) for r in rows) == [
        ("long", "succeeded", {"n": 2}),
        ("short", "succeeded", {"n": 1}),
    ]


def test_a_batch_written_twice_records_each_attempt_once(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """A batch sent again (its first answer lost) is accepted and changes nothing."""
    put(db, "again-demo", "5b" * 32)
    run_id = create_run(db, "again-demo", owner="engine-a")["id"]
    batch = [attempt(run_id, "a", "succeeded", output={"n": 1}), attempt(run_id, "b", "failed")]
    assert write(db, "engine-a", attempts=batch) == []
    assert write(db, "engine-a", attempts=batch) == []
    rows = db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (run_id,)).fetchall()
    assert sorted((r["step_id"], r["status"], r["output"]) for r in rows) == [
        ("a", "succeeded", {"n": 1}),
        ("b", "failed", None),
    ]


def test_new_attempts_are_inserted_without_probing_for_a_conflict(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """A batch of new attempts costs PostgreSQL no index probe per row (issue 18)."""
    put(db, "plain-demo", "5c" * 32)
    runs = create_runs(db, [("plain-demo", None, "engine-a", None)] * 20)
    with db.transaction():
        batch = [attempt(run["id"], "s", "succeeded") for run in runs]
        assert write(db, "engine-a", attempts=batch) == []
        # An upsert probes the primary key once per row before inserting; a plain
        # insert checks uniqueness while it inserts, which is not counted as a scan.
        row = db.execute(
            "SELECT pg_stat_get_xact_numscans('dw.step_attempts_pkey'::regclass) AS n"
        ).fetchone()
    assert row is not None
    assert row["n"] == 0


def test_records_from_an_engine_without_the_lease_are_refused(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """Only the lease owner can record steps; others learn the run was lost to them."""
    put(db, "fence-demo", "6" * 64)
    mine = create_run(db, "fence-demo", owner="engine-a")["id"]
    queued = create_run(db, "fence-demo")["id"]
    batch = [attempt(mine, "s", "succeeded"), attempt(queued, "s", "succeeded")]
    assert write(db, engine(db, "engine-b"), attempts=batch) == sorted([mine, queued])
    assert db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (mine,)).fetchall() == []
    assert write(db, "engine-a", attempts=batch) == [queued]
    assert len(db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (mine,)).fetchall()) == 1


def test_an_engine_with_an_expired_lease_can_write_nothing(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """Once its lease expired, an engine's batches are refused even for its own runs."""
    put(db, "expired-demo", "6a" * 32)
    run_id = create_run(db, "expired-demo", owner="stale-engine")["id"]
    engine(db, "stale-engine", lease_seconds=0.001)
    time.sleep(0.01)
    assert write(db, "stale-engine", attempts=[attempt(run_id, "s", "succeeded")]) == [run_id]
    assert db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (run_id,)).fetchall() == []


def test_run_events_append_in_batches_and_read_in_order(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """Events of several runs go in one batch and read back per run, oldest first."""
    put(db, "events-demo", "7" * 64)
    a = create_run(db, "events-demo", owner="engine-a")["id"]
    b = create_run(db, "events-demo", owner="engine-a")["id"]
    events = [
        {"run_id": str(a), "kind": "step_retry", "detail": {"step": "s", "attempt": 1}},
        {"run_id": str(b), "kind": "step_retry"},
        {"run_id": str(a), "kind": "step_retry", "detail": {"step": "s", "attempt": 2}},
    ]
    assert write(db, "engine-a", events=events) == []
    logged = db.execute("SELECT * FROM dw.get_run_events_v1(%s)", (a,)).fetchall()
    assert [e["kind"] for e in logged] == ["created", "claimed", "step_retry", "step_retry"]
    assert logged[2]["detail"] == {"step": "s", "attempt": 1}


def test_claim_takes_queued_runs_oldest_first_once(db: psycopg.Connection[dict[str, Any]]) -> None:
    """Queued runs are claimed oldest first, each by one engine, with a 'claimed' event."""
    put(db, "claim-demo", "8" * 64)
    db.execute("SELECT dw.release_engine_v1(e.id) FROM dw.engines AS e")  # nothing else claimable
    db.execute(
        "UPDATE dw.runs SET status = 'cancelled', finished_at = now(), owner = NULL WHERE status IN ('queued', 'running')"
    )
    ids = [create_run(db, "claim-demo", timeout=30)["id"] for _ in range(3)]
    first = claim(db, "claimer-a", limit=2)
    second = claim(db, "claimer-b", limit=5)
    assert [r["id"] for r in first] == ids[:2]
    assert [r["id"] for r in second] == ids[2:]
    assert all(r["previous_engine"] is None and r["claim_count"] == 1 for r in first + second)
    assert all(r["deadline_at"] is not None for r in first)
    run = db.execute("SELECT * FROM dw.get_run_v1(%s)", (ids[0],)).fetchone()
    assert run is not None
    assert (run["status"], run["owner"]) == ("running", "claimer-a")
    assert claim(db, "claimer-c") == []


def test_runs_of_an_expired_engine_are_recovered(db: psycopg.Connection[dict[str, Any]]) -> None:
    """When an engine's lease expires, another engine claims its runs as 'recovered'."""
    put(db, "recover-demo", "9" * 64)
    run_id = create_run(db, "recover-demo", owner="dying")["id"]
    assert claim(db, "rescuer") == []  # the owner's lease is still valid
    db.execute("SELECT * FROM dw.heartbeat_engine_v1('dying', 0.001, 'host', 1, 'test')")
    time.sleep(0.01)
    recovered = claim(db, "rescuer")
    assert [(r["id"], r["previous_engine"], r["claim_count"]) for r in recovered] == [
        (run_id, "dying", 2)
    ]
    events = db.execute("SELECT kind, detail FROM dw.get_run_events_v1(%s)", (run_id,)).fetchall()
    assert events[-1] == {
        "kind": "recovered",
        "detail": {"engine": "rescuer", "previous_engine": "dying"},
    }


def test_concurrent_claims_never_share_a_run(database_url: str) -> None:
    """Many engines claiming at once get disjoint sets of runs (SKIP LOCKED)."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as db:
        put(db, "race-claim", "a1" * 32)
        for _ in range(40):
            create_run(db, "race-claim")
    got: dict[str, list[uuid.UUID]] = {}

    def claimer(name: str) -> None:
        with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
            engine(conn, name)
            mine: list[uuid.UUID] = []
            while rows := conn.execute(
                "SELECT id FROM dw.claim_runs_v1(%s, 3)", (name,)
            ).fetchall():
                mine.extend(r["id"] for r in rows)
            got[name] = mine

    threads = [threading.Thread(target=claimer, args=(f"racer-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [run_id for ids in got.values() for run_id in ids]
    assert len(claimed) == len(set(claimed))
    assert len(claimed) >= 40


def test_finish_runs_is_fenced_and_logged(db: psycopg.Connection[dict[str, Any]]) -> None:
    """Only the owner can finish a run; a finish clears the owner and logs the status."""
    put(db, "finish-demo", "b1" * 32)
    run_id = create_run(db, "finish-demo", owner="owner-x")["id"]
    batch = [{"id": str(run_id), "status": "succeeded", "output": {"n": 1}}]
    assert write(db, engine(db, "intruder"), finishes=batch) == [run_id]
    assert write(db, "owner-x", finishes=batch) == []
    run = db.execute("SELECT * FROM dw.get_run_v1(%s)", (run_id,)).fetchone()
    assert run is not None
    assert (run["status"], run["output"], run["owner"]) == ("succeeded", {"n": 1}, None)
    assert run["finished_at"] is not None
    kinds = [e["kind"] for e in db.execute("SELECT * FROM dw.get_run_events_v1(%s)", (run_id,))]
    assert kinds[-1] == "finished"
    assert write(db, "owner-x", finishes=batch) == [run_id], "a finished run cannot finish again"


def test_cancel_request_depends_on_status(db: psycopg.Connection[dict[str, Any]]) -> None:
    """Queued runs cancel at once; running ones are flagged; the heartbeat reports the flag."""
    put(db, "cancel-demo", "c1" * 32)
    queued = create_run(db, "cancel-demo")["id"]
    running = create_run(db, "cancel-demo", owner="canceller")["id"]
    now_queued = db.execute("SELECT * FROM dw.request_cancel_v1(%s)", (queued,)).fetchone()
    now_running = db.execute("SELECT * FROM dw.request_cancel_v1(%s)", (running,)).fetchone()
    assert now_queued is not None
    assert now_running is not None
    assert (now_queued["status"], now_queued["error"]["code"]) == ("cancelled", "cancelled")
    assert now_running["status"] == "running"
    assert now_running["cancel_requested_at"] is not None
    flagged = db.execute(
        "SELECT * FROM dw.heartbeat_engine_v1('canceller', 30, 'host', 1, 'test')"
    ).fetchall()
    assert [r["cancel_requested"] for r in flagged] == [running]
    assert db.execute("SELECT * FROM dw.request_cancel_v1(%s)", (uuid.uuid4(),)).fetchall() == []


def test_retry_requeues_only_failed_or_cancelled_runs(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """A failed run goes back to the queue with its results kept; others are unchanged."""
    put(db, "retry-demo", "d1" * 32)
    run_id = create_run(db, "retry-demo", owner="retrier")["id"]
    write(db, "retrier", attempts=[attempt(run_id, "a", "succeeded")])
    unchanged = db.execute("SELECT * FROM dw.retry_run_v1(%s)", (run_id,)).fetchone()
    assert unchanged is not None
    assert unchanged["status"] == "running"
    write(db, "retrier", finishes=[{"id": str(run_id), "status": "failed", "error": {"code": "x"}}])
    retried = db.execute("SELECT * FROM dw.retry_run_v1(%s)", (run_id,)).fetchone()
    assert retried is not None
    assert (retried["status"], retried["error"], retried["finished_at"]) == ("queued", None, None)
    assert len(db.execute("SELECT * FROM dw.get_step_attempts_v1(%s)", (run_id,)).fetchall()) == 1


def test_release_engine_requeues_its_runs(db: psycopg.Connection[dict[str, Any]]) -> None:
    """A graceful stop puts the engine's running runs back in the queue at once."""
    put(db, "release-demo", "e1" * 32)
    run_id = create_run(db, "release-demo", owner="leaver")["id"]
    released = db.execute("SELECT dw.release_engine_v1('leaver') AS n").fetchone()
    assert released == {"n": 1}
    run = db.execute("SELECT * FROM dw.get_run_v1(%s)", (run_id,)).fetchone()
    assert run is not None
    assert (run["status"], run["owner"]) == ("queued", None)


def test_analytics_views_summarise_runs_and_steps(db: psycopg.Connection[dict[str, Any]]) -> None:
    """The documented views answer: runs per day, step durations per action, failure reasons."""
    put(db, "views-demo", "f1" * 32)
    run_id = create_run(db, "views-demo", owner="viewer")["id"]
    batch = [
        attempt(run_id, "a", "succeeded"),
        attempt(run_id, "b", "failed", error={"code": "rate_limited", "message": "slow down"}),
    ]
    write(db, "viewer", attempts=batch)
    per_day = db.execute(
        "SELECT * FROM dw.runs_per_day WHERE workflow_name = 'views-demo'"
    ).fetchall()
    assert [(r["status"], r["runs"]) for r in per_day] == [("running", 1)]
    durations = db.execute(
        "SELECT * FROM dw.step_duration_by_action WHERE action = 'probe.record'"
    ).fetchone()
    assert durations is not None
    assert durations["attempts"] >= 2
    assert durations["p50_ms"] is not None
    reasons = db.execute("SELECT * FROM dw.failure_reasons WHERE code = 'rate_limited'").fetchall()
    assert reasons[0]["message"] == "slow down"


def _runs_rows_read(db: psycopg.Connection[dict[str, Any]]) -> int:
    """Rows of dw.runs this database has read so far, by any scan."""
    db.execute("SELECT pg_stat_force_next_flush()")  # this session's counts, published
    row = db.execute(
        "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n"
        " FROM pg_stat_user_tables WHERE relid = 'dw.runs'::regclass"
    ).fetchone()
    assert row is not None
    return int(row["n"])


def test_a_batch_reads_its_own_runs_not_every_run_of_the_engine(
    db: psycopg.Connection[dict[str, Any]],
) -> None:
    """Recording a step costs the same whether its engine holds ten runs or thousands."""
    put(db, "held-demo", "6b" * 32)
    engine(db, "engine-many")
    runs = create_runs(db, [("held-demo", None, "engine-many", None)] * 3000)
    for run in runs[:6]:  # past the plans PostgreSQL makes for the first calls only
        write(db, "engine-many", attempts=[attempt(run["id"], "s", "succeeded")])
    before = _runs_rows_read(db)
    batch = [attempt(run["id"], "s", "succeeded") for run in runs[10:15]]
    assert write(db, "engine-many", attempts=batch) == []
    assert _runs_rows_read(db) - before < 100
