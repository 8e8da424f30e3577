"""The Slack bot's app in a test: signed requests in, a recording fake Slack out.

:class:`RecordingSlack` stands in for the Slack connector behind the bot's
``SlackReplies`` port and records every message, update and response_url answer; it
can refuse channels the way Slack does (``not_in_channel``) and rate-limit calls.
:func:`running_bot` builds the bot with the same factory ``serve slack-bot`` uses,
against a real engine harness, and drives its lifespan (so shutdown is exercised too).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from dataworkflows.contracts import ActionFailed
from dataworkflows.contracts.slack_signing import SlackSignature
from dataworkflows.engine.store import RunFilter
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.slackbot.app import create_slackbot_app
from dataworkflows.slackbot.background import BackgroundTasks
from dataworkflows.slackbot.engine_client import Engine, EngineClient
from dataworkflows.slackbot.options import BotOptions
from dataworkflows.slackbot.replies import Block, ResponseType
from dataworkflows.slackbot.settings import SlackRunRule
from tests.support.engine import API_KEY, Harness

SIGNING_SECRET = "slack-signing-secret-for-tests-0123"
BOT_USER = "UBOT0001"
USER = "U0ALICE1"
OTHER_USER = "U0MALLORY"
CHANNEL = "C0GENERAL"
PUBLIC_URL = "https://dw.example.test"


def signed_headers(
    body: bytes,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: float | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """The headers Slack sends with ``body``: content type, timestamp and signature."""
    stamp = str(int(time.time() if timestamp is None else timestamp))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": SlackSignature(secret).sign(body, stamp),
    }


def command_body(text: str, **fields: str) -> bytes:
    """A slash command's form body, as Slack sends it."""
    form = {
        "token": "deprecated-verification-token",
        "team_id": "T0TEAM",
        "team_domain": "acme",
        "channel_id": CHANNEL,
        "channel_name": "general",
        "user_id": USER,
        "user_name": "alice",
        "command": "/dw",
        "text": text,
        "api_app_id": "A0APP",
        "response_url": "https://hooks.slack.test/commands/T0TEAM/1/abc",
        "trigger_id": f"trigger.{time.monotonic_ns()}",
    }
    form.update(fields)
    return urllib.parse.urlencode(form).encode()


def mention_body(
    text: str,
    *,
    event_id: str,
    user: str = USER,
    channel: str = CHANNEL,
    ts: str = "1700000000.000100",
    thread_ts: str | None = None,
    **event_fields: Any,
) -> bytes:
    """An Events API ``app_mention`` delivery."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        **event_fields,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    envelope = {
        "token": "deprecated",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000000,
        "authorizations": [{"user_id": BOT_USER, "is_bot": True}],
        "event": event,
    }
    return msgspec.json.encode(envelope)


def retry_click_body(
    run_id: str, *, user: str = USER, message_ts: str, channel: str = CHANNEL
) -> bytes:
    """An interactivity delivery: ``user`` clicked Retry on the message ``message_ts``."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone"},
        "api_app_id": "A0APP",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "channel": {"id": channel, "name": "general"},
        "message": {"ts": message_ts, "type": "message"},
        "response_url": "https://hooks.slack.test/actions/T0TEAM/2/def",
        "trigger_id": f"trigger.{time.monotonic_ns()}",
        "actions": [
            {
                "type": "button",
                "action_id": "dw_retry",
                "block_id": "dw_run_actions",
                "value": run_id,
            }
        ],
    }
    return urllib.parse.urlencode({"payload": msgspec.json.encode(payload).decode()}).encode()


@dataclass
class Posted:
    """One chat.postMessage (``updates`` holds what later replaced it)."""

    channel: str
    ts: str
    text: str
    blocks: list[Block]
    thread_ts: str | None
    updates: list[tuple[str, list[Block]]] = field(default_factory=list)

    @property
    def latest(self) -> str:
        """The message's current text and block texts, as one string."""
        text, blocks = self.updates[-1] if self.updates else (self.text, self.blocks)
        return text + "\n" + block_text(blocks)

    @property
    def latest_blocks(self) -> list[Block]:
        return self.updates[-1][1] if self.updates else self.blocks


