"""A run waiting for a signal survives its engine being killed: the signal, sent to a
new engine process, resumes it where it was."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.engine import API_KEY, engine_process_env
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance

FLOW = """\
name: confirm-first
steps:
  - {id: prepare, uses: core.echo, with: {items: 3}}
  - {id: confirm, uses: wait.signal, with: {signal: confirm, timeout: 1d}}
  - {id: write, uses: core.echo, with: {confirmed_by: "{{ steps.confirm.output.payload.by }}"}}
output: {by: "{{ steps.write.output.confirmed_by }}"}
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


def test_a_waiting_run_survives_a_killed_engine(empty_database_url: str, tmp_path: Path) -> None:
    """SIGKILL the engine while the run waits; a new engine takes the signal and
    finishes the run without running the first step again."""
    base, env = engine_process_env(
        empty_database_url, tmp_path, {"confirm-first.yaml": FLOW}, DW_LEASE_SECONDS="2"
    )

    def run_of(run_id: str) -> dict[str, Any]:
        return dict(httpx.get(f"{base}/v1/runs/{run_id}", headers=AUTH).json())

    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as first:
        first.wait_http(f"{base}/readyz")
        started = httpx.post(f"{base}/v1/workflows/confirm-first/runs", json={}, headers=AUTH)
        assert started.status_code == 201, started.text
        run_id = started.json()["id"]
        poll(lambda: run_of(run_id)["run"]["status"] == "waiting")
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)

    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as second:
        second.wait_http(f"{base}/readyz")
        assert run_of(run_id)["run"]["status"] == "waiting"
        sent = httpx.post(
            f"{base}/v1/runs/{run_id}/signals/confirm",
            json={"payload": {"by": "maya"}},
            headers=AUTH,
        )
        assert sent.status_code == 202, sent.text
        detail = poll(lambda: (d := run_of(run_id))["run"]["finished_at"] and d)
        assert second.stop() == 0
    assert detail["run"]["status"] == "succeeded", detail["run"]
    assert detail["run"]["output"] == {"by": "maya"}
    prepared = [s for s in detail["steps"] if s["step_id"] == "prepare"]
    assert len(prepared) == 1
    kinds = [e["kind"] for e in detail["events"]]
    assert "waiting" in kinds
    assert "signalled" in kinds
