"""Schedules over the API and firing on real engines: exactly one run per tick."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from dataworkflows.engine.schedules import Calendar
from dataworkflows.engine.store import RunFilter
from tests.support.engine import ProbeLog, running_engine

FLOW = """
name: scheduled-probe
inputs:
  label: {type: string}
  api_token: {type: string, default: ""}
steps:
  - id: record
    uses: probe.record
    with:
      key: "{{ inputs.label }}-{{ 'opened' if inputs.api_token.startswith('xoxp-') else 'closed' }}-{{ run.id }}"
      payload: {token: "{{ inputs.api_token }}"}
"""


async def scheduled_runs(harness: Any, schedule: str) -> list[Any]:
    runs = await harness.service.list_runs(RunFilter(workflow="scheduled-probe", limit=1000))
    return [r for r in runs if r.trigger.get("schedule") == schedule]


async def make_due(database_url: str, name: str, next_fire_at: datetime) -> None:
    """Stand in for time passing: the schedule's next fire time is moved back, and the
    engines are told, as they are of a change made on another engine."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "UPDATE dw.schedules SET next_fire_at = %s WHERE name = %s", (next_fire_at, name)
        )
        await conn.execute("NOTIFY dw_runs, 'schedules'")


async def next_fire_at(harness: Any, name: str) -> datetime:
    view = (await harness.client.get(f"/v1/schedules/{name}")).json()
    return datetime.fromisoformat(view["next_fire_at"])


async def until(predicate: Any, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_schedule_is_managed_over_the_api(database_url: str) -> None:
    """Create, replace, list with next fire times, pause, resume, run now, delete."""
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        body = {
            "workflow": "scheduled-probe",
            "cron": "0 9 * * MON",
            "timezone": "Europe/London",
            "inputs": {"label": "api"},
        }
        created = await engine.client.put("/v1/schedules/weekly-api", json=body)
        assert created.status_code == 201, created.text
        view = created.json()
        assert view["explanation"] == "At 09:00 on Monday"
        assert view["source"] == "api"
        assert view["missed"] == "once"
        upcoming = [datetime.fromisoformat(t) for t in view["upcoming"]]
        assert len(upcoming) == 3
        assert upcoming == sorted(upcoming)
        assert upcoming[0] > datetime.now(UTC)
        london = Calendar.parse("@daily", "Europe/London").zone
        assert all(t.astimezone(london).hour == 9 for t in upcoming)
        assert all(t - s == timedelta(days=7) for s, t in itertools.pairwise(upcoming))

        again = await engine.client.put("/v1/schedules/weekly-api", json=body)
        assert again.status_code == 200
        assert again.json()["next_fire_at"] == view["next_fire_at"]

        changed = await engine.client.put(
            "/v1/schedules/weekly-api", json={**body, "cron": "@daily", "timezone": "UTC"}
        )
        assert changed.status_code == 200
        assert changed.json()["explanation"] == "At 00:00 every day"

        listed = (await engine.client.get("/v1/schedules")).json()["schedules"]
        assert [s["name"] for s in listed] == ["weekly-api"]

        paused = (await engine.client.post("/v1/schedules/weekly-api/pause")).json()
        assert paused["paused"] is True
        assert paused["next_fire_at"] is None
        assert paused["upcoming"] == []
        resumed = (await engine.client.post("/v1/schedules/weekly-api/resume")).json()
        assert resumed["paused"] is False
        assert datetime.fromisoformat(resumed["next_fire_at"]) > datetime.now(UTC)

        ran = await engine.client.post("/v1/schedules/weekly-api/run?wait=5")
        assert ran.status_code == 200, ran.text
        assert ran.json()["status"] == "succeeded"
        run = ran.json()
        assert run["trigger"] == {
            "source": "schedule",
            "schedule": "weekly-api",
            "requested": "run-now",
        }
        assert run["inputs"]["label"] == "api"

        gone = await engine.client.delete("/v1/schedules/weekly-api")
        assert gone.status_code == 204
        missing = await engine.client.get("/v1/schedules/weekly-api")
        assert missing.status_code == 404
        assert (await engine.client.delete("/v1/schedules/weekly-api")).status_code == 404
        assert (await engine.client.post("/v1/schedules/weekly-api/run")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"cron": "0 25 * * *"}, "cron", "bad hour"),
        ({"timezone": "Europe/Atlantis"}, "timezone", "IANA"),
        ({"workflow": "no-such-flow"}, "workflow", "no workflow called"),
        ({"inputs": {"label": 3}}, "inputs.label", "string"),
        ({"inputs": {"colour": "red", "label": "x"}}, "inputs.colour", "not an input"),
        ({"missed": "always"}, "missed", "always"),
        ({"every": "day"}, "every", "not a known field"),
        ({"name": "other"}, "name", "URL says"),
        ({"paused": "false"}, "paused", "Expected `bool"),
        ({"missed_limit": "3"}, "missed_limit", "Expected `int"),
    ],
)
async def test_bad_schedules_are_refused_naming_the_field(
    database_url: str, body: dict[str, Any], field: str, message: str
) -> None:
    """A bad schedule is a 422 naming the field and the problem; nothing is stored."""
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        good = {"workflow": "scheduled-probe", "cron": "@daily", "inputs": {"label": "x"}}
        answer = await engine.client.put("/v1/schedules/refused", json={**good, **body})
        assert answer.status_code in (400, 422), answer.text
        errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
        assert field in errors, errors
        assert message in errors[field]
        assert (await engine.client.get("/v1/schedules/refused")).status_code == 404


