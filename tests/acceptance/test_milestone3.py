"""Milestone 3: Slack triggers a workflow and answers in Slack, every part its own process."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataworkflows.sandboxes.slack.demo_data import DEMO_USERS
from tests.support.engine import API_KEY
from tests.support.monday import SANDBOX_TOKEN, monday_sandbox_process
from tests.support.net import free_port
from tests.support.processes import CliProcess
from tests.support.slack import (
    APOLLO_CHANNEL,
    BOREALIS_CHANNEL,
    BOT_USER_ID,
    MAYA,
    SANDBOX_BOT_TOKEN,
    SANDBOX_SIGNING_SECRET,
    slack_sandbox_process,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.acceptance

SERVICE_TOKEN = "service-token-for-milestone-three"
TRACKER_USER, TRACKER_PASSWORD = "sync-bot", "tracker-password-for-tests"
BOARD = "5012345611"  # Borealis Mobile App - Roadmap (a small board of the sandbox)


def test_slash_command_and_mention_run_workflows_and_answer_in_slack(
    empty_database_url: str, tmp_path: Path
) -> None:
    """A signed /dw run is acknowledged in < 3 s, recorded, and its result shows in the channel."""
    names = ("tracker", "monday", "tasktracker", "slack", "engine", "bot")
    ports = {name: free_port() for name in names}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    someone_else = DEMO_USERS[1].id
    with (
        monday_sandbox_process(tmp_path) as monday,
        slack_sandbox_process(tmp_path, bot_url=url["bot"]) as slack,
    ):
        commands = {
            "tracker": ("serve", "tracker"),
            "monday": ("serve", "connector", "monday"),
            "tasktracker": ("serve", "connector", "tasktracker"),
            "slack": ("serve", "connector", "slack"),
            "engine": ("serve", "engine"),
            "bot": ("serve", "slack-bot"),
        }
        connectors = ",".join(f"{n}={url[n]}" for n in ("monday", "tasktracker", "slack"))
        env: dict[str, dict[str, str]] = {
            "tracker": {"TRACKER_USERNAME": TRACKER_USER, "TRACKER_PASSWORD": TRACKER_PASSWORD},
            "monday": {"MONDAY_API_TOKEN": SANDBOX_TOKEN, "MONDAY_API_URL": monday.graphql},
            "tasktracker": {
                "TRACKER_URL": url["tracker"],
                "TRACKER_USERNAME": TRACKER_USER,
                "TRACKER_PASSWORD": TRACKER_PASSWORD,
            },
            "slack": {"SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN, "SLACK_API_URL": f"{slack.base}/api"},
            "engine": {
                "DATABASE_URL": empty_database_url,
                "DW_API_KEYS": API_KEY,
                "DW_CONNECTOR_URLS": connectors,
            },
            "bot": {
                "SLACK_SIGNING_SECRET": SANDBOX_SIGNING_SECRET,
                "DW_ENGINE_URL": url["engine"],
                "DW_ENGINE_API_KEY": API_KEY,
                "DW_CONNECTOR_URLS": f"slack={url['slack']}",
                "SLACK_RUN_ALLOW": f"monday-to-tracker={MAYA}",
                # Without Confluence and Outlook here, the Monday-only status workflow.
                "SLACK_STATUS_WORKFLOW": "project-status",
            },
        }
        processes = {
            name: CliProcess(
                *args,
                env={"DW_SERVICE_TOKEN": SERVICE_TOKEN, **env[name], "DW_PORT": str(ports[name])},
                cwd=tmp_path,
            )
            for name, args in commands.items()
        }
        try:
            for process in processes.values():
                process.start()
            for name, process in processes.items():
                process.wait_http(f"{url[name]}/readyz")
            auth = {"Authorization": f"Bearer {API_KEY}"}

            def runs() -> list[dict[str, Any]]:
                response = httpx.get(f"{url['engine']}/v1/runs", headers=auth, timeout=10)
                assert response.status_code == 200, response.text
                found: list[dict[str, Any]] = response.json()["runs"]
                return found

            # Someone outside the allow-list is refused, ephemerally, and nothing starts.
            refused = slack.send_command(
                f"run monday-to-tracker board_id={BOARD}",
                user_id=someone_else,
                channel_id=APOLLO_CHANNEL,
            )
            assert refused["status"] == 200
            assert refused["within_deadline"]
            assert "SLACK_RUN_ALLOW" in refused["body"]
            assert runs() == []

            # The allowed user's command is acknowledged at once and runs the sync.
            started = slack.send_command(
                f"run monday-to-tracker board_id={BOARD}",
                user_id=MAYA,
                channel_id=APOLLO_CHANNEL,
            )
            assert started["status"] == 200, started
            assert started["elapsed_ms"] < 3000
            run = eventually(
                lambda: next((r for r in runs() if r["status"] == "succeeded"), None),
                what="the run started from Slack to succeed",
            )
            assert run["workflow"] == "monday-to-tracker"
            detail = httpx.get(f"{url['engine']}/v1/runs/{run['id']}", headers=auth).json()
            steps = {a["step_id"] for a in detail["steps"]}
            assert {"items", "upsert", "link", "summary"} <= steps
            assert all(a["started_at"] and a["finished_at"] for a in detail["steps"])

            def result_message() -> dict[str, Any] | None:
                return next(
                    (
                        m
                        for m in slack.channel_messages(APOLLO_CHANNEL)
                        if m.get("user") == BOT_USER_ID
                        and run["id"] in m.get("text", "")
                        and "succeeded" in m.get("text", "")
                    ),
                    None,
                )

            message = eventually(result_message, what="the result message in #proj-apollo")
            assert "monday-to-tracker" in message["text"]
            assert "edited" in message, "the 'started' message is updated with the result"

            # An @mention is answered in its thread.
            # The sandbox writes the message as Slack would: "<@bot> status borealis".
            mention = slack.send_mention("status borealis", user=MAYA, channel=BOREALIS_CHANNEL)
            assert all(d["status"] == 200 for d in mention["deliveries"]), mention

            def thread_answer() -> dict[str, Any] | None:
                return next(
                    (
                        m
                        for m in slack.channel_messages(BOREALIS_CHANNEL)
                        if m.get("thread_ts") == mention["ts"]
                        and m.get("user") == BOT_USER_ID
                        and "succeeded" in m.get("text", "")
                    ),
                    None,
                )

            answer = eventually(thread_answer, what="the answer in the mention's thread")
            assert "project-status" in answer["text"]
        finally:
            for process in reversed(list(processes.values())):
                if process.process is not None:
                    assert process.stop(signal.SIGTERM) == 0
