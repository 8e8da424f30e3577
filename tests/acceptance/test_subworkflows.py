"""A sub-workflow cancelled through its parent, with the engine as its own process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.engine import API_KEY, engine_process_env
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance

CHILD = """\
name: long-child
steps:
  - {id: wait, uses: core.sleep, with: {seconds: 60}}
"""
PARENT = """\
name: long-parent
steps:
  - {id: call, uses: workflows.run, timeout: 5m, with: {workflow: long-child}}
"""
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def poll(check: Any, *, within_s: float = 20.0) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_cancelling_a_parent_run_cancels_its_child(empty_database_url: str, tmp_path: Path) -> None:
    """POST /v1/runs/{parent}/cancel stops the parent and the child it waits for."""
    base, env = engine_process_env(
        empty_database_url, tmp_path, {"long-child.yaml": CHILD, "long-parent.yaml": PARENT}
    )
    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as engine:
        engine.wait_http(f"{base}/readyz")
        started = httpx.post(f"{base}/v1/workflows/long-parent/runs", json={}, headers=AUTH)
        assert started.status_code == 201, started.text
        parent_id = started.json()["id"]

        def running_child() -> dict[str, Any] | None:
            detail = httpx.get(f"{base}/v1/runs/{parent_id}", headers=AUTH).json()
            children = [c for c in detail["children"] if c["status"] == "running"]
            return children[0] if children else None

        child = poll(running_child)
        assert child["links"]["parent"] == f"/v1/runs/{parent_id}"
        cancelled = httpx.post(f"{base}/v1/runs/{parent_id}/cancel", headers=AUTH)
        assert cancelled.status_code == 202, cancelled.text

        def finished(run_id: str) -> dict[str, Any] | None:
            run = httpx.get(f"{base}/v1/runs/{run_id}", headers=AUTH).json()["run"]
            return run if run["finished_at"] else None

        parent = poll(lambda: finished(parent_id))
        child = poll(lambda: finished(child["id"]))
        assert engine.stop() == 0
    assert parent["status"] == "cancelled"
    assert child["status"] == "cancelled"
