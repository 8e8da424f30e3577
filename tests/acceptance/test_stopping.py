"""Stopping a component: the first Ctrl-C stops it gracefully, a second one at once,
and neither prints a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
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


SLOW_SHUTDOWN = """
import asyncio, sys
from contextlib import asynccontextmanager
from litestar import Litestar, get
from dataworkflows.runtime.aio import run
from dataworkflows.runtime.logging import configure_logging
from dataworkflows.runtime.serving import ServedApp, bind_socket, serve_until_stopped

@asynccontextmanager
async def hangs_on_shutdown(app):
    yield
    await asyncio.sleep(60)

@get("/healthz", sync_to_thread=False)
def healthz() -> str:
    return "ok"

async def main():
    app = Litestar([healthz], lifespan=[hangs_on_shutdown], logging_config=None)
    sock = bind_socket("127.0.0.1", int(sys.argv[1]))
    await serve_until_stopped([ServedApp(name="slow", app=app, sock=sock)])

configure_logging(level="info", fmt="json")
run(main())
"""


def test_an_app_that_does_not_shut_down_is_left_after_two_seconds(tmp_path: Path) -> None:
    """Stopped at once, an app whose own shutdown hangs gets 2 s, then the process
    exits with one warning saying so, not a traceback."""
    port = free_port()
    script = tmp_path / "slow.py"
    script.write_text(SLOW_SHUTDOWN)
    with subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the app did not start"
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        began = time.monotonic()
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert time.monotonic() - began < 10
    assert "an app did not shut down in time" in err
    assert "Traceback" not in err
