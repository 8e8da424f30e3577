"""A webhook declared in hooks.yaml, delivered to a separate engine process: a signed
delivery starts its run, a forged one starts nothing."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import msgspec
import pytest

from dataworkflows.engine.hooks import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.support.engine import API_KEY, engine_process_env
from tests.support.processes import CliProcess

pytestmark = pytest.mark.acceptance

SECRET = "whsec-acceptance-0123456789"
FLOW = """\
name: on-event
inputs: {item: {type: integer}}
steps:
  - {id: echo, uses: core.echo, with: {item: "{{ inputs.item }}"}}
output: {item: "{{ steps.echo.output.item }}"}
"""
HOOKS = """\
hooks:
  - name: events
    workflow: on-event
    verify: {kind: hmac, secret_env: EVENTS_HOOK_SECRET, tolerance: 2m}
    inputs: {item: "{{ body.item }}"}
"""


def test_a_signed_webhook_runs_and_a_forged_one_does_not(
    empty_database_url: str, tmp_path: Path
) -> None:
    """The sender signs with the secret from the environment; a forger cannot."""
    base, env = engine_process_env(
        empty_database_url,
        tmp_path,
        {"on-event.yaml": FLOW, "hooks.yaml": HOOKS},
        DW_SECRETS_KEY="00" * 32,
        EVENTS_HOOK_SECRET=SECRET,
    )
    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as engine:
        engine.wait_http(f"{base}/readyz")
        body = msgspec.json.encode({"item": 7})
        now = int(time.time())
        good = httpx.post(
            f"{base}/v1/hooks/events",
            content=body,
            headers={
                TIMESTAMP_HEADER: str(now),
                SIGNATURE_HEADER: sign(SECRET, body, now),
                DELIVERY_HEADER: "evt-1",
            },
        )
        forged = httpx.post(
            f"{base}/v1/hooks/events",
            content=body,
            headers={
                TIMESTAMP_HEADER: str(now),
                SIGNATURE_HEADER: sign("a-forger-guessing-000", body, now),
                DELIVERY_HEADER: "evt-2",
            },
        )
        auth = {"Authorization": f"Bearer {API_KEY}"}
        run_id = good.json()["id"] if good.status_code == 202 else None
        deadline = time.monotonic() + 20
        run = {}
        while run_id and time.monotonic() < deadline:
            run = httpx.get(f"{base}/v1/runs/{run_id}", headers=auth).json()["run"]
            if run["finished_at"]:
                break
            time.sleep(0.1)
        runs = httpx.get(f"{base}/v1/runs", params={"workflow": "on-event"}, headers=auth).json()
        assert engine.stop() == 0
    assert good.status_code == 202, good.text
    assert forged.status_code == 401, forged.text
    assert run["status"] == "succeeded"
    assert run["output"] == {"item": 7}
    assert [r["trigger"] for r in runs["runs"]] == [
        {"source": "hook", "hook": "events", "delivery": "evt-1"}
    ]
