"""An engine killed with SIGKILL mid-run: a second engine process finishes the run."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.support.engine import API_KEY
from tests.support.net import free_port
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance

FLOW = """\
name: six-steps
steps:
""" + "".join(f"  - {{id: s{i}, uses: core.sleep, with: {{seconds: 0.4}}}}\n" for i in range(1, 7))


def test_sigkilled_engine_is_replaced_without_redoing_steps(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Engine A dies mid-run; engine B resumes after A's lease and no finished step reruns."""
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "six-steps.yaml").write_text(FLOW)
    env = {
        "DATABASE_URL": empty_database_url,
        "DW_API_KEYS": API_KEY,
        "DW_LEASE_SECONDS": "2",
        "DW_WORKFLOWS_DIR": str(workflows),
    }
    auth = {"Authorization": f"Bearer {API_KEY}"}
    port_a, port_b = free_port(), free_port()
    with CliProcess("serve", "engine", env={**env, "DW_PORT": str(port_a)}, cwd=tmp_path) as a:
        a.wait_http(f"http://127.0.0.1:{port_a}/readyz")
        started = httpx.post(
            f"http://127.0.0.1:{port_a}/v1/workflows/six-steps/runs", json={}, headers=auth
        )
        assert started.status_code == 201, started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            detail = httpx.get(f"http://127.0.0.1:{port_a}/v1/runs/{run_id}", headers=auth).json()
            done = [s for s in detail["steps"] if s["status"] == "succeeded"]
            if len(done) >= 2:
                break
            time.sleep(0.05)
        assert a.process is not None
        a.process.send_signal(signal.SIGKILL)
        a.process.wait(timeout=10)
        killed_at = datetime.now(UTC)
        done_before = {s["step_id"] for s in detail["steps"] if s["status"] == "succeeded"}
        engine_a = next(e["detail"]["engine"] for e in detail["events"] if e["kind"] == "claimed")

    with CliProcess("serve", "engine", env={**env, "DW_PORT": str(port_b)}, cwd=tmp_path) as b:
        b.wait_http(f"http://127.0.0.1:{port_b}/readyz")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            detail = httpx.get(f"http://127.0.0.1:{port_b}/v1/runs/{run_id}", headers=auth).json()
            if detail["run"]["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.1)
        assert b.stop() == 0

    assert detail["run"]["status"] == "succeeded", detail
    assert len(done_before) >= 2
    steps = detail["steps"]
    for step_id in (f"s{i}" for i in range(1, 7)):
        succeeded = [s for s in steps if s["step_id"] == step_id and s["status"] == "succeeded"]
        assert len(succeeded) == 1, f"{step_id} succeeded {len(succeeded)} times"
    for step_id in done_before:
        rows = [s for s in steps if s["step_id"] == step_id]
        assert len(rows) == 1, f"{step_id} finished before the kill but ran again"
        assert datetime.fromisoformat(rows[0]["finished_at"]) < killed_at
    recovered = [e for e in detail["events"] if e["kind"] == "recovered"]
    assert len(recovered) == 1
    assert recovered[0]["detail"]["previous_engine"] == engine_a
    assert detail["run"]["claims"] == 2
