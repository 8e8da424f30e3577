"""`dataworkflows serve engine` as compose runs it: migrate on start, serve, stop on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

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
