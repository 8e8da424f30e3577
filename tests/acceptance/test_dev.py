"""`dataworkflows dev` as a new user runs it: embedded database, docs, clean stop."""

from __future__ import annotations

import signal
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.net import free_port
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance


def embedded_url(pgdata: Path) -> tuple[str, int]:
    """The URL of the running embedded server and its postmaster pid (from postmaster.pid)."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    pid, port, socket_dir = int(lines[0]), lines[3], lines[4]
    return f"postgresql://postgres@/dataworkflows?host={socket_dir}&port={port}", pid


def exits_soon(pid: int, timeout: float = 10.0) -> bool:
    """Whether process ``pid`` is gone (or a zombie) within ``timeout`` seconds.

    pg_ctl's wait ends when postmaster.pid is removed, a moment before the exit.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        url = a.get("src") if tag == "script" else a.get("href") if tag == "link" else None
        if url:
            self.urls.append(url)


def test_dev_runs_keeps_data_and_stops_cleanly(tmp_path: Path) -> None:
    """dev serves the engine, its docs and a key; keeps data across restarts; stops its database."""
    port = free_port()
    data_dir = tmp_path / "state"
    env = {"DW_PORT": str(port), "DW_DATA_DIR": str(data_dir)}
    base = f"http://127.0.0.1:{port}"

    with CliProcess("dev", "--no-browser", env=env, cwd=tmp_path) as dev:
        ready = dev.wait_http(f"{base}/readyz")
        assert ready.json()["checks"] == {
            "database": "ok",
            "migrations": "ok",
            "executor": "ok",
            "workflows": "ok",
        }
        page = httpx.get(f"{base}/docs")
        assert page.status_code == 200
        assets = _Assets()
        assets.feed(page.text)
        assert assets.urls
        for url in assets.urls:
            assert httpx.get(f"{base}{url}").status_code == 200, url
        dev.wait_stdout(f"{base}/docs")

        key_file = data_dir / "api-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        key = key_file.read_text().strip()
        assert key in dev.wait_stdout("API key"), "dev prints its API key"
        auth = {"Authorization": f"Bearer {key}"}
        run = httpx.post(
            f"{base}/v1/workflows/hello-world/runs", params={"wait": 10}, json={}, headers=auth
        )
        assert run.status_code == 200, run.text
        assert run.json()["status"] == "succeeded"
        # No MONDAY_API_TOKEN: dev answers Monday calls with its sandbox.
        assert "Sandbox    monday" in dev.stdout
        snapshot = httpx.post(
            f"{base}/v1/workflows/monday-board-snapshot/runs",
            params={"wait": 30},
            json={"inputs": {"board_id": "5012345601"}},
            headers=auth,
            timeout=40,
        )
        assert snapshot.status_code == 200, snapshot.text
        assert snapshot.json()["status"] == "succeeded"
        assert snapshot.json()["output"]["items"] > 0
        # No TRACKER_URL: dev runs the mock tracker, and Milestone 2's sync works against it.
        assert "Tracker    http://" in dev.stdout
        synced = httpx.post(
            f"{base}/v1/workflows/monday-to-tracker/runs",
            params={"wait": 60},
            json={"inputs": {"board_id": "5012345601"}},
            headers=auth,
            timeout=70,
        )
        assert synced.status_code == 200, synced.text
        assert synced.json()["status"] == "succeeded"
        output = synced.json()["output"]
        assert output["created"] == output["items"] == snapshot.json()["output"]["items"]
        assert output["failed"] == 0
        # project-status: a project's boards found by name, counted.
        status = httpx.post(
            f"{base}/v1/workflows/project-status/runs",
            params={"wait": 60},
            json={"inputs": {"project": "apollo"}},
            headers=auth,
            timeout=70,
        )
        assert status.status_code == 200, status.text
        report = status.json()["output"]
        assert len(report["boards"]) == 2
        assert all("Apollo" in b for b in report["boards"])
        assert report["items"] == sum(report["by_status"].values()) > 0
        unknown = httpx.post(
            f"{base}/v1/workflows/project-status/runs",
            params={"wait": 60},
            json={"inputs": {"project": "no-such-project"}},
            headers=auth,
            timeout=70,
        ).json()
        assert unknown["status"] == "failed"
        assert "no-such-project" in str(unknown), "the failure names the unknown project"
        # What /dw status runs: the report from every sandbox, posted, published, stored.
        full = httpx.post(
            f"{base}/v1/workflows/project-status-report/runs",
            params={"wait": 60},
            json={"inputs": {"project": "apollo"}},
            headers=auth,
            timeout=70,
        )
        assert full.status_code == 200, full.text
        assert full.json()["status"] == "succeeded", full.json()["error"]
        made = full.json()["output"]
        assert made["missing"] == "nothing", "every sandbox answered"
        assert made["posted"].startswith("C07APOLLO1 ")
        assert "/wiki/spaces/APOLLO/pages/" in made["status_page"]
        stored = httpx.get(f"{base}{made['report']}", headers=auth, timeout=10)
        assert stored.status_code == 200, stored.text
        _, postmaster = embedded_url(data_dir / "pgdata")
        assert dev.stop(signal.SIGTERM) == 0
    assert exits_soon(postmaster), "SIGTERM left the embedded PostgreSQL running"
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()

    with CliProcess("dev", "--no-browser", env=env, cwd=tmp_path) as dev:
        dev.wait_http(f"{base}/readyz")
        assert key in dev.wait_stdout("API key"), "the key is kept across restarts"
        history = httpx.get(f"{base}/v1/runs/{run.json()['id']}", headers=auth)
        assert history.status_code == 200
        assert history.json()["run"]["status"] == "succeeded"
        url, postmaster = embedded_url(data_dir / "pgdata")
        with psycopg.connect(url) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM dw.list_workflows_v1()")]
        assert "hello-world" in names
        assert dev.stop(signal.SIGINT) == 0
    assert exits_soon(postmaster), "Ctrl-C left the embedded PostgreSQL running"
