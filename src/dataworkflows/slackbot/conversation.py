"""What the bot does for each command, after Slack has had its acknowledgement.

A :class:`Conversation` runs in background tasks: it calls the engine, answers the
person who asked (ephemerally for slash commands and buttons, in the thread for
@mentions), posts a "started" message for each run it starts and follows the run to
update that message with the outcome. Every failure ends in a message the user can
act on (the engine is down, a workflow does not exist, an input is wrong) and a log
line; no exception text or traceback is ever shown in Slack.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final

import structlog

from dataworkflows.contracts import ActionFailed
from dataworkflows.contracts.approvals import ApprovalRef
from dataworkflows.runtime.inputs import coerce_inputs, declared_inputs
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.struct_errors import nearest
from dataworkflows.slackbot.approvals import decide
from dataworkflows.slackbot.commands import Run
from dataworkflows.slackbot.engine_client import (
    Engine,
    EngineRefused,
    EngineUnavailable,
    FieldProblem,
    RunInfo,
    StartedRun,
)
from dataworkflows.slackbot.messages import (
    Message,
    StatusOutputInvalid,
    escape,
    finished_message,
    note_message,
    problems_message,
    refused_message,
    report_reply,
    retrying_message,
    runs_message,
    started_message,
    status_output,
    status_output_problem_message,
    stopped_following_message,
)
from dataworkflows.slackbot.options import BotOptions, Origin
from dataworkflows.slackbot.progress import (
    ClickedMessage,
    PostedMessage,
    Progress,
    ResponseUrlMessage,
)
from dataworkflows.slackbot.replies import SlackReplies

__all__ = ["Conversation"]

CANNOT_POST: Final = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
"""Slack's answers when the bot may not post in a channel (a DM, a channel it is not in)."""

_log = get_logger(__name__)


