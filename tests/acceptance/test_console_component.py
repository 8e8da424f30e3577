"""The console as its own component: `serve console` reads an engine in another
process over its REST API; a person signs in, finds a failed run, retries it, starts
a workflow from its form; the console says so when the engine is down or refuses it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.support.engine import API_KEY, engine_process_env
from tests.support.net import free_port
from tests.support.processes import CliProcess, run_cli

pytestmark = pytest.mark.acceptance

FLAKY = """\
name: flaky
inputs:
  nights: {type: integer}
steps:
  - id: book
    uses: core.fail
    retry: {attempts: 1}
    with: {code: invalid_input, message: the hotel is full, retryable: false, times: 1}
output: {nights: "{{ inputs.nights }}"}
"""
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def _csrf(page: httpx.Response) -> str:
    found = CSRF_RE.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def _until(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_standalone_console_reads_and_drives_an_engine(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Sign in, read a failed run's error, Retry it to success and start a run from the
    form (a bad field is named) — all through `serve console` over the engine's API."""
    engine_url, env = engine_process_env(empty_database_url, tmp_path, {"flaky.yaml": FLAKY})
    console_port = free_port()
    console_url = f"http://127.0.0.1:{console_port}"
    console_env = {
        "DW_ENGINE_URL": engine_url,
        "DW_ENGINE_API_KEY": API_KEY,
        "DW_API_KEYS": API_KEY,
        "DW_PORT": str(console_port),
    }
    with (
        CliProcess("serve", "engine", env=env, cwd=tmp_path) as engine,
        httpx.Client(base_url=engine_url, headers={"Authorization": f"Bearer {API_KEY}"}) as api,
        httpx.Client(base_url=console_url, timeout=30) as browser,
    ):
        engine.wait_http(f"{engine_url}/readyz")
        failed = api.post("/v1/workflows/flaky/runs?wait=30", json={"inputs": {"nights": 2}})
        assert failed.json()["status"] == "failed", failed.text
        run_id = failed.json()["id"]

        with CliProcess("serve", "console", env=console_env, cwd=tmp_path) as console:
            console.wait_http(f"{console_url}/readyz")
            assert browser.get("/runs").status_code == 303, "no page without a session"
            signed = browser.post("/sign-in", data={"api_key": API_KEY, "next": "/runs"})
            assert signed.status_code == 303

            listed = browser.get("/runs?status=failed")
            assert f"/runs/{run_id}" in listed.text
            page = browser.get(f"/runs/{run_id}")
            assert "the hotel is full" in page.text
            retried = browser.post(f"/runs/{run_id}/retry", data={"csrf": _csrf(page)})
            assert retried.status_code == 303
            _until(lambda: api.get(f"/v1/runs/{run_id}").json()["run"]["status"] == "succeeded")

            form = browser.get("/workflows/flaky")
            bad = browser.post("/workflows/flaky/runs", data={"csrf": _csrf(form), "nights": "two"})
            assert bad.status_code == 422
            assert 'id="err-nights"' in bad.text
            good = browser.post("/workflows/flaky/runs", data={"csrf": _csrf(form), "nights": "3"})
            assert good.status_code == 303
            started = good.headers["location"].rsplit("/", 1)[-1]
            run = api.get(f"/v1/runs/{started}").json()["run"]
            assert (run["trigger"]["source"], run["inputs"]) == ("console", {"nights": 3})
            assert "core" in browser.get("/connectors").text
            assert browser.get("/reports").status_code == 200

        refused_env = {**console_env, "DW_ENGINE_API_KEY": "not-the-engine-key-000"}
        with CliProcess("serve", "console", env=refused_env, cwd=tmp_path) as console:
            console.wait_http(f"{console_url}/healthz")
            browser.cookies.clear()
            browser.post("/sign-in", data={"api_key": API_KEY, "next": "/runs"})
            answer = browser.get("/runs")
            assert answer.status_code == 503
            assert "DW_ENGINE_API_KEY" in answer.text
            assert "not-the-engine-key-000" not in answer.text
            assert "not-the-engine-key-000" not in (console.stdout + console.stderr)

    unset = run_cli("serve", "console", env={"DW_PORT": str(console_port)}, cwd=tmp_path)
    assert unset.returncode == 2
    assert "DW_ENGINE_API_KEY is not set" in unset.stderr
