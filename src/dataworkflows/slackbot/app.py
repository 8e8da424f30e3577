"""The bot's HTTP endpoints: what Slack calls, answered within its 3-second limit.

Each handler reads the raw body, checks Slack's signature over those exact bytes (401
and nothing else happens when it is bad, missing or stale), parses the request, checks
the allow-list, and hands the rest to a background task: everything it does before
answering is in-memory and fast, so the answer never waits for the engine or Slack.

- ``POST /slack/commands``: slash commands. ``help``, text the bot does not understand
  and ``run`` outside the allow-list are answered at once (ephemeral JSON); ``run``,
  ``status`` and ``runs`` get an empty acknowledgement and answers later.
- ``POST /slack/events``: ``url_verification`` gets its challenge back; ``app_mention``
  events act like the slash command and answer in the thread. Redeliveries (the same
  ``event_id``) are acknowledged and ignored; the bot's own messages are ignored.
- ``POST /slack/interactivity``: the Retry button of a failed run's message, and the
  Approve/Reject buttons of ``slack.request_approval`` (see :mod:`.approvals`).

``ssl_check=1`` requests get an empty 200 before the signature check, as Slack's own
Bolt framework does: Slack may send them unsigned, and answering one starts nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import msgspec
from litestar import Litestar, Request, Response, post
from prometheus_client import Counter

from dataworkflows.contracts.approvals import APPROVE_ACTION, REJECT_ACTION, decode_ref
from dataworkflows.contracts.slack_signing import SlackSignature
from dataworkflows.runtime.app import ReadinessCheck, create_app
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.problems import Problem, current_request_id
from dataworkflows.slackbot.background import BackgroundTasks, RecentIds
from dataworkflows.slackbot.commands import (
    Command,
    Help,
    Misunderstood,
    Run,
    Runs,
    Status,
    parse_command,
    strip_mention,
)
from dataworkflows.slackbot.conversation import Conversation
from dataworkflows.slackbot.engine_client import Engine
from dataworkflows.slackbot.messages import RETRY_ACTION, Message, help_message, refused_message
from dataworkflows.slackbot.options import BotOptions, Origin
from dataworkflows.slackbot.replies import SlackReplies
from dataworkflows.slackbot.wire import (
    SlashCommand,
    WireError,
    decode_block_actions,
    decode_envelope,
    decode_mention,
    parse_form,
)

__all__ = ["COMPONENT", "SlackEndpoints", "create_slackbot_app"]

COMPONENT: Final = "slack-bot"
HANDLED_EVENTS: Final = frozenset({"app_mention"})
"""Events API event types the bot answers (the Slack app subscribes to exactly these)."""

_log = get_logger(__name__)
_KEY_SAFE_RE: Final = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")
BOT_COMMANDS: Final = Counter(
    "dw_bot_commands",
    "Commands the Slack bot received, by kind (run, status, runs, help, retry, approval, "
    "...) and source (command, mention, button).",
    ["kind", "source"],
)
_UUID_RE: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _ack() -> Response[bytes]:
    """The empty 200 that tells Slack "received" and shows nothing."""
    return Response(content=b"", status_code=200, media_type="text/plain")


def _ephemeral(message: Message) -> Response[bytes]:
    body = {"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}
    return Response(
        content=msgspec.json.encode(body), status_code=200, media_type="application/json"
    )


def _idempotency_key(prefix: str, raw: str) -> str:
    """``prefix:raw``, with ``raw`` hashed if it is not a safe header value, or random
    when Slack sent none (then the request cannot be recognised when repeated)."""
    if not raw:
        return f"{prefix}:{uuid.uuid4().hex}"
    if not _KEY_SAFE_RE.match(raw):
        raw = hashlib.sha256(raw.encode()).hexdigest()
    return f"{prefix}:{raw}"


def _is_ssl_check(body: bytes) -> bool:
    if len(body) > 2048 or b"ssl_check=1" not in body:
        return False
    try:
        return parse_form(body).get("ssl_check") == "1"
    except WireError:
        return False


class SlackEndpoints:
    """The request handling behind the three Slack routes (fast, synchronous checks only)."""

    def __init__(
        self,
        *,
        signature: SlackSignature,
        conversation: Conversation,
        options: BotOptions,
        tasks: BackgroundTasks,
    ) -> None:
        self.signature = signature
        self.conversation = conversation
        self.options = options
        self.tasks = tasks
        self.recent_events = RecentIds(ttl_s=3600.0, max_size=10_000)

    async def verified_body(self, request: Request[Any, Any, Any]) -> bytes:
        """The raw body, once its signature checks out; a 401 problem otherwise."""
        body = await request.body()
        problem = self.signature.problem(
            body,
            timestamp=request.headers.get("x-slack-request-timestamp"),
            signature=request.headers.get("x-slack-signature"),
        )
        if problem is not None:
            _log.warning("slack request refused", path=request.url.path, reason=problem)
            raise Problem(
                401, "The request is not signed by Slack (bad, missing or stale signature)."
            )
        return body

    def dispatch(self, command: Command, origin: Origin, key: str) -> Message | None:
        """Start the command's background work; the message to answer at once, if any."""
        conversation, tasks = self.conversation, self.tasks
        match command:
            case Help():
                return help_message(self.options.command)
            case Misunderstood(problem=problem):
                return help_message(self.options.command, problem)
            case Run(workflow=workflow):
                if not self.options.may_run(workflow, user=origin.user, channel=origin.channel):
                    _log.info("run refused by the allow-list", workflow=workflow, user=origin.user)
                    return refused_message(workflow, user=origin.user, channel=origin.channel)
                tasks.spawn(
                    conversation.run(origin, command, idempotency_key=key), name="slack-run"
                )
            case Status(project=project):
                tasks.spawn(
                    conversation.status(origin, project, idempotency_key=key), name="slack-status"
                )
            case Runs(workflow=workflow):
                tasks.spawn(conversation.runs(origin, workflow), name="slack-runs")
        return None

    async def command(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """A slash command."""
        raw = await request.body()
        if _is_ssl_check(raw):
            return _ack()
        body = await self.verified_body(request)
        try:
            form = parse_form(body)
        except WireError as exc:
            raise Problem(400, str(exc)) from None
        command = msgspec.convert(form, SlashCommand)
        parsed = parse_command(command.text)
        BOT_COMMANDS.labels(type(parsed).__name__.lower(), "command").inc()
        _log.info(
            "slack command",
            verb=type(parsed).__name__.lower(),
            user=command.user_id,
            channel=command.channel_id,
        )
        origin = _origin(command.user_id, command.channel_id, response_url=command.response_url)
        answer = self.dispatch(
            parsed, origin, _idempotency_key("slack-command", command.trigger_id)
        )
        return _ephemeral(answer) if answer is not None else _ack()

    async def event(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """An Events API request."""
        body = await self.verified_body(request)
        try:
            envelope = decode_envelope(body)
        except WireError as exc:
            raise Problem(400, str(exc)) from None
        if envelope.type == "url_verification":
            return Response({"challenge": envelope.challenge}, status_code=200)
        if envelope.type != "event_callback" or envelope.event is None:
            return _ack()
        if envelope.event_id and not self.recent_events.first_time(envelope.event_id):
            _log.info(
                "slack event redelivery ignored",
                event_id=envelope.event_id,
                retry_num=request.headers.get("x-slack-retry-num"),
                retry_reason=request.headers.get("x-slack-retry-reason"),
            )
            return _ack()
        event = decode_mention(envelope.event)
        if event is None or event.type not in HANDLED_EVENTS or not event.user or not event.channel:
            return _ack()
        if event.bot_id or event.subtype or event.user == envelope.bot_user_id:
            return _ack()  # never answer a bot, least of all ourselves
        parsed = parse_command(strip_mention(event.text, envelope.bot_user_id))
        BOT_COMMANDS.labels(type(parsed).__name__.lower(), "mention").inc()
        _log.info(
            "slack mention",
            verb=type(parsed).__name__.lower(),
            user=event.user,
            channel=event.channel,
            event_id=envelope.event_id,
        )
        origin = _origin(event.user, event.channel, thread_ts=event.thread_ts or event.ts)
        answer = self.dispatch(parsed, origin, _idempotency_key("slack-event", envelope.event_id))
        if answer is not None:
            self.tasks.spawn(self.conversation.say(origin, answer), name="slack-answer")
        return _ack()

    async def interaction(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """An interactivity request (a button click)."""
        body = await self.verified_body(request)
        try:
            payload = decode_block_actions(parse_form(body).get("payload", ""))
        except WireError as exc:
            raise Problem(400, str(exc)) from None
        if payload.type != "block_actions":
            return _ack()
        for action in payload.actions:
            if action.action_id in (APPROVE_ACTION, REJECT_ACTION):
                ref = decode_ref(action.value)
                if ref is None:
                    _log.warning("approval button without a request ignored")
                    continue
                origin = _origin(
                    payload.user.id, payload.channel_id, response_url=payload.response_url
                )
                BOT_COMMANDS.labels("approval", "button").inc()
                self.tasks.spawn(
                    self.conversation.decide(
                        origin,
                        ref,
                        action_id=action.action_id,
                        user_name=payload.user.username or payload.user.name,
                    ),
                    name="slack-approval",
                )
                continue
            if action.action_id != RETRY_ACTION:
                _log.info("slack action ignored", action_id=action.action_id)
                continue
            if not _UUID_RE.match(action.value):
                _log.warning("retry button without a run id ignored")
                continue
            _log.info("slack retry", run_id=action.value, user=payload.user.id)
            BOT_COMMANDS.labels("retry", "button").inc()
            origin = _origin(payload.user.id, payload.channel_id, response_url=payload.response_url)
            # The allow-list needs the run's workflow, which only the engine knows: the
            # background work checks it before retrying anything.
            self.tasks.spawn(
                self.conversation.retry(origin, message_ts=payload.message_ts, run_id=action.value),
                name="slack-retry",
            )
        return _ack()


def _origin(user: str, channel: str, **more: Any) -> Origin:
    return Origin(user=user, channel=channel, request_id=current_request_id(), **more)


def create_slackbot_app(
    *,
    signing_secret: str,
    engine: Engine,
    slack: SlackReplies,
    options: BotOptions | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    tasks: BackgroundTasks | None = None,
    readiness: Mapping[str, ReadinessCheck] | None = None,
) -> Litestar:
    """The bot's Litestar app (plus ``/healthz`` and ``/readyz``).

    ``clock`` (Unix seconds) checks signature freshness; ``sleep`` paces polling;
    ``tasks`` holds the background work (pass one to wait for it in tests). On app
    shutdown the background work gets ``options.shutdown_grace_s`` and is cancelled.
    """
    options = options if options is not None else BotOptions()
    if tasks is None:
        tasks = BackgroundTasks(grace_s=options.shutdown_grace_s)
    endpoints = SlackEndpoints(
        signature=SlackSignature(signing_secret, clock=clock),
        conversation=Conversation(
            engine=engine, slack=slack, options=options, clock=clock, sleep=sleep
        ),
        options=options,
        tasks=tasks,
    )

    @post("/slack/commands", status_code=200, include_in_schema=False)
    async def commands(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await endpoints.command(request)

    @post("/slack/events", status_code=200, include_in_schema=False)
    async def events(request: Request[Any, Any, Any]) -> Response[Any]:
        return await endpoints.event(request)

    @post("/slack/interactivity", status_code=200, include_in_schema=False)
    async def interactivity(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await endpoints.interaction(request)

    @asynccontextmanager
    async def background_work(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await tasks.close()

    return create_app(
        component=COMPONENT,
        route_handlers=[commands, events, interactivity],
        readiness=readiness,
        lifespan=[background_work],
    )
