"""Monday webhooks end to end, in separate processes: the product registers a webhook on
a board, and an item changed in the Monday sandbox reaches the tracker within seconds,
also when the engine was down at the time (monday retries the delivery)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.engine import API_KEY
from tests.support.monday import SandboxControl, monday_sandbox_process
from tests.support.net import free_port
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance

SIGNING_SECRET = "monday-app-signing-secret-acceptance-0123"
TRACKER_USER, TRACKER_PASSWORD = "sync-bot", "tracker-password-for-tests"
BOARD = "5012345611"  # Borealis Mobile App - Roadmap
CHANGE_STATUS = """
mutation ($board: ID!, $item: ID!, $value: JSON!) {
  change_column_value(board_id: $board, item_id: $item, column_id: "status", value: $value) {
    id
  }
}
"""
FIRST_ITEMS = (
    "query ($board: [ID!]) { boards(ids: $board) { items_page(limit: 3) { items { id } } } }"
)


class Engine:
    """The engine's API, as a client sees it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.auth = {"Authorization": f"Bearer {API_KEY}"}

    def task(self, item_id: str) -> dict[str, Any] | None:
        response = httpx.post(
            f"{self.url}/v1/connectors/tasktracker/actions/list_tasks",
            json={"input": {}},
            headers=self.auth,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        tasks = response.json()["output"]["tasks"]
        return next((t for t in tasks if t["external_ref"] == f"monday:{item_id}"), None)

    def hook_runs(self) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.url}/v1/runs",
            params={"workflow": "monday-to-tracker"},
            headers=self.auth,
        )
        assert response.status_code == 200, response.text
        runs: list[dict[str, Any]] = response.json()["runs"]
        return [r for r in runs if r["trigger"].get("hook") == "monday-items"]


def wait_for_status(engine: Engine, item_id: str, status: str, timeout: float) -> float:
    """Seconds until the item's task has ``status``; fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        task = engine.task(item_id)
        if task is not None and task["status"] == status:
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"the task of item {item_id} did not become {status!r} in {timeout}s")


def change_status(sandbox: SandboxControl, item_id: str, label: str) -> None:
    sandbox.graphql_call(CHANGE_STATUS, board=BOARD, item=item_id, value=f'{{"label": "{label}"}}')


def test_a_changed_monday_item_reaches_the_tracker_through_its_webhook(
    empty_database_url: str, tmp_path: Path
) -> None:
    """monday-watch-board registers the hook (its challenge answered); each status
    change is one signed delivery, one monday-to-tracker run for that item, and the
    task follows within seconds; a delivery missed while the engine was down is
    retried by the sandbox and arrives once the engine is back."""
    ports = {name: free_port() for name in ("tracker", "engine")}
    tracker_url = f"http://127.0.0.1:{ports['tracker']}"
    engine_url = f"http://127.0.0.1:{ports['engine']}"
    sandbox_env = {"MONDAY_SIGNING_SECRET": SIGNING_SECRET, "MONDAY_SANDBOX_WEBHOOK_RETRY_S": "1"}
    with monday_sandbox_process(tmp_path, sandbox_env) as sandbox:
        tracker_env = {
            "TRACKER_USERNAME": TRACKER_USER,
            "TRACKER_PASSWORD": TRACKER_PASSWORD,
            "DW_PORT": str(ports["tracker"]),
        }
        engine_env = {
            "DATABASE_URL": empty_database_url,
            "DW_API_KEYS": API_KEY,
            "DW_PORT": str(ports["engine"]),
            "DW_SECRETS_KEY": "00" * 32,
            "MONDAY_API_TOKEN": "monday-sandbox-token-for-tests",
            "MONDAY_API_URL": sandbox.graphql,
            "MONDAY_SIGNING_SECRET": SIGNING_SECRET,
            "TRACKER_URL": tracker_url,
            "TRACKER_USERNAME": TRACKER_USER,
            "TRACKER_PASSWORD": TRACKER_PASSWORD,
        }
        with CliProcess("serve", "tracker", env=tracker_env, cwd=tmp_path) as tracker:
            tracker.wait_http(f"{tracker_url}/readyz")
            engine_process = CliProcess("serve", "engine", env=engine_env, cwd=tmp_path)
            try:
                engine_process.start()
                engine_process.wait_http(f"{engine_url}/readyz")
                engine = Engine(engine_url)
                watch = httpx.post(
                    f"{engine_url}/v1/workflows/monday-watch-board/runs",
                    params={"wait": 30},
                    json={
                        "inputs": {"board_id": BOARD, "url": f"{engine_url}/v1/hooks/monday-items"}
                    },
                    headers=engine.auth,
                    timeout=40,
                )
                assert watch.status_code == 200, watch.text
                assert watch.json()["status"] == "succeeded", watch.json()
                assert watch.json()["output"]["event"] == "change_column_value"

                page = sandbox.graphql_call(FIRST_ITEMS, board=[BOARD])
                first, second = (i["id"] for i in page["boards"][0]["items_page"]["items"][:2])
                change_status(sandbox, first, "Stuck")
                took = wait_for_status(engine, first, "blocked", timeout=15)
                assert took < 10, f"the change took {took:.1f}s to reach the tracker"
                runs = engine.hook_runs()
                assert len(runs) == 1
                assert runs[0]["inputs"]["item_id"] == first
                assert engine.task(second) is None, "only the changed item is synced"

                # The engine stops; the change made meanwhile is retried until it is back.
                assert engine_process.stop(signal.SIGTERM) == 0
                change_status(sandbox, first, "Done")
                deadline = time.monotonic() + 15
                while not any(d["status"] is None for d in sandbox.deliveries()):
                    assert time.monotonic() < deadline, "the sandbox never tried to deliver"
                    time.sleep(0.2)
                engine_process = CliProcess("serve", "engine", env=engine_env, cwd=tmp_path)
                engine_process.start()
                engine_process.wait_http(f"{engine_url}/readyz")
                wait_for_status(engine, first, "done", timeout=20)
                attempts = [d for d in sandbox.deliveries() if d["status"] is None]
                assert attempts, sandbox.deliveries()
                assert len(engine.hook_runs()) == 2, "one run per change, retries included"
            finally:
                if engine_process.process is not None and engine_process.process.poll() is None:
                    engine_process.stop(signal.SIGTERM)
