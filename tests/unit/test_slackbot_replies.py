"""The bot's ways to Slack: through a connector process or in-process, patient with limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dataworkflows.contracts import ActionFailed
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.connector_app import create_connector_app
from dataworkflows.slackbot.background import BackgroundTasks, RecentIds
from dataworkflows.slackbot.replies import (
    ActionSetReplies,
    ConnectorReplies,
    PatientReplies,
    SlackReplies,
)

TOKEN = "service-token-0123456789abcdef"


class FakeSlackConnector:
    """A stand-in for the Slack connector's actions, recording the inputs it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[ActionFailed] = []
        self.actions = ActionSet("slack")

        async def handle(name: str, data: dict[str, Any]) -> dict[str, Any]:
            self.calls.append((name, data))
            if self.failures:
                raise self.failures.pop(0)
            if data.get("channel") == "C0NOTMEMBER":
                raise ActionFailed.of(
                    "invalid_input", "not in channel", upstream_code="not_in_channel"
                )
            if name == "respond":
                return {"ok": True}
            return {"channel": data["channel"], "ts": "1700000000.000001"}

        for name in ("post_message", "update_message", "respond"):

            def register(action: str) -> None:
                @self.actions.action(action, effect="write", description=action)
                async def call(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
                    return await handle(action, data)

            register(name)


@pytest.fixture
def connector() -> FakeSlackConnector:
    return FakeSlackConnector()


@pytest.fixture(params=["http", "in-process"])
async def replies(
    request: pytest.FixtureRequest, connector: FakeSlackConnector
) -> AsyncIterator[SlackReplies]:
    """The same fake connector reached over the internal API, and in-process."""
    if request.param == "in-process":
        yield ActionSetReplies(connector.actions)
        return
    app = create_connector_app(connector.actions, service_token=TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield ConnectorReplies(http, base_url="http://slack-connector.test", service_token=TOKEN)


async def test_the_three_actions_carry_what_the_connector_expects(
    replies: SlackReplies, connector: FakeSlackConnector
) -> None:
    """post_message, update_message and respond send the connector's documented inputs."""
    ts = await replies.post_message(
        "C0GENERAL", text="hi", blocks=[{"type": "divider"}], thread_ts="1.2"
    )
    await replies.update_message("C0GENERAL", ts, text="done")
    await replies.respond("https://hooks.slack.test/x", text="psst", replace_original=True)
    assert ts == "1700000000.000001"
    assert connector.calls == [
        (
            "post_message",
            {
                "channel": "C0GENERAL",
                "text": "hi",
                "unfurl_links": False,
                "blocks": [{"type": "divider"}],
                "thread_ts": "1.2",
            },
        ),
        ("update_message", {"channel": "C0GENERAL", "ts": ts, "text": "done", "blocks": []}),
        (
            "respond",
            {
                "response_url": "https://hooks.slack.test/x",
                "text": "psst",
                "response_type": "ephemeral",
                "replace_original": True,
            },
        ),
    ]


async def test_slack_errors_keep_their_upstream_code(replies: SlackReplies) -> None:
    """Slack's own error (not_in_channel) reaches the bot, so it can fall back."""
    with pytest.raises(ActionFailed) as caught:
        await replies.post_message("C0NOTMEMBER", text="hi")
    assert caught.value.error.upstream_code == "not_in_channel"
    assert not caught.value.error.retryable


async def test_a_wrong_service_token_is_an_auth_failure(connector: FakeSlackConnector) -> None:
    """A connector that refuses the token gives a clear, non-retryable error naming the variable."""
    app = create_connector_app(connector.actions, service_token=TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        wrong = ConnectorReplies(http, base_url="http://c.test", service_token="x" * 20)
        with pytest.raises(ActionFailed) as caught:
            await wrong.post_message("C0GENERAL", text="hi")
        assert await wrong.check() == "the Slack connector refused DW_SERVICE_TOKEN"
        right = ConnectorReplies(http, base_url="http://c.test", service_token=TOKEN)
        assert await right.check() is None
    assert caught.value.error.code == "auth_failed"
    assert "DW_SERVICE_TOKEN" in caught.value.error.message
    assert TOKEN not in caught.value.error.message


async def test_an_unreachable_connector_is_retryable() -> None:
    """A connector that does not answer gives upstream_unavailable (worth retrying)."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        replies = ConnectorReplies(http, base_url="http://c.test", service_token=TOKEN)
        with pytest.raises(ActionFailed) as caught:
            await replies.respond("https://hooks.slack.test/x", text="x")
        assert "does not answer" in (await replies.check() or "")
    assert caught.value.error.code == "upstream_unavailable"
    assert caught.value.error.retryable


async def test_rate_limits_are_waited_out(connector: FakeSlackConnector) -> None:
    """A rate-limited call is tried again after the wait Slack asked for."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    connector.failures = [
        ActionFailed.of("rate_limited", "slow down", retry_after_s=7.0),
        ActionFailed.of("rate_limited", "slow down"),
    ]
    patient = PatientReplies(ActionSetReplies(connector.actions), sleep=sleep)
    assert await patient.post_message("C0GENERAL", text="hi") == "1700000000.000001"
    assert waits == [7.0, 2.0]
    assert len(connector.calls) == 3


async def test_patience_has_limits(connector: FakeSlackConnector) -> None:
    """After a few attempts, or at once for an error not worth retrying, the failure is raised;
    no single wait is longer than the cap, whatever Slack asks."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    connector.failures = [ActionFailed.of("rate_limited", "slow", retry_after_s=999)] * 3
    patient = PatientReplies(
        ActionSetReplies(connector.actions), attempts=3, max_wait_s=30.0, sleep=sleep
    )
    with pytest.raises(ActionFailed, match="rate_limited"):
        await patient.update_message("C0GENERAL", "1.1", text="x")
    assert len(connector.calls) == 3
    assert waits == [30.0, 30.0]
    with pytest.raises(ActionFailed, match="invalid_input"):
        await patient.post_message("C0NOTMEMBER", text="x")
    assert len(connector.calls) == 4
    assert len(waits) == 2


def test_recent_ids_forget_after_ttl_and_stay_bounded() -> None:
    """An event id is a duplicate within the window, new after it; memory stays bounded."""
    now = [0.0]
    recent = RecentIds(ttl_s=60.0, max_size=3, clock=lambda: now[0])
    assert recent.first_time("Ev1")
    assert not recent.first_time("Ev1")
    now[0] = 61.0
    assert recent.first_time("Ev1")
    for i in range(10):
        recent.first_time(f"Ev{i + 2}")
    assert len(recent) <= 3


async def test_background_failures_are_logged_not_raised_and_close_cancels() -> None:
    """A failing task does not escape; on close, a stuck task is cancelled after the grace."""
    tasks = BackgroundTasks(grace_s=0.05)

    async def boom() -> None:
        raise RuntimeError("boom")

    stuck = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stuck.set()

    assert tasks.spawn(boom(), name="boom")
    assert tasks.spawn(forever(), name="forever")
    await asyncio.sleep(0.01)
    assert len(tasks) == 1
    await tasks.close()
    assert stuck.is_set()
    assert len(tasks) == 0

    async def late() -> None:
        return None

    assert not tasks.spawn(late(), name="late")


async def test_the_bots_messages_pass_the_slack_connectors_checks() -> None:
    """Every kind of message the bot sends is accepted by the real Slack connector's actions
    (its input types and its Slack-limit checks), through the in-process adapter."""
    from dataworkflows.connectors.slack.fake import FakeSlack
    from dataworkflows.connectors.slack.service import slack_actions
    from dataworkflows.slackbot.engine_client import RunInfo
    from dataworkflows.slackbot.messages import (
        finished_message,
        help_message,
        problems_message,
        refused_message,
        retrying_message,
        runs_message,
        started_message,
        stopped_following_message,
    )

    fake = FakeSlack()
    fake.add_channel("C0GENERAL")
    replies = ActionSetReplies(slack_actions(fake))
    run_id = "0b7f3f5e-8d4a-4c1e-9a43-1f2e3d4c5b6a"
    link = f"https://dw.example.test/v1/runs/{run_id}"
    huge = {f"k{i}": "v" * 900 for i in range(400)}
    failed = RunInfo(
        id=run_id, workflow="w", status="failed", error={"message": "x" * 9000, "step": "s"}
    )
    messages = [
        help_message("/dw", "`x` is not a command"),
        problems_message("Cannot run `w`:", [f"`i{n}` is required" for n in range(100)]),
        refused_message("w", user="U0ALICE1", channel="C0GENERAL"),
        started_message(workflow="w", run_id=run_id, user="U0ALICE1", link=link, inputs=huge),
        retrying_message(run=failed, user="U0ALICE1", link=link),
        finished_message(run=failed, user="U0ALICE1", link=link),
        finished_message(
            run=RunInfo(id=run_id, workflow="w", status="succeeded", output=huge),
            user="U0ALICE1",
            link=link,
        ),
        finished_message(
            run=RunInfo(id=run_id, workflow="w", status="succeeded", output=[huge] * 3),
            user="",
            link=link,
        ),
        stopped_following_message(run=failed, user="U0ALICE1", link=link, after_s=86400),
        runs_message([failed] * 200, now=0.0, link_for=lambda rid: link),
    ]
    for index, message in enumerate(messages):
        ts = await replies.post_message("C0GENERAL", text=message.text, blocks=message.blocks)
        await replies.update_message("C0GENERAL", ts, text=message.text, blocks=message.blocks)
        await replies.respond(
            f"https://hooks.slack.com/commands/T0/1/abc{index}",
            text=message.text,
            blocks=message.blocks,
            response_type="in_channel",
        )
