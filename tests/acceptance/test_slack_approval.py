"""An approval from Slack, every part its own process: monday-to-tracker-confirmed asks
in the Slack sandbox, the engine is killed and restarted while the run waits, a
stranger's click is refused privately, the approver's click resumes the run, and the
message shows who decided."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataworkflows.contracts.approvals import APPROVAL_BLOCK, APPROVE_ACTION
from dataworkflows.sandboxes.slack.demo_data import DEMO_USERS
from tests.support.engine import API_KEY
from tests.support.monday import SANDBOX_TOKEN, monday_sandbox_process
from tests.support.net import free_port
from tests.support.processes import CliProcess
from tests.support.slack import (
    APOLLO_CHANNEL,
    MAYA,
    SANDBOX_BOT_TOKEN,
    SANDBOX_SIGNING_SECRET,
    slack_sandbox_process,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.acceptance

TRACKER_USER, TRACKER_PASSWORD = "sync-bot", "tracker-password-for-tests"
BOARD = "5012345611"  # Borealis Mobile App - Roadmap (a small board of the sandbox)
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_an_approval_clicked_after_an_engine_restart_resumes_the_run(
    empty_database_url: str, tmp_path: Path
) -> None:
    """The run waits holding nothing, survives SIGKILL, counts only the approver's
    click and records the decision, who made it and when."""
    ports = {name: free_port() for name in ("tracker", "engine", "bot")}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    stranger = DEMO_USERS[1].id
    with (
        monday_sandbox_process(tmp_path) as monday,
        slack_sandbox_process(tmp_path, bot_url=url["bot"]) as slack,
    ):
        slack_env = {"SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN, "SLACK_API_URL": f"{slack.base}/api"}
        env: dict[str, dict[str, str]] = {
            "tracker": {"TRACKER_USERNAME": TRACKER_USER, "TRACKER_PASSWORD": TRACKER_PASSWORD},
            "engine": {
                "DATABASE_URL": empty_database_url,
                "DW_API_KEYS": API_KEY,
                "DW_LEASE_SECONDS": "2",
                "MONDAY_API_TOKEN": SANDBOX_TOKEN,
                "MONDAY_API_URL": monday.graphql,
                "TRACKER_URL": url["tracker"],
                "TRACKER_USERNAME": TRACKER_USER,
                "TRACKER_PASSWORD": TRACKER_PASSWORD,
                **slack_env,
            },
            "bot": {
                "SLACK_SIGNING_SECRET": SANDBOX_SIGNING_SECRET,
                "DW_ENGINE_URL": url["engine"],
                "DW_ENGINE_API_KEY": API_KEY,
                **slack_env,
            },
        }
        commands = {
            "tracker": ("serve", "tracker"),
            "engine": ("serve", "engine"),
            "bot": ("serve", "slack-bot"),
        }

        def process(name: str) -> CliProcess:
            return CliProcess(
                *commands[name], env={**env[name], "DW_PORT": str(ports[name])}, cwd=tmp_path
            )

        processes = {name: process(name) for name in commands}
        try:
            for running in processes.values():
                running.start()
            for name, running in processes.items():
                running.wait_http(f"{url[name]}/readyz")

            def run_detail(run_id: str) -> dict[str, Any]:
                response = httpx.get(f"{url['engine']}/v1/runs/{run_id}", headers=AUTH, timeout=10)
                assert response.status_code == 200, response.text
                return dict(response.json())

            started = httpx.post(
                f"{url['engine']}/v1/workflows/monday-to-tracker-confirmed/runs",
                json={
                    "inputs": {
                        "board_id": BOARD,
                        "approvers": [MAYA],
                        "channel": APOLLO_CHANNEL,
                        "confirm_above": 2,
                    }
                },
                headers=AUTH,
                timeout=10,
            )
            assert started.status_code == 201, started.text
            run_id = started.json()["id"]
            eventually(
                lambda: run_detail(run_id)["run"]["status"] == "waiting" or None,
                what="the run to wait for the approval",
            )

            def approval_message() -> dict[str, Any] | None:
                for message in slack.channel_messages(APOLLO_CHANNEL):
                    blocks = message.get("blocks") or []
                    if any(b.get("block_id") == APPROVAL_BLOCK for b in blocks):
                        return message
                return None

            asked = eventually(approval_message, what="the approval message in Slack")
            assert "into the Task Tracker" in asked["text"]

            # The engine dies while the run waits; a new one takes over.
            assert processes["engine"].stop(signal.SIGKILL) == -signal.SIGKILL
            processes["engine"] = process("engine").start()
            processes["engine"].wait_http(f"{url['engine']}/readyz")
            assert run_detail(run_id)["run"]["status"] == "waiting"

            # A stranger's click is refused, privately; the run still waits.
            refused = slack.send_action(
                APPROVE_ACTION, asked["ts"], user_id=stranger, channel_id=APOLLO_CHANNEL
            )
            assert refused["status"] == 200, refused
            told = eventually(
                lambda: (
                    [m for m in slack.ephemeral() if "can decide this request" in str(m)] or None
                ),
                what="the stranger to be told privately",
            )
            assert MAYA in str(told[0])
            assert run_detail(run_id)["run"]["status"] == "waiting"

            # The approver's click resumes the run, which syncs and shows the outcome.
            clicked = slack.send_action(
                APPROVE_ACTION, asked["ts"], user_id=MAYA, channel_id=APOLLO_CHANNEL
            )
            assert clicked["status"] == 200, clicked
            detail = eventually(
                lambda: (d := run_detail(run_id))["run"]["finished_at"] and d,
                what="the approved run to finish",
            )
            run = detail["run"]
            assert run["status"] == "succeeded", run
            assert run["output"]["decision"] == "approved"
            assert run["output"]["decided_by"] == MAYA
            assert run["output"]["synced"]["created"] == run["output"]["items"] > 2
            decision = next(
                s
                for s in detail["steps"]
                if s["step_id"] == "decision" and s["status"] == "succeeded"
            )
            assert decision["output"]["payload"]["by"] == MAYA
            assert decision["output"]["payload"]["at"]

            updated = eventually(
                lambda: next(
                    (
                        m
                        for m in slack.channel_messages(APOLLO_CHANNEL)
                        if m["ts"] == asked["ts"] and "Approved" in m["text"]
                    ),
                    None,
                ),
                what="the approval message to show the outcome",
            )
            assert f"<@{MAYA}>" in updated["text"]
            assert not any(b.get("type") == "actions" for b in updated.get("blocks") or [])
        finally:
            for running in reversed(list(processes.values())):
                if running.process is not None and running.process.poll() is None:
                    running.stop(signal.SIGTERM)
