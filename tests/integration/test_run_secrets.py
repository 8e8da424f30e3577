"""Run requests that must not be taken at face value: secret inputs are never stored in
clear (sealed with DW_SECRETS_KEY, refused without one), and an Idempotency-Key reused
with a different request is refused instead of answered with the first run."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import psycopg

from dataworkflows.engine.executor import EngineConfig
from tests.support.engine import API_KEY, SECRET, ProbeLog, running_engine

TOKEN = "tok-7Hq2LwZr9Xc4Vb1Nm8Ka"  # a user's token given as a run input
FLOW = f"""\
name: uses-a-token
inputs:
  api_token: {{type: string}}
  gate: {{type: string, default: ""}}
  note: {{type: string, default: ""}}
steps:
  - id: call
    uses: probe.record
    with:
      key: "{{{{ run.id }}}}"
      wait_for: "{{{{ inputs.gate or none }}}}"
      payload: {{token: "{{{{ inputs.api_token }}}}", note: "{{{{ inputs.note }}}}"}}
output:
  same_value: "{{{{ steps.call.output.payload.token == '{TOKEN}' }}}}"
"""


def stored_rows(url: str, run_id: str) -> str:
    """Everything the database holds about one run, as text."""
    with psycopg.connect(url) as conn:
        rows = [
            conn.execute("SELECT to_jsonb(r)::text FROM dw.runs AS r WHERE id = %s", (run_id,)),
            conn.execute(
                "SELECT coalesce(jsonb_agg(to_jsonb(a)), '[]')::text FROM dw.step_attempts AS a "
                "WHERE run_id = %s",
                (run_id,),
            ),
            conn.execute(
                "SELECT coalesce(jsonb_agg(to_jsonb(e)), '[]')::text FROM dw.run_events AS e "
                "WHERE run_id = %s",
                (run_id,),
            ),
        ]
        return "\n".join(str(cursor.fetchone()) for cursor in rows)


async def wait_status(engine: Any, run_id: str, *, within: float = 10) -> dict[str, Any]:
    for _ in range(int(within / 0.05)):
        detail: dict[str, Any] = (await engine.client.get(f"/v1/runs/{run_id}")).json()
        if detail["run"]["status"] not in ("queued", "running"):
            return detail
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


async def test_secret_inputs_are_sealed_in_the_database(database_url: str) -> None:
    """A run gets its secret input as given, while the database holds it only sealed
    (and the API shows ***); a queued run claimed later opens it with the key."""
    probe = ProbeLog()
    config = EngineConfig(max_runs=1, lease_seconds=5.0, claim_interval_s=0.05)
    async with running_engine(database_url, config=config, probe=probe) as engine:
        assert (await engine.client.put("/v1/workflows/uses-a-token", content=FLOW)).is_success
        first = await engine.client.post(
            "/v1/workflows/uses-a-token/runs",
            json={
                "inputs": {"api_token": TOKEN, "gate": "hold"},
                "trigger": {"source": "api", "details": {"password": "trigger-pw-123"}},
            },
        )
        assert first.status_code == 201, first.text
        # The only slot is taken: this one waits in the queue, stored, then is claimed.
        queued = await engine.client.post(
            "/v1/workflows/uses-a-token/runs", json={"inputs": {"api_token": TOKEN}}
        )
        assert queued.json()["status"] == "queued"
        while probe.count(first.json()["id"]) == 0:
            await asyncio.sleep(0.01)
        probe.gates.setdefault("hold", asyncio.Event()).set()
        details = [await wait_status(engine, r.json()["id"]) for r in (first, queued)]
    for detail in details:
        assert detail["run"]["status"] == "succeeded", detail["run"]["error"]
        assert detail["run"]["inputs"]["api_token"] == "***"
        assert detail["run"]["output"] == {"same_value": True}
    assert [c.key for c in probe.calls] == [d["run"]["id"] for d in details]
    assert all(UUID(c.key) for c in probe.calls)
    for detail in details:
        raw = stored_rows(database_url, detail["run"]["id"])
        assert TOKEN not in raw
        assert "trigger-pw-123" not in raw
        assert '"$sealed": "v1:' in raw


async def test_the_run_receives_the_secret_it_was_given(database_url: str) -> None:
    """Sealing is storage only: the step gets the real value."""
    async with running_engine(database_url) as engine:
        await engine.client.put("/v1/workflows/uses-a-token", content=FLOW)
        run = await engine.run("uses-a-token", {"api_token": TOKEN})
    assert run.status == "succeeded", run.error
    assert run.output == {"same_value": True}


async def test_without_a_key_secret_inputs_are_refused(database_url: str) -> None:
    """An engine with no DW_SECRETS_KEY refuses a run with secret inputs (422 naming the
    input) instead of storing them in clear; other runs go on."""
    async with running_engine(database_url, secrets_key=None) as engine:
        await engine.client.put("/v1/workflows/uses-a-token", content=FLOW)
        refused = await engine.client.post(
            "/v1/workflows/uses-a-token/runs", json={"inputs": {"api_token": TOKEN}}
        )
        empty = await engine.client.post(
            "/v1/workflows/uses-a-token/runs", json={"inputs": {"api_token": ""}}
        )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "inputs.api_token"
    assert "DW_SECRETS_KEY" in refused.json()["errors"][0]["message"]
    assert TOKEN not in refused.text
    assert empty.status_code == 201, "an empty secret is nothing to hide"


async def test_the_deployments_own_secrets_are_refused_as_inputs(database_url: str) -> None:
    """An input holding the API key or the service token is refused, never stored."""
    async with running_engine(database_url) as engine:
        await engine.client.put("/v1/workflows/uses-a-token", content=FLOW)
        answers = [
            await engine.client.post(
                "/v1/workflows/uses-a-token/runs",
                json={"inputs": {"api_token": "x", "note": f"the key is {own}"}},
            )
            for own in (API_KEY, SECRET)
        ]
    for answer in answers:
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == "inputs.note"
        assert API_KEY not in answer.text
        assert SECRET not in answer.text


async def test_an_idempotency_key_reused_with_another_request_is_a_409(
    database_url: str,
) -> None:
    """The same key with the same body returns the first run; with other inputs or
    another trigger it is a 409 naming that run, and no run is started."""
    async with running_engine(database_url) as engine:
        await engine.client.put("/v1/workflows/uses-a-token", content=FLOW)
        key = {"Idempotency-Key": "deploy-42"}
        body = {"inputs": {"api_token": TOKEN}}
        first = await engine.client.post("/v1/workflows/uses-a-token/runs", json=body, headers=key)
        again = await engine.client.post("/v1/workflows/uses-a-token/runs", json=body, headers=key)
        params = {"workflow": "uses-a-token"}
        before = (await engine.client.get("/v1/runs", params=params)).json()["runs"]
        other_inputs = await engine.client.post(
            "/v1/workflows/uses-a-token/runs",
            json={"inputs": {"api_token": "another-token"}},
            headers=key,
        )
        other_trigger = await engine.client.post(
            "/v1/workflows/uses-a-token/runs",
            json={**body, "trigger": {"source": "slack"}},
            headers=key,
        )
        after = (await engine.client.get("/v1/runs", params=params)).json()["runs"]
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    for conflict in (other_inputs, other_trigger):
        assert conflict.status_code == 409, conflict.text
        assert first.json()["id"] in conflict.json()["detail"]
        assert conflict.json()["run_id"] == first.json()["id"]
        assert "another-token" not in conflict.text
    assert [r["id"] for r in after] == [r["id"] for r in before], "no run was started"
