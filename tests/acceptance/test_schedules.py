"""Schedules across engine processes: one run per tick with two engines up, and the
ticks missed while every engine was stopped caught up by the next one to start."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from dataworkflows.engine.schedules import Calendar
from tests.support.engine import API_KEY, engine_process_env
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance

FLOW = """\
name: stamp
inputs: {label: {type: string}}
steps:
  - {id: echo, uses: core.echo, with: {message: "{{ inputs.label }}"}}
"""
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def engine_env(
    database_url: str, directory: Path, definitions: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """An engine process's URL and environment, with a short lease."""
    return engine_process_env(database_url, directory, definitions, DW_LEASE_SECONDS="2")


def move_next_fire_at(database_url: str, name: str, when: datetime) -> None:
    """Stand in for time passing: the schedule's next tick is put in the past, and every
    engine is told, as they are of a change made on another engine."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE dw.schedules SET next_fire_at = %s WHERE name = %s", (when, name))
        conn.execute("NOTIFY dw_runs, 'schedules'")


def scheduled_runs(base: str, schedule: str) -> list[dict[str, Any]]:
    runs = httpx.get(f"{base}/v1/runs", params={"workflow": "stamp", "limit": 200}, headers=AUTH)
    assert runs.status_code == 200, runs.text
    return [r for r in runs.json()["runs"] if r["trigger"].get("schedule") == schedule]


def wait_until(check: Any, *, within_s: float = 20.0) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_tick_runs_once_with_two_engines_up(empty_database_url: str, tmp_path: Path) -> None:
    """Two engine processes on one database: a due tick starts exactly one run."""
    definitions = {
        "stamp.yaml": FLOW,
        "schedules.yaml": "schedules:\n"
        "  - {name: every-minute, workflow: stamp, cron: '* * * * *', inputs: {label: tick}}\n",
    }
    a_url, a_env = engine_env(empty_database_url, tmp_path, definitions)
    b_url, b_env = engine_env(empty_database_url, tmp_path, definitions)
    with (
        CliProcess("serve", "engine", env=a_env, cwd=tmp_path) as a,
        CliProcess("serve", "engine", env=b_env, cwd=tmp_path) as b,
    ):
        a.wait_http(f"{a_url}/readyz")
        b.wait_http(f"{b_url}/readyz")
        view = httpx.get(f"{b_url}/v1/schedules/every-minute", headers=AUTH).json()
        assert view["source"] == "file"
        tick = datetime.now(UTC).replace(second=0, microsecond=0)
        move_next_fire_at(empty_database_url, "every-minute", tick)
        wait_until(lambda: scheduled_runs(a_url, "every-minute"))
        time.sleep(1.0)  # room for a second run, had both engines made one
        every = scheduled_runs(b_url, "every-minute")
        # Should the minute turn meanwhile, the next tick is due too and rightly
        # makes a run of its own: what must hold is one run per tick.
        runs = [r for r in every if r["trigger"].get("tick") == tick.isoformat()]
        view = httpx.get(f"{a_url}/v1/schedules/every-minute", headers=AUTH).json()
        assert a.stop() == 0
        assert b.stop() == 0
    assert len(runs) == 1, runs
    assert runs[0]["trigger"] == {
        "source": "schedule",
        "schedule": "every-minute",
        "tick": tick.isoformat(),
    }
    assert len({r["trigger"]["tick"] for r in every}) == len(every), every
    assert view["last_run_id"] in {r["id"] for r in every}
    assert datetime.fromisoformat(view["next_fire_at"]) > tick


def test_ticks_missed_while_stopped_are_caught_up(empty_database_url: str, tmp_path: Path) -> None:
    """An hourly schedule with missed: each (limit 2): the next engine to start runs the
    latest two of the five ticks missed while none ran, then waits for the next."""
    now = datetime.now(UTC)
    # Ticks half an hour from now: none of them is on time, whatever the minute.
    cron = f"{(now.minute + 30) % 60} * * * *"
    latest = Calendar.parse(cron, "UTC").after(now - timedelta(hours=1))
    missed = [latest - timedelta(hours=h) for h in (4, 3, 2, 1, 0)]
    base, env = engine_env(empty_database_url, tmp_path, {"stamp.yaml": FLOW})
    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as first:
        first.wait_http(f"{base}/readyz")
        declared = httpx.put(
            f"{base}/v1/schedules/hourly",
            json={
                "workflow": "stamp",
                "cron": cron,
                "inputs": {"label": "hourly"},
                "missed": "each",
                "missed_limit": 2,
            },
            headers=AUTH,
        )
        assert declared.status_code == 201, declared.text
        assert first.stop() == 0

    # While no engine runs, five ticks go by.
    move_next_fire_at(empty_database_url, "hourly", missed[0])

    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as second:
        second.wait_http(f"{base}/readyz")
        runs = wait_until(
            lambda: len(scheduled_runs(base, "hourly")) >= 2 and scheduled_runs(base, "hourly")
        )
        time.sleep(0.5)
        runs = scheduled_runs(base, "hourly")
        view = httpx.get(f"{base}/v1/schedules/hourly", headers=AUTH).json()
        assert second.stop() == 0
    assert sorted(r["trigger"]["tick"] for r in runs) == [t.isoformat() for t in missed[-2:]]
    assert datetime.fromisoformat(view["next_fire_at"]) == latest + timedelta(hours=1)
    assert view["last_tick_at"] is not None
    assert datetime.fromisoformat(view["last_tick_at"]) == missed[-1]
