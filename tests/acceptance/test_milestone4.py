"""Milestone 4: a project's status report from every source, each part its own process."""

from __future__ import annotations

import contextlib
import html
import re
import signal
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.confluence import SANDBOX_EMAIL, confluence_sandbox_process
from tests.support.confluence import SANDBOX_TOKEN as CONFLUENCE_TOKEN
from tests.support.engine import API_KEY
from tests.support.monday import SANDBOX_TOKEN as MONDAY_TOKEN
from tests.support.monday import monday_sandbox_process
from tests.support.net import free_port
from tests.support.outlook import CLIENT_ID, CLIENT_SECRET, TENANT_ID, outlook_sandbox_process
from tests.support.processes import CliProcess
from tests.support.slack import (
    APOLLO_CHANNEL,
    BOT_USER_ID,
    MAYA,
    SANDBOX_BOT_TOKEN,
    SANDBOX_SIGNING_SECRET,
    slack_sandbox_process,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.acceptance

SERVICE_TOKEN = "service-token-for-milestone-four"
TRACKER_USER, TRACKER_PASSWORD = "report-bot", "tracker-password-for-tests"
APOLLO_BOARD = "5012345601"  # the first board of the shipped registry's apollo project
CONNECTORS = ("monday", "tasktracker", "slack", "confluence", "outlook")
GATHERING = {"items", "tasks", "pages", "meetings", "discussion"}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def status_of(item: dict[str, Any]) -> str:
    return str(item["columns"]["status"]["text"] or "")


def test_status_report_from_every_sandbox_and_what_changed_since_the_last(
    empty_database_url: str, tmp_path: Path
) -> None:
    """/dw status apollo gathers all five sources, posts, publishes and stores the report;
    after Monday and the tracker change, the next report names exactly what changed."""
    names = ("tracker", *CONNECTORS, "engine", "bot")
    ports = {name: free_port() for name in names}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    with (
        contextlib.ExitStack() as stack,
        monday_sandbox_process(tmp_path) as monday,
        slack_sandbox_process(tmp_path, bot_url=url["bot"]) as slack,
        confluence_sandbox_process(tmp_path) as confluence,
        outlook_sandbox_process(tmp_path) as outlook,
    ):
        commands: dict[str, tuple[str, ...]] = {
            "tracker": ("serve", "tracker"),
            **{name: ("serve", "connector", name) for name in CONNECTORS},
            "engine": ("serve", "engine"),
            "bot": ("serve", "slack-bot"),
        }
        tracker_login = {"TRACKER_USERNAME": TRACKER_USER, "TRACKER_PASSWORD": TRACKER_PASSWORD}
        env: dict[str, dict[str, str]] = {
            "tracker": tracker_login,
            "monday": {"MONDAY_API_TOKEN": MONDAY_TOKEN, "MONDAY_API_URL": monday.graphql},
            "tasktracker": {"TRACKER_URL": url["tracker"], **tracker_login},
            "slack": {"SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN, "SLACK_API_URL": f"{slack.base}/api"},
            "confluence": {
                "CONFLUENCE_URL": confluence.base,
                "CONFLUENCE_EMAIL": SANDBOX_EMAIL,
                "CONFLUENCE_API_TOKEN": CONFLUENCE_TOKEN,
            },
            "outlook": {
                "GRAPH_TENANT_ID": TENANT_ID,
                "GRAPH_CLIENT_ID": CLIENT_ID,
                "GRAPH_CLIENT_SECRET": CLIENT_SECRET,
                "GRAPH_API_URL": outlook.api,
                "GRAPH_TOKEN_URL": outlook.token_url,
            },
            "engine": {
                "DATABASE_URL": empty_database_url,
                "DW_API_KEYS": API_KEY,
                "DW_CONNECTOR_URLS": ",".join(f"{n}={url[n]}" for n in CONNECTORS),
            },
            "bot": {
                "SLACK_SIGNING_SECRET": SANDBOX_SIGNING_SECRET,
                "DW_ENGINE_URL": url["engine"],
                "DW_ENGINE_API_KEY": API_KEY,
                "DW_CONNECTOR_URLS": f"slack={url['slack']}",
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
            engine = stack.enter_context(
                httpx.Client(base_url=url["engine"], headers=auth, timeout=70)
            )

            def call(connector: str, action: str, **given: Any) -> Any:
                response = engine.post(
                    f"/v1/connectors/{connector}/actions/{action}", json={"input": given}
                )
                assert response.status_code == 200, response.text
                return response.json()["output"]

            def reports() -> list[dict[str, Any]]:
                response = engine.get("/v1/reports", params={"project": "apollo"})
                assert response.status_code == 200, response.text
                found: list[dict[str, Any]] = response.json()["reports"]
                return found

            # The first report, asked for in Slack: acknowledged at once, then answered.
            asked = slack.send_command("status apollo", user_id=MAYA, channel_id=APOLLO_CHANNEL)
            assert asked["status"] == 200, asked
            assert asked["elapsed_ms"] < 3000
            first = eventually(lambda: reports() or None, what="the first stored report")[0]

            def bot_messages() -> list[dict[str, Any]]:
                return [
                    m
                    for m in slack.channel_messages(APOLLO_CHANNEL)
                    if m.get("user") == BOT_USER_ID
                ]

            def finished_status() -> dict[str, Any] | None:
                return next(
                    (
                        m
                        for m in bot_messages()
                        if "project-status-report" in m.get("text", "")
                        and "succeeded" in m.get("text", "")
                    ),
                    None,
                )

            answer = eventually(finished_status, what="the status run's message to succeed")
            run_id = next(
                r["id"]
                for r in engine.get("/v1/runs").json()["runs"]
                if r["workflow"] == "project-status-report"
            )
            detail = engine.get(f"/v1/runs/{run_id}").json()
            run = detail["run"]
            assert run["status"] == "succeeded", run["error"]
            assert run["output"]["missing"] == "nothing", "all five sources were read"
            # The five reads ran at the same time: from the first start to the last end
            # took less time than they took one after another.
            gathered = [a for a in detail["steps"] if a["step_id"] in GATHERING]
            assert {a["step_id"] for a in gathered} == GATHERING
            span = {
                step: (
                    min(_at(a["started_at"]) for a in gathered if a["step_id"] == step),
                    max(_at(a["finished_at"]) for a in gathered if a["step_id"] == step),
                )
                for step in GATHERING
            }
            wall = max(end for _, end in span.values()) - min(start for start, _ in span.values())
            one_after_another = sum((end - start for start, end in span.values()), timedelta())
            assert wall < one_after_another, span
            # Posted to the project's channel as its own message ...
            first_block = run["output"]["slack_message"]["blocks"][0]
            headline = first_block["text"]["text"]
            assert "Apollo Website Relaunch" in headline
            posted = [
                m
                for m in bot_messages()
                if not m.get("thread_ts") and (m.get("blocks") or [{}])[0] == first_block
            ]
            assert len(posted) == 1, "the report is posted once to #proj-apollo"
            # ... and answered in the thread of the bot's message about the run.
            assert eventually(
                lambda: next(
                    (
                        m
                        for m in bot_messages()
                        if m.get("thread_ts") == answer["ts"] and headline in str(m["blocks"])
                    ),
                    None,
                ),
                what="the report in the thread of /dw status",
            )
            # Published as the space's status page, and stored with its data.
            page = run["output"]["status_page"]
            assert "/wiki/spaces/APOLLO/pages/" in page
            stored = engine.get(f"/v1/reports/{first['id']}", params={"snapshot": "true"}).json()
            assert set(stored["outputs"]) == {"slack", "confluence", "markdown"}
            assert stored["changes"]["first_report"] is True
            markdown = stored["outputs"]["markdown"]["text"]
            assert "Apollo Website Relaunch" in markdown
            # The channel's recent talk is there, its authors named, not Slack ids.
            talk = markdown.split("## Most discussed in Slack", 1)[1].split("\n---", 1)[0]
            assert talk.strip(), "the demo channel has recent threads"
            assert not re.search(r"\bU[0-9A-Z]{8,}\b", talk), talk
            # The console shows that markdown as text, not as its stored JSON.
            with httpx.Client(base_url=url["engine"], timeout=30) as browser:
                browser.post("/sign-in", data={"api_key": API_KEY})
                shown = browser.get(f"/reports/{first['id']}")
            assert shown.status_code == 200
            assert html.escape(markdown.split("\n", 1)[0], quote=False) in shown.text
            assert '"format"' not in shown.text

            # Between the reports, Monday and the tracker change.
            items = call("monday", "list_items", board_id=APOLLO_BOARD)["items"]
            open_items = [
                i
                for i in items
                if status_of(i) in ("Working on it", "Not started")
                and i["columns"]["date4"]["text"]
            ]
            finished, stuck, slipping = open_items[0], open_items[1], open_items[2]
            call(
                "monday",
                "update_item",
                board_id=APOLLO_BOARD,
                item_id=finished["id"],
                column_values={"status": {"label": "Done"}},
            )
            call(
                "monday",
                "update_item",
                board_id=APOLLO_BOARD,
                item_id=stuck["id"],
                column_values={"status": {"label": "Stuck"}},
            )
            call(
                "monday",
                "update_item",
                board_id=APOLLO_BOARD,
                item_id=slipping["id"],
                column_values={"date4": {"date": "2099-12-31"}},
            )
            task = call(
                "tasktracker",
                "create_task",
                title="Apollo: legal review of the cookie banner",
                status="todo",
                external_ref="apollo:legal-review",
            )["task"]

            second_run = engine.post(
                "/v1/workflows/project-status-report/runs",
                params={"wait": 60},
                json={"inputs": {"project": "apollo"}},
            )
            assert second_run.status_code == 200, second_run.text
            assert second_run.json()["status"] == "succeeded", second_run.json()["error"]
            latest = reports()[0]
            assert latest["id"] != first["id"]
            changes = engine.get(f"/v1/reports/{latest['id']}").json()["changes"]
            assert changes["previous_report_id"] == first["id"]
            assert [c["id"] for c in changes["newly_done"]] == [f"monday:{finished['id']}"]
            assert [c["id"] for c in changes["newly_blocked"]] == [f"monday:{stuck['id']}"]
            assert [c["id"] for c in changes["new_tasks"]] == [f"tasktracker:{task['id']}"]
            slipped = [c for c in changes["slipped"] if c["id"] == f"monday:{slipping['id']}"]
            assert [c["new"] for c in slipped] == ["2099-12-31"]
            # The channel's second report says so in words.
            second_text = second_run.json()["output"]["slack_message"]["text"]
            assert finished["name"] in str(second_run.json()["output"]["slack_message"])
            assert "first report" not in second_text
        finally:
            for process in reversed(list(processes.values())):
                if process.process is not None:
                    assert process.stop(signal.SIGTERM) == 0
