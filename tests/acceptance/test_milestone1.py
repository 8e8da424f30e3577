"""Milestone 1: a Monday board snapshot, run by separate processes as compose runs them."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.engine import API_KEY
from tests.support.monday import SANDBOX_TOKEN, monday_sandbox_process
from tests.support.net import free_port
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance

SERVICE_TOKEN = "service-token-for-milestone-one"


def test_board_snapshot_across_engine_connector_and_sandbox(
    empty_database_url: str, tmp_path: Path
) -> None:
    """engine -> Monday connector -> Monday sandbox: the run and each step are recorded."""
    with monday_sandbox_process(tmp_path) as sandbox:
        connector_port, engine_port = free_port(), free_port()
        connector_env = {
            "DW_PORT": str(connector_port),
            "DW_SERVICE_TOKEN": SERVICE_TOKEN,
            "MONDAY_API_TOKEN": SANDBOX_TOKEN,
            "MONDAY_API_URL": sandbox.graphql,
        }
        engine_env = {
            "DW_PORT": str(engine_port),
            "DATABASE_URL": empty_database_url,
            "DW_API_KEYS": API_KEY,
            "DW_SERVICE_TOKEN": SERVICE_TOKEN,
            "DW_CONNECTOR_URLS": f"monday=http://127.0.0.1:{connector_port}",
        }
        connector_url = f"http://127.0.0.1:{connector_port}"
        engine_url = f"http://127.0.0.1:{engine_port}"
        auth = {"Authorization": f"Bearer {API_KEY}"}
        with (
            CliProcess(
                "serve", "connector", "monday", env=connector_env, cwd=tmp_path
            ) as connector,
            CliProcess("serve", "engine", env=engine_env, cwd=tmp_path) as engine,
        ):
            ready = connector.wait_http(f"{connector_url}/readyz")
            assert ready.json()["checks"] == {"monday": "ok"}
            engine.wait_http(f"{engine_url}/readyz")

            # The connector refuses callers without the service token.
            assert httpx.get(f"{connector_url}/v1/actions").status_code == 401

            boards = httpx.post(
                f"{engine_url}/v1/connectors/monday/actions/list_boards",
                json={"input": {"limit": 100}},
                headers=auth,
            )
            assert boards.status_code == 200, boards.text
            board = max(boards.json()["output"]["boards"], key=lambda b: b["items_count"])

            # The spec's resource route on the connector answers the same items.
            items = httpx.get(
                f"{connector_url}/v1/items/{board['id']}",
                headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
                timeout=30,
            )
            assert items.status_code == 200
            assert items.json()["count"] == board["items_count"]

            started = httpx.post(
                f"{engine_url}/v1/workflows/monday-board-snapshot/runs",
                params={"wait": 60},
                json={"inputs": {"board_id": board["id"]}},
                headers=auth,
                timeout=90,
            )
            assert started.status_code == 200, started.text
            run = started.json()
            assert run["status"] == "succeeded", run
            output = run["output"]
            assert output["items"] == board["items_count"]
            assert sum(output["by_group"].values()) == board["items_count"]
            assert sum(output["by_status"].values()) == board["items_count"]
            assert set(output["by_group"]) <= {g["title"] for g in board["groups"]}

            assert engine.stop(signal.SIGTERM) == 0
            assert connector.stop(signal.SIGTERM) == 0

    with psycopg.connect(empty_database_url) as conn:
        row = conn.execute(
            "SELECT status, started_at, finished_at, finished_at > started_at "
            "FROM dw.get_run_v1(%s)",
            (run["id"],),
        ).fetchone()
        steps = conn.execute(
            "SELECT step_id, action, status, finished_at - started_at FROM dw.get_step_attempts_v1(%s)",
            (run["id"],),
        ).fetchall()
    assert row is not None
    assert row[0] == "succeeded"
    assert row[3] is True
    assert [(s[0], s[1], s[2]) for s in steps] == [
        ("items", "monday.list_items", "succeeded"),
        ("tally", "core.tally", "succeeded"),
    ]
    assert all(s[3] is not None for s in steps)
