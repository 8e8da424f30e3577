"""Milestone 2: Monday -> Task Tracker sync by five processes, re-run, change, partial failure."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.engine import API_KEY
from tests.support.monday import SANDBOX_TOKEN, monday_sandbox_process
from tests.support.net import free_port
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance

SERVICE_TOKEN = "service-token-for-milestone-two"
TRACKER_USER, TRACKER_PASSWORD = "sync-bot", "tracker-password-for-tests"
BOARD = "5012345611"  # Borealis Mobile App - Roadmap (a small board of the sandbox)


class Engine:
    """The engine's API, as a client sees it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.auth = {"Authorization": f"Bearer {API_KEY}"}

    def call(self, connector: str, action: str, **payload: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/v1/connectors/{connector}/actions/{action}",
            json={"input": payload},
            headers=self.auth,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["output"]
        return result

    def sync(self) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/v1/workflows/monday-to-tracker/runs",
            params={"wait": 120},
            json={"inputs": {"board_id": BOARD}},
            headers=self.auth,
            timeout=150,
        )
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        assert run["status"] == "succeeded", run
        return run


def test_monday_to_tracker_in_separate_processes(empty_database_url: str, tmp_path: Path) -> None:
    """Five processes: no duplicates on re-run, a changed item updated, a bad item reported."""
    ports = {name: free_port() for name in ("tracker", "monday", "tasktracker", "engine")}
    tracker_url = f"http://127.0.0.1:{ports['tracker']}"
    with monday_sandbox_process(tmp_path) as sandbox:
        envs = {
            "tracker": ("serve", "tracker"),
            "monday": ("serve", "connector", "monday"),
            "tasktracker": ("serve", "connector", "tasktracker"),
            "engine": ("serve", "engine"),
        }
        common = {"DW_SERVICE_TOKEN": SERVICE_TOKEN, "TRACKER_USERNAME": TRACKER_USER}
        env = {
            "tracker": {"TRACKER_PASSWORD": TRACKER_PASSWORD},
            "monday": {"MONDAY_API_TOKEN": SANDBOX_TOKEN, "MONDAY_API_URL": sandbox.graphql},
            "tasktracker": {"TRACKER_URL": tracker_url, "TRACKER_PASSWORD": TRACKER_PASSWORD},
            "engine": {
                "DATABASE_URL": empty_database_url,
                "DW_API_KEYS": API_KEY,
                "DW_CONNECTOR_URLS": (
                    f"monday=http://127.0.0.1:{ports['monday']},"
                    f"tasktracker=http://127.0.0.1:{ports['tasktracker']}"
                ),
            },
        }
        processes = {
            name: CliProcess(
                *args, env={**common, **env[name], "DW_PORT": str(ports[name])}, cwd=tmp_path
            )
            for name, args in envs.items()
        }
        try:
            for name, process in processes.items():
                process.start()
                process.wait_http(f"http://127.0.0.1:{ports[name]}/readyz")
            engine = Engine(f"http://127.0.0.1:{ports['engine']}")
            board_items = engine.call("monday", "list_items", board_id=BOARD)["items"]

            # One item the tracker cannot take: its name is longer than a task title may be.
            engine.call("monday", "create_item", board_id=BOARD, item_name="x" * 230)

            first = engine.sync()["output"]
            total = len(board_items) + 1
            assert first["items"] == total
            assert (first["created"], first["updated"], first["unchanged"]) == (total - 1, 0, 0)
            assert first["failed"] == 1
            assert first["failures"][0]["code"] == "invalid_input"
            assert "title" in first["failures"][0]["message"]

            tasks = engine.call("tasktracker", "list_tasks")["tasks"]
            assert len(tasks) == total - 1
            by_ref = {t["external_ref"]: t for t in tasks}
            item = board_items[0]
            linked = httpx.get(
                f"{engine.url}/v1/links",
                params={"system": "monday", "id": item["id"]},
                headers=engine.auth,
            ).json()["links"]
            assert [(link["other_system"], link["other_id"]) for link in linked] == [
                ("tasktracker", by_ref[f"monday:{item['id']}"]["id"])
            ]

            # Change one item in Monday; the re-run updates exactly that task.
            engine.call(
                "monday",
                "update_item",
                board_id=BOARD,
                item_id=item["id"],
                column_values={"status": {"label": "Stuck"}},
            )
            second = engine.sync()["output"]
            assert (second["created"], second["updated"], second["unchanged"]) == (
                0,
                1,
                total - 2,
            )
            assert second["failed"] == 1
            tasks = engine.call("tasktracker", "list_tasks")["tasks"]
            assert len(tasks) == total - 1, "a re-run created duplicates"
            changed = next(t for t in tasks if t["external_ref"] == f"monday:{item['id']}")
            assert changed["status"] == "blocked"
        finally:
            for process in reversed(list(processes.values())):
                if process.process is not None:
                    assert process.stop(signal.SIGTERM) == 0
