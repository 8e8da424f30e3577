"""`dataworkflows serve engine` as compose runs it: migrate on start, serve, stop on SIGTERM."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.engine import API_KEY
from tests.support.net import free_port
from tests.support.processes import CliProcess, run_cli

pytestmark = pytest.mark.acceptance


def test_serve_engine_migrates_serves_and_stops(empty_database_url: str, tmp_path: Path) -> None:
    """The engine applies pending migrations, becomes ready, and exits 0 on SIGTERM."""
    port = free_port()
    env = {"DATABASE_URL": empty_database_url, "DW_PORT": str(port), "DW_API_KEYS": API_KEY}
    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as engine:
        ready = engine.wait_http(f"http://127.0.0.1:{port}/readyz")
        assert ready.json()["component"] == "engine"
        assert engine.stop(signal.SIGTERM) == 0
    with psycopg.connect(empty_database_url) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM dw.applied_migrations_v1()")]
    assert "0001_engine_schema.sql" in applied


def test_serve_engine_waits_for_the_migration_job(empty_database_url: str, tmp_path: Path) -> None:
    """With DW_MIGRATIONS=wait the engine applies nothing, says it waits, and starts once
    `dataworkflows migrate` (a separate one-shot process) has run."""
    port = free_port()
    env = {
        "DATABASE_URL": empty_database_url,
        "DW_PORT": str(port),
        "DW_API_KEYS": API_KEY,
        "DW_MIGRATIONS": "wait",
    }
    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as engine:
        deadline = time.monotonic() + 20
        while "waiting for migrations" not in engine.stderr:
            assert engine.process is not None
            assert engine.process.poll() is None, engine.stderr
            assert time.monotonic() < deadline, engine.stderr
            time.sleep(0.1)
        assert run_cli("migrate", "--status", env=env, cwd=tmp_path).stdout.count("pending  ") > 1
        migrated = run_cli("migrate", env={"DATABASE_URL": empty_database_url}, cwd=tmp_path)
        assert migrated.returncode == 0, migrated.stderr
        engine.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=30)
        assert "migration applied" not in engine.stderr
        assert engine.stop(signal.SIGTERM) == 0


def test_serve_engine_gives_up_on_a_database_that_never_answers(tmp_path: Path) -> None:
    """An unreachable database is waited for DW_STARTUP_TIMEOUT, then named in one line (exit 1)."""
    env = {
        "DATABASE_URL": f"postgresql://dw:pw-not-shown@127.0.0.1:{free_port()}/dw",
        "DW_API_KEYS": API_KEY,
        "DW_STARTUP_TIMEOUT": "2",
    }
    started = time.monotonic()
    result = run_cli("serve", "engine", env=env, cwd=tmp_path)
    assert 1.0 <= time.monotonic() - started < 30
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dataworkflows: cannot connect to PostgreSQL at 127.0.0.1:")
    assert "pw-not-shown" not in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_waits_for_the_database_when_asked(tmp_path: Path) -> None:
    """`migrate --wait 2` retries an unreachable database for 2 s, then names it (exit 1)."""
    env = {"DATABASE_URL": f"postgresql://dw@127.0.0.1:{free_port()}/dw"}
    started = time.monotonic()
    result = run_cli("migrate", "--wait", "2", env=env, cwd=tmp_path)
    assert time.monotonic() - started >= 1.0
    assert result.returncode == 1
    assert "migrate waits" in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("dataworkflows: cannot connect to PostgreSQL at 127.0.0.1:")
    )


def _evaluation_workers_of(port: int) -> list[int]:
    """Pids of evaluation worker processes started by the engine serving ``port``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"dataworkflows.runtime.evaluation_worker" in cmdline and (
            f"DW_PORT={port}".encode() in environ.split(b"\0")
        ):
            found.append(int(proc.name))
    return found


def test_sigterm_stops_an_engine_evaluating_a_runaway_expression(
    empty_database_url: str, tmp_path: Path
) -> None:
    """SIGTERM stops the engine within its shutdown grace while a run evaluates three
    nested loops, and leaves no evaluation worker behind."""
    port = free_port()
    env = {"DATABASE_URL": empty_database_url, "DW_PORT": str(port), "DW_API_KEYS": API_KEY}
    loops = (
        "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
        "{% endfor %}{% endfor %}{% endfor %}"
    )
    source = (
        "name: loops\nsteps:\n  - id: spin\n    uses: core.echo\n    timeout: 5m\n"
        f"    with: {{text: {loops!r}}}\n"
    )
    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as engine:
        base = f"http://127.0.0.1:{port}"
        engine.wait_http(f"{base}/readyz")
        auth = {"Authorization": f"Bearer {API_KEY}"}
        put = httpx.put(
            f"{base}/v1/workflows/loops",
            content=source,
            headers={**auth, "Content-Type": "application/yaml"},
        )
        assert put.status_code == 201, put.text
        run = httpx.post(f"{base}/v1/workflows/loops/runs", json={}, headers=auth)
        assert run.status_code == 201, run.text
        deadline = time.monotonic() + 20
        while not _evaluation_workers_of(port):
            assert time.monotonic() < deadline, "no evaluation worker started"
            time.sleep(0.1)
        asked = time.perf_counter()
        health = httpx.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200
        # The loops take far longer than this: an answer within a second means they
        # are not on the event loop (a tighter bound failed on a loaded 2-core CI box).
        assert time.perf_counter() - asked < 1.0
        stopped = time.monotonic()
        assert engine.stop(signal.SIGTERM, timeout=20) == 0
        assert time.monotonic() - stopped < 15, "within the 10 s grace, plus start-up slack"
    assert _evaluation_workers_of(port) == []


def test_migrate_command_reports_status(empty_database_url: str, tmp_path: Path) -> None:
    """`migrate --status` lists pending files, `migrate` applies them, then all are applied."""
    env = {"DATABASE_URL": empty_database_url}
    before = run_cli("migrate", "--status", env=env, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert "pending  0001_engine_schema.sql" in before.stdout
    applied = run_cli("migrate", env=env, cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "applied  0001_engine_schema.sql" in applied.stdout
    after = run_cli("migrate", "--status", env=env, cwd=tmp_path)
    assert "pending  " not in after.stdout
    assert "0 pending" in after.stdout


def test_bad_configuration_through_the_real_entrypoint(tmp_path: Path) -> None:
    """The installed command prints one line and exits 2 for a bad variable."""
    result = run_cli("serve", "engine", env={"DW_PORT": "http"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "dataworkflows: DW_PORT: must be an integer between 1 and 65535, got 'http'"
    )
    assert "Traceback" not in result.stderr


def test_serve_engine_requires_api_keys(empty_database_url: str, tmp_path: Path) -> None:
    """Without DW_API_KEYS the engine refuses to start, saying what to set (exit 2)."""
    result = run_cli("serve", "engine", env={"DATABASE_URL": empty_database_url}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("dataworkflows: DW_API_KEYS is not set")