@dataclass
class Responded:
    """One POST to a response_url."""

    response_url: str
    text: str
    blocks: list[Block]
    response_type: ResponseType
    replace_original: bool

    @property
    def all_text(self) -> str:
        return self.text + "\n" + block_text(self.blocks)


def block_text(blocks: Sequence[Block]) -> str:
    """Every text in ``blocks``, one per line."""
    texts: list[str] = []
    for block in blocks:
        if "text" in block:
            texts.append(block["text"]["text"])
        for element in block.get("elements", []):
            inner = element.get("text")
            texts.append(inner["text"] if isinstance(inner, dict) else str(inner))
    return "\n".join(texts)


def buttons(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """The buttons in ``blocks``."""
    return [
        element
        for block in blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
    ]


@dataclass
class RecordingSlack:
    """A fake Slack connector behind the bot's ``SlackReplies`` port."""

    cannot_post: set[str] = field(default_factory=set)
    """Channels where post_message fails with Slack's ``not_in_channel``."""
    rate_limited: int = 0
    """How many of the next calls fail with ``rate_limited`` (retry_after_s 0.01)."""
    posts: list[Posted] = field(default_factory=list)
    responses: list[Responded] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _maybe_rate_limit(self) -> None:
        if self.rate_limited > 0:
            self.rate_limited -= 1
            raise ActionFailed.of(
                "rate_limited", "slack rate limit", retry_after_s=0.01, upstream_code="ratelimited"
            )

    async def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: Sequence[Block] | None = None,
        thread_ts: str | None = None,
    ) -> str:
        self._maybe_rate_limit()
        if channel in self.cannot_post:
            raise ActionFailed.of(
                "invalid_input", "not_in_channel", retryable=False, upstream_code="not_in_channel"
            )
        ts = f"1700000001.{next(self._ts):06d}"
        self.posts.append(Posted(channel, ts, text, list(blocks or []), thread_ts))
        return ts

    async def update_message(
        self, channel: str, ts: str, *, text: str, blocks: Sequence[Block] | None = None
    ) -> None:
        self._maybe_rate_limit()
        for posted in self.posts:
            if posted.channel == channel and posted.ts == ts:
                posted.updates.append((text, list(blocks or [])))
                return
        raise ActionFailed.of(
            "not_found", "message_not_found", retryable=False, upstream_code="message_not_found"
        )

    async def respond(
        self,
        response_url: str,
        *,
        text: str,
        blocks: Sequence[Block] | None = None,
        response_type: ResponseType = "ephemeral",
        replace_original: bool = False,
    ) -> None:
        self._maybe_rate_limit()
        self.responses.append(
            Responded(response_url, text, list(blocks or []), response_type, replace_original)
        )

    def as_connector(self) -> ActionSet:
        """This fake as the Slack connector's actions (to serve, or to call in-process)."""
        actions = ActionSet("slack", description="a recording fake")

        @actions.action("post_message", effect="write", description="Records a message.")
        async def post_message(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
            ts = await self.post_message(
                data["channel"],
                text=data.get("text") or "",
                blocks=data.get("blocks"),
                thread_ts=data.get("thread_ts"),
            )
            return {"channel": data["channel"], "ts": ts}

        @actions.action("update_message", effect="write", description="Records an update.")
        async def update_message(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
            await self.update_message(
                data["channel"], data["ts"], text=data.get("text") or "", blocks=data.get("blocks")
            )
            return {"channel": data["channel"], "ts": data["ts"]}

        @actions.action("respond", effect="write", description="Records a response.")
        async def respond(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
            await self.respond(
                data["response_url"],
                text=data.get("text") or "",
                blocks=data.get("blocks"),
                response_type=data.get("response_type", "ephemeral"),
                replace_original=bool(data.get("replace_original")),
            )
            return {"ok": True}

        return actions

    async def wait_for(self, predicate: Callable[[], Any], *, within_s: float = 15.0) -> None:
        """Wait until ``predicate()`` is true; fail the test with what was recorded if not."""
        deadline = time.monotonic() + within_s
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out; posts={[p.latest for p in self.posts]!r} "
                    f"responses={[r.all_text for r in self.responses]!r}"
                )
            await asyncio.sleep(0.01)


@dataclass
class Bot:
    """A running bot app: an HTTP client to it, its fake Slack, its background tasks."""

    client: httpx.AsyncClient
    slack: RecordingSlack
    tasks: BackgroundTasks
    engine: Harness
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When this bot started: the test database is shared by a module's tests."""

    async def command(self, text: str, **fields: str) -> httpx.Response:
        """Send a signed ``/dw <text>``."""
        body = command_body(text, **fields)
        return await self.client.post("/slack/commands", content=body, headers=signed_headers(body))

    async def mention(self, text: str, *, event_id: str, **kwargs: Any) -> httpx.Response:
        """Deliver a signed ``@bot <text>`` event."""
        body = mention_body(text, event_id=event_id, **kwargs)
        return await self.client.post(
            "/slack/events",
            content=body,
            headers=signed_headers(body, content_type="application/json"),
        )

    async def click_retry(self, run_id: str, **kwargs: Any) -> httpx.Response:
        """Deliver a signed click on a Retry button."""
        body = retry_click_body(run_id, **kwargs)
        return await self.client.post(
            "/slack/interactivity", content=body, headers=signed_headers(body)
        )

    async def idle(self, within_s: float = 15.0) -> None:
        """Wait for every background task (a followed run included) to end."""
        assert await self.tasks.wait_idle(within_s), "background work did not finish"

    async def run_rows(self, workflow: str) -> list[Any]:
        """The runs of ``workflow`` the engine recorded since this bot started."""
        return await self.engine.service.list_runs(
            RunFilter(workflow=workflow, created_from=self.since, limit=100)
        )


def allow(
    workflow: str = "*", *, users: Sequence[str] = (), channels: Sequence[str] = ()
) -> SlackRunRule:
    """One ``SLACK_RUN_ALLOW`` rule."""
    return SlackRunRule(workflow=workflow, users=frozenset(users), channels=frozenset(channels))


def bot_options(**overrides: Any) -> BotOptions:
    """Options for tests: fast polling, everyone may run everything unless overridden."""
    values: dict[str, Any] = {
        "run_allow": (allow("*"),),
        "public_url": PUBLIC_URL,
        "poll_initial_s": 0.02,
        "poll_max_s": 0.1,
        "shutdown_grace_s": 2.0,
    }
    values.update(overrides)
    return BotOptions(**values)


def engine_client(engine: Harness) -> EngineClient:
    """The bot's engine client, reaching the harness's engine in this event loop."""
    return EngineClient(engine.client, base_url="http://engine.test", api_key=API_KEY)


@asynccontextmanager
async def running_bot(
    engine: Harness,
    *,
    options: BotOptions | None = None,
    slack: RecordingSlack | None = None,
    bot_engine: Engine | None = None,
    clock: Callable[[], float] = time.time,
    extra: Mapping[str, Any] | None = None,
) -> AsyncIterator[Bot]:
    """The bot's app against ``engine``, its lifespan running, with a recording Slack."""
    slack = slack or RecordingSlack()
    options = options or bot_options()
    tasks = BackgroundTasks(grace_s=options.shutdown_grace_s)
    app = create_slackbot_app(
        signing_secret=SIGNING_SECRET,
        engine=bot_engine or engine_client(engine),
        slack=slack,
        options=options,
        clock=clock,
        tasks=tasks,
        **(extra or {}),
    )
    # The app's lifespan is not entered here: Litestar's lifespan holds an anyio task
    # group, which pytest-asyncio fixtures cannot enter and exit in one task. Closing the
    # background work is what the bot's lifespan does; the served-app tests run it for real.
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bot.test"
        ) as client:
            yield Bot(client=client, slack=slack, tasks=tasks, engine=engine)
    finally:
        await tasks.close()
