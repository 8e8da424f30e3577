"""Stopping a component: the first Ctrl-C stops it gracefully, a second one at once,
and neither prints a traceback."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance


def _slack_sandbox(tmp_path: Path) -> tuple[CliProcess, str]:
    """``serve sandbox slack`` (no database needed), and its health URL."""
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": "xoxb-stopping-test",
        "SLACK_SIGNING_SECRET": "stopping-test-secret",
        "DW_PORT": str(port),
        "SLACK_BOT_URL": f"http://127.0.0.1:{free_port()}",
        "SLACK_API_URL": "",
    }
    process = CliProcess("serve", "sandbox", "slack", env=env, cwd=tmp_path)
    return process, f"http://127.0.0.1:{port}/healthz"


def test_ctrl_c_twice_stops_at_once_without_a_traceback(tmp_path: Path) -> None:
    """An impatient second Ctrl-C stops the component at once, and the app's own
    shutdown still runs: no traceback of a cancelled lifespan at exit."""
    process, health = _slack_sandbox(tmp_path)
    with process:
        process.wait_http(health)
        assert process.process is not None
        process.process.send_signal(signal.SIGINT)
        # Apart, so the kernel does not merge them into one; well inside uvicorn's
        # 0.1 s tick, so the second arrives before the server's graceful shutdown.
        time.sleep(0.02)
        assert process.stop(signal.SIGINT, timeout=15) == 0
    assert "stopping at once" in process.stderr
    assert "Traceback" not in process.stderr
    assert "Error" not in process.stderr


def test_ctrl_c_once_says_it_is_stopping(tmp_path: Path) -> None:
    """One Ctrl-C stops gracefully and says how to stop at once."""
    process, health = _slack_sandbox(tmp_path)
    with process:
        process.wait_http(health)
        assert process.stop(signal.SIGINT, timeout=15) == 0
    assert "send it again to stop at once" in process.stderr
    assert "stopping at once" not in process.stderr
    assert "Traceback" not in process.stderr