class Conversation:
    """The bot's answers to commands, mentions and buttons (run in background tasks)."""

    def __init__(
        self,
        *,
        engine: Engine,
        slack: SlackReplies,
        options: BotOptions,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.slack = slack
        self.options = options
        self._clock = clock
        self._sleep = sleep

    # Answers ----------------------------------------------------------------------------

    async def answer(self, origin: Origin, message: Message) -> None:
        """Tell the person who asked: in the thread for mentions, else ephemerally."""
        if origin.thread_ts is not None:
            await self.slack.post_message(
                origin.channel, text=message.text, blocks=message.blocks, thread_ts=origin.thread_ts
            )
        elif origin.response_url:
            await self.slack.respond(
                origin.response_url,
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral",
            )
        else:
            _log.warning("nowhere to answer: the request had no response_url or thread")

    async def say(self, origin: Origin, message: Message) -> None:
        """:meth:`answer`, as background work of its own (help and refusals for mentions)."""
        await self._reporting(origin, "answer", self.answer(origin, message))

    async def _try_answer(self, origin: Origin, message: Message) -> None:
        try:
            await self.answer(origin, message)
        except ActionFailed as failed:
            _log.warning(
                "cannot answer in slack",
                code=failed.error.code,
                upstream_code=failed.error.upstream_code,
                error=failed.error.message,
            )

    async def _reporting(self, origin: Origin, what: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work``; turn whatever goes wrong into a message for the user and a log line."""
        tokens = structlog.contextvars.bind_contextvars(
            slack_user=origin.user, slack_channel=origin.channel, command=what
        )
        try:
            await work
        except EngineUnavailable as exc:
            _log.warning("engine unavailable", error=str(exc))
            await self._try_answer(
                origin,
                note_message(
                    "⚠️ The workflow engine is not reachable right now; try again in a minute."
                ),
            )
        except EngineRefused as exc:
            _log.warning("engine refused", status=exc.status, detail=exc.detail)
            await self._try_answer(origin, note_message(_refusal_text(exc)))
        except ActionFailed as failed:
            # Slack (through the connector) failed: answering through it may fail too.
            _log.warning(
                "slack call failed",
                code=failed.error.code,
                upstream_code=failed.error.upstream_code,
                error=failed.error.message,
            )
            said = failed.error.upstream_code
            why = f" (Slack said `{escape(said)}`)" if said else ""
            if said in CANNOT_POST:
                text = f"⚠️ I cannot post in this channel{why}: invite me to it and try again."
            else:
                text = f"⚠️ Slack did not take my message{why}; try again in a moment."
            await self._try_answer(origin, note_message(text))
        except Exception:
            _log.exception("slack bot work failed")
            reference = f" (reference `{origin.request_id}`)" if origin.request_id else ""
            await self._try_answer(
                origin,
                note_message(f"⚠️ Something went wrong on my side; it is logged{reference}."),
            )
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    # Commands ---------------------------------------------------------------------------

    async def status(self, origin: Origin, project: str, *, idempotency_key: str) -> None:
        """``status <project>``: start the status workflow and follow it."""
        await self._reporting(origin, "status", self._status(origin, project, idempotency_key))

    async def _status(self, origin: Origin, project: str, idempotency_key: str) -> None:
        workflow = self.options.status_workflow
        try:
            started = await self.engine.start_run(
                workflow,
                {self.options.status_input: project},
                idempotency_key=idempotency_key,
                trigger=origin.trigger("status"),
            )
        except EngineRefused as exc:
            if exc.status == 404:
                await self.answer(
                    origin,
                    note_message(
                        f"⚠️ The status workflow `{workflow}` is not registered in the engine. "
                        "Whoever runs Data Workflows can register it or point "
                        "`SLACK_STATUS_WORKFLOW` at another one."
                    ),
                )
                return
            if exc.status == 422:
                await self.answer(origin, _invalid_inputs_message(workflow, exc.errors))
                return
            raise
        followed = await self._announce_and_follow(origin, started)
        if followed is None:
            return
        run, progress = followed
        if run.status != "succeeded":
            return
        # Answered beneath the run's message (in its thread): the report, or where the
        # workflow posted it (see StatusOutput, the workflow's contract with the bot).
        try:
            reply = report_reply(status_output(run.output))
        except StatusOutputInvalid as exc:
            _log.warning("the status workflow's output does not fit", problem=str(exc))
            reply = status_output_problem_message(workflow, str(exc))
        if reply is not None:
            await progress.reply(reply)

    async def run(self, origin: Origin, command: Run, *, idempotency_key: str) -> None:
        """``run <workflow> key=value ...``: check the inputs, start the run, follow it.

        The caller has checked the allow-list.
        """
        await self._reporting(origin, "run", self._run(origin, command, idempotency_key))

    async def _run(self, origin: Origin, command: Run, idempotency_key: str) -> None:
        name = command.workflow
        try:
            workflow = await self.engine.get_workflow(name)
        except EngineRefused as exc:
            if exc.status != 404:
                raise
            await self.answer(origin, await self._unknown_workflow_message(name))
            return
        inputs, problems = coerce_inputs(declared_inputs(workflow.definition), command.arguments)
        if problems:
            await self.answer(origin, problems_message(f"❗ Cannot run `{name}`:", problems))
            return
        try:
            started = await self.engine.start_run(
                name, inputs, idempotency_key=idempotency_key, trigger=origin.trigger("run")
            )
        except EngineRefused as exc:
            if exc.status == 404:
                await self.answer(origin, await self._unknown_workflow_message(name))
                return
            if exc.status == 422:
                await self.answer(origin, _invalid_inputs_message(name, exc.errors))
                return
            raise
        await self._announce_and_follow(origin, started)

    async def _unknown_workflow_message(self, name: str) -> Message:
        try:
            known = await self.engine.list_workflows()
        except (EngineRefused, EngineUnavailable):
            known = []
        listed = ", ".join(f"`{w}`" for w in known[:30]) or "none"
        meant = nearest(name, known)
        hint = f" Did you mean {meant!r}?" if meant else ""
        return note_message(f"❗ There is no workflow `{name}`.{hint} Workflows: {listed}.")

    async def runs(self, origin: Origin, workflow: str | None) -> None:
        """``runs [workflow]``: recent runs, newest first."""
        await self._reporting(origin, "runs", self._runs(origin, workflow))

    async def _runs(self, origin: Origin, workflow: str | None) -> None:
        runs = await self.engine.list_runs(limit=self.options.runs_limit, workflow=workflow)
        await self.answer(
            origin, runs_message(runs, now=self._clock(), link_for=self.options.run_link)
        )

    async def decide(
        self, origin: Origin, ref: ApprovalRef, *, action_id: str, user_name: str
    ) -> None:
        """An Approve or Reject button: the approver's decision becomes the run's signal."""
        await self._reporting(origin, "approval", self._decide(origin, ref, action_id, user_name))

    async def _decide(
        self, origin: Origin, ref: ApprovalRef, action_id: str, user_name: str
    ) -> None:
        told = await decide(
            self.engine,
            ref,
            action_id=action_id,
            user=origin.user,
            user_name=user_name,
            clock=self._clock,
        )
        if told is not None:
            await self.answer(origin, told)

    async def retry(self, origin: Origin, *, message_ts: str, run_id: str) -> None:
        """The Retry button: check who clicked, retry from the failed step, follow again."""
        await self._reporting(origin, "retry", self._retry(origin, message_ts, run_id))

    async def _retry(self, origin: Origin, message_ts: str, run_id: str) -> None:
        try:
            failed = await self.engine.get_run(run_id)
        except EngineRefused as exc:
            if exc.status != 404:
                raise
            await self.answer(origin, note_message(f"❗ The run `{run_id}` no longer exists."))
            return
        if not self.options.may_run(failed.workflow, user=origin.user, channel=origin.channel):
            await self.answer(
                origin, refused_message(failed.workflow, user=origin.user, channel=origin.channel)
            )
            return
        try:
            queued = await self.engine.retry_run(run_id)
        except EngineRefused as exc:
            if exc.status != 409:
                raise
            await self.answer(
                origin,
                note_message(
                    f"👉 The run `{run_id}` is {failed.status}: only failed runs can be retried."
                ),
            )
            return
        progress = ClickedMessage(self.slack, origin.channel, message_ts, origin.response_url)
        link = self.options.run_link(run_id)
        await progress.show(retrying_message(run=failed, user=origin.user, link=link))
        await self._follow(queued, progress, user=origin.user)

    # Runs -------------------------------------------------------------------------------

    async def _announce_and_follow(
        self, origin: Origin, started: StartedRun
    ) -> tuple[RunInfo, Progress] | None:
        """Announce the run, follow it, show its outcome: the finished run and its
        message (None when another delivery follows it, or the bot stopped following)."""
        run = started.run
        if started.replayed:
            # The same Slack request started this run before (a redelivery, or another
            # bot replica got it): whoever started it announces and follows it.
            _log.info("run already started by an earlier delivery", run_id=run.id)
            return None
        _log.info("run started from slack", run_id=run.id, workflow=run.workflow)
        message = started_message(
            workflow=run.workflow,
            run_id=run.id,
            user=origin.user,
            link=self.options.run_link(run.id),
            inputs=run.inputs,
        )
        progress = await self._open_progress(origin, message)
        finished = await self._follow(run, progress, user=origin.user)
        return None if finished is None else (finished, progress)

    async def _open_progress(self, origin: Origin, message: Message) -> Progress:
        """Post the first message of a run where it was asked for (thread, channel), or
        through the slash command's response_url where the bot cannot post."""
        try:
            ts = await self.slack.post_message(
                origin.channel, text=message.text, blocks=message.blocks, thread_ts=origin.thread_ts
            )
        except ActionFailed as failed:
            if failed.error.upstream_code not in CANNOT_POST or not origin.response_url:
                raise
            _log.info("posting through response_url", upstream_code=failed.error.upstream_code)
            progress = ResponseUrlMessage(self.slack, origin.response_url, replace=False)
            await progress.show(message)
            return progress
        return PostedMessage(self.slack, origin.channel, ts, thread_ts=origin.thread_ts)

    async def _follow(self, run: RunInfo, progress: Progress, *, user: str) -> RunInfo | None:
        """Wait on the engine (``?wait=``, ``follow_wait_s`` at a time) until the run ends
        or the bot gives up, then show the outcome: the finished run, or None when the
        bot stopped following. Only after a failed read does the bot pause (backing off
        to ``poll_max_s``) before asking again."""
        link = self.options.run_link(run.id)
        began = time.monotonic()
        delay = self.options.poll_initial_s
        while not run.finished:
            elapsed = time.monotonic() - began
            remaining = self.options.follow_max_s - elapsed
            if remaining <= 0:
                await progress.show(
                    stopped_following_message(run=run, user=user, link=link, after_s=elapsed)
                )
                return None
            try:
                run = await self.engine.get_run(
                    run.id, wait_s=min(self.options.follow_wait_s, remaining)
                )
                delay = self.options.poll_initial_s
                continue
            except EngineRefused as exc:
                if exc.status == 404:
                    _log.warning("the followed run disappeared", run_id=run.id)
                    return None
                _log.warning("cannot read the followed run", run_id=run.id, status=exc.status)
            except EngineUnavailable as exc:
                # Keep following: the engine may be restarting; the run survives that.
                _log.warning("cannot read the followed run", run_id=run.id, error=str(exc))
            await self._sleep(min(delay, remaining))
            delay = min(delay * 1.5, self.options.poll_max_s)
        _log.info("followed run ended", run_id=run.id, status=run.status)
        await progress.show(finished_message(run=run, user=user, link=link))
        return run


def _refusal_text(exc: EngineRefused) -> str:
    if exc.status == 401:
        return (
            "⚠️ The engine refused my API key; ask whoever runs Data Workflows to check "
            "`DW_ENGINE_API_KEY`."
        )
    detail = escape(exc.detail) or "no reason given"
    return f"⚠️ The engine could not do that (HTTP {exc.status}): {detail}"


def _invalid_inputs_message(workflow: str, errors: list[FieldProblem]) -> Message:
    problems = [f"`{e.field.removeprefix('inputs.')}` {e.message}" for e in errors] or [
        "the engine refused the inputs"
    ]
    return problems_message(f"❗ Cannot run `{workflow}`:", problems)