async def test_secret_inputs_are_sealed_at_rest_and_given_to_the_run(database_url: str) -> None:
    """A schedule's secret input is stored encrypted, shown masked, and reaches the run."""
    token = "xoxp-scheduled-secret-0042"
    probe = ProbeLog()
    async with running_engine(database_url, probe=probe) as engine:
        await engine.register(FLOW)
        body = {
            "workflow": "scheduled-probe",
            "cron": "@yearly",
            "inputs": {"label": "sealed", "api_token": token},
        }
        created = await engine.client.put("/v1/schedules/sealed", json=body)
        assert created.status_code == 201, created.text
        assert token not in created.text
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            row = await (
                await conn.execute("SELECT inputs::text FROM dw.schedules WHERE name = 'sealed'")
            ).fetchone()
        assert row is not None
        assert token not in row[0]
        assert "$sealed" in row[0]
        ran = await engine.client.post("/v1/schedules/sealed/run?wait=5")
        assert ran.status_code == 200
        run_id = UUID(ran.json()["id"])
        assert ran.json()["inputs"]["api_token"] != token
        assert [c.key for c in probe.calls] == [f"sealed-opened-{run_id}"]
        attempts = await engine.attempts(run_id)
        assert attempts[0].status == "succeeded"
        assert token not in str(attempts[0].input)
        assert token not in str(attempts[0].output)


async def test_a_due_tick_starts_exactly_one_run_with_two_engines(database_url: str) -> None:
    """Two engines see the same tick; one run starts, keyed and labelled by the tick, and
    the tick made due again (a crash before the schedule moved on) starts none."""
    async with running_engine(database_url) as a, running_engine(database_url) as b:
        await a.register(FLOW)
        # Hourly, not every minute: the clock must not reach the schedule's next tick of
        # its own while the test runs (with "* * * * *" a test that straddled a minute
        # saw that minute's run too).
        now = datetime.now(UTC)
        if now.minute == 59 and now.second >= 30:  # too close to the next tick
            await asyncio.sleep(61 - now.second)
        body = {"workflow": "scheduled-probe", "cron": "0 * * * *", "inputs": {"label": "both"}}
        assert (await a.client.put("/v1/schedules/both", json=body)).status_code == 201
        tick = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        for _ in range(2):
            await make_due(database_url, "both", tick)

            async def moved_on() -> bool:
                return await next_fire_at(b, "both") > tick

            await until(moved_on)
            await asyncio.sleep(0.5)  # room for a second run, if the engines made one
            runs = await scheduled_runs(a, "both")
            assert len(runs) == 1
            assert runs[0].trigger == {
                "source": "schedule",
                "schedule": "both",
                "tick": tick.isoformat(),
            }
            view = (await b.client.get("/v1/schedules/both")).json()
            assert view["last_run_id"] == str(runs[0].id)
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            cursor = await conn.execute(
                "SELECT source, schedule, tick FROM dw.run_triggers WHERE run_id = %s",
                (runs[0].id,),
            )
            assert await cursor.fetchall() == [("schedule", "both", tick.isoformat())]


async def test_missed_ticks_are_caught_up_as_the_schedule_says(database_url: str) -> None:
    """Five hours missed while stopped: each runs the latest 3 ticks, skip runs none."""
    now = datetime.now(UTC)
    # Ticks half an hour away from now: none is on time, whatever the minute.
    cron = f"{(now.minute + 30) % 60} * * * *"
    calendar = Calendar.parse(cron, "UTC")
    latest = calendar.after(now - timedelta(hours=1))
    missed = [latest - timedelta(hours=h) for h in (4, 3, 2, 1, 0)]
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        for name, policy in (("catch-each", "each"), ("catch-skip", "skip")):
            body = {
                "workflow": "scheduled-probe",
                "cron": cron,
                "inputs": {"label": name},
                "missed": policy,
                "missed_limit": 3,
            }
            assert (await engine.client.put(f"/v1/schedules/{name}", json=body)).status_code == 201
            await make_due(database_url, name, missed[0])

        async def moved_on() -> bool:
            return all([await next_fire_at(engine, n) > now for n in ("catch-each", "catch-skip")])

        await until(moved_on)
        await asyncio.sleep(0.3)
        each = sorted(r.trigger["tick"] for r in await scheduled_runs(engine, "catch-each"))
        skip = await scheduled_runs(engine, "catch-skip")
    assert each == [t.isoformat() for t in missed[-3:]]
    assert skip == []
