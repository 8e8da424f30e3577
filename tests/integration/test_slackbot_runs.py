"""Starting and following runs from Slack against a real engine: /dw run, status, runs,
@mentions in threads, the Retry button, and the allow-list."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dataworkflows.slackbot.engine_client import EngineClient, RunInfo
from dataworkflows.slackbot.messages import RETRY_ACTION
from tests.support.engine import Harness, running_engine
from tests.support.slackbot import (
    CHANNEL,
    OTHER_USER,
    PUBLIC_URL,
    USER,
    Bot,
    RecordingSlack,
    allow,
    bot_options,
    buttons,
    engine_client,
    mention_body,
    running_bot,
    signed_headers,
)

GREET = """\
name: greet
description: Says hello.
inputs:
  who: {type: string}
  times: {type: integer, default: 1}
  loud: {type: boolean, default: false}
  tags: {type: list, default: []}
steps:
  - {id: hello, uses: core.echo, with: {text: "hello {{ inputs.who }}", times: "{{ inputs.times }}"}}
output:
  greeting: "{{ steps.hello.output.text }}"
  times: "{{ inputs.times }}"
"""
FLAKY = """\
name: flaky
steps:
  - {id: first, uses: probe.record, with: {key: flaky-first}}
  - {id: shaky, uses: core.fail, with: {times: 1, message: "board 42 is gone"}, retry: {attempts: 1}}
output: {recovered: true}
"""
STATUS = """\
name: status-check
inputs:
  project: {type: string}
steps:
  - {id: report, uses: core.echo, with: {project: "{{ inputs.project }}"}}
output: "{{ steps.report.output.project }}: all good"
"""
REPORTING = """\
name: report-check
inputs:
  project: {type: string}
steps:
  - {id: report, uses: core.echo, with: {project: "{{ inputs.project }}"}}
output:
  health: on track
  slack_message:
    text: "{{ steps.report.output.project }} is on track"
    blocks:
      - {type: header, text: {type: plain_text, text: "{{ steps.report.output.project }}: on track"}}
      - {type: section, text: {type: mrkdwn, text: "*12 of 20* done"}}
"""
POSTING = """\
name: report-posted
inputs:
  project: {type: string}
steps:
  - {id: report, uses: core.echo, with: {project: "{{ inputs.project }}"}}
output:
  slack_message:
    text: "{{ steps.report.output.project }} is on track"
    blocks:
      - {type: header, text: {type: plain_text, text: "{{ steps.report.output.project }}: on track"}}
      - {type: section, text: {type: mrkdwn, text: "*12 of 20* done"}}
  slack_post: {channel: C0PROJ1, ts: "1700000000.000100"}
"""
MISSHAPEN = """\
name: report-misshapen
inputs:
  project: {type: string}
steps:
  - {id: report, uses: core.echo, with: {project: "{{ inputs.project }}"}}
output:
  slack_message: {text: "{{ steps.report.output.project }}", blocks: [{text: untyped}]}
"""
GATED = """\
name: gated
steps:
  - {id: wait, uses: probe.record, with: {key: gated, wait_for: open}}
"""


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Harness]:
    async with running_engine(database_url) as harness:
        for source in (GREET, FLAKY, STATUS, REPORTING, POSTING, MISSHAPEN, GATED):
            await harness.register(source)
        yield harness
        # Let a gated run finish so the engine stops promptly.
        harness.probe.gates.setdefault("open", asyncio.Event()).set()


@pytest.fixture
async def bot(engine: Harness) -> AsyncIterator[Bot]:
    async with running_bot(engine, options=bot_options(status_workflow="status-check")) as b:
        yield b


async def test_run_command_starts_the_run_and_posts_its_result(bot: Bot) -> None:
    """`/dw run greet who=Ada times=2` starts one typed run and the channel sees its result."""
    response = await bot.command('run greet who="Ada Lovelace" times=2 loud=yes tags=a,b')
    assert response.status_code == 200
    assert response.content == b""
    await bot.idle()
    [run] = await bot.run_rows("greet")
    assert run.inputs == {"who": "Ada Lovelace", "times": 2, "loud": True, "tags": ["a", "b"]}
    assert run.idempotency_key is not None
    assert run.idempotency_key.startswith("slack-command:trigger.")
    assert run.trigger == {
        "source": "slack",
        "user": USER,
        "channel": CHANNEL,
        "via": "slash_command",
        "command": "run",
    }
    [post] = bot.slack.posts
    assert post.channel == CHANNEL
    assert post.thread_ts is None
    assert f"<@{USER}> started *greet*" in post.text
    assert str(run.id) in post.text
    assert f"{PUBLIC_URL}/runs/{run.id}" in post.latest
    assert len(post.updates) == 1
    assert "✅ *greet* succeeded in" in post.latest
    assert "*greeting*: hello Ada Lovelace" in post.latest
    assert bot.slack.responses == []


async def test_the_same_slash_command_delivered_twice_starts_one_run(bot: Bot) -> None:
    """A repeated delivery of one slash command (same trigger_id) starts a single run."""
    first = await bot.command("run greet who=Ada", trigger_id="1234.5678.abcd")
    second = await bot.command("run greet who=Ada", trigger_id="1234.5678.abcd")
    await bot.idle()
    assert (first.status_code, second.status_code) == (200, 200)
    [run] = await bot.run_rows("greet")
    assert run.idempotency_key == "slack-command:1234.5678.abcd"
    assert len(bot.slack.posts) == 1


async def test_input_mistakes_are_answered_ephemerally_naming_each_input(bot: Bot) -> None:
    """Wrong, unknown and missing inputs are listed privately by name; no run starts."""
    response = await bot.command("run greet times=many colour=red loud=perhaps")
    assert response.status_code == 200
    await bot.idle()
    assert await bot.run_rows("greet") == []
    assert bot.slack.posts == []
    [answer] = bot.slack.responses
    assert answer.response_type == "ephemeral"
    text = answer.all_text
    assert "Cannot run `greet`" in text
    assert "`times` must be a whole number" in text
    assert "`colour` is not an input of this workflow" in text
    assert "`loud` must be true or false" in text
    assert "`who` is required" in text


async def test_an_unknown_workflow_is_named_with_the_known_ones(bot: Bot) -> None:
    """`/dw run nope` says there is no such workflow and lists those there are; a typo
    of one gets the one meant."""
    await bot.command("run nope a=1")
    await bot.command("run gret who=Ada")
    await bot.idle()
    # The two commands are answered concurrently: in either order.
    [answer] = [r for r in bot.slack.responses if "`nope`" in r.all_text]
    [typo] = [r for r in bot.slack.responses if "`gret`" in r.all_text]
    assert answer.response_type == "ephemeral"
    assert "There is no workflow `nope`. Workflows:" in answer.all_text
    assert "`greet`" in answer.all_text
    assert "There is no workflow `gret`. Did you mean 'greet'? Workflows:" in typo.all_text


async def test_run_outside_the_allow_list_is_refused(engine: Harness) -> None:
    """Only allowed users, in allowed channels, may start a workflow; others are told whom to ask."""
    options = bot_options(
        run_allow=(allow("greet", users=[OTHER_USER]), allow("flaky", channels=["C0OPS"]))
    )
    async with running_bot(engine, options=options) as bot:
        refused = await bot.command("run greet who=Ada")
        wrong_channel = await bot.command("run flaky")
        allowed = await bot.command("run flaky", channel_id="C0OPS")
        await bot.idle()
        greet_runs = await bot.run_rows("greet")
        flaky_runs = await bot.run_rows("flaky")
    for response in (refused, wrong_channel):
        assert response.status_code == 200
        body = response.json()
        assert body["response_type"] == "ephemeral"
        assert "SLACK_RUN_ALLOW" in body["text"]
    assert f"`greet={USER}`" in refused.json()["text"]
    assert allowed.content == b""
    assert greet_runs == []
    assert len(flaky_runs) == 1


async def test_status_help_and_runs_are_open_to_everyone(engine: Harness) -> None:
    """With an empty allow-list, status, runs and help still work."""
    options = bot_options(run_allow=(), status_workflow="status-check")
    async with running_bot(engine, options=options) as bot:
        status = await bot.command("status Apollo 11")
        help_ = await bot.command("help")
        await bot.idle()
        await bot.command("runs")
        await bot.idle()
        [run] = await bot.run_rows("status-check")
    assert status.content == b""
    assert run.inputs == {"project": "Apollo 11"}
    assert "status <project>" in help_.json()["text"]
    [post] = bot.slack.posts
    assert "started *status-check*" in post.text
    assert "Apollo 11: all good" in post.latest
    [listed] = bot.slack.responses
    assert listed.response_type == "ephemeral"
    assert "*status-check* succeeded" in listed.all_text


async def test_a_status_report_is_answered_in_the_thread_of_the_run_message(
    engine: Harness,
) -> None:
    """/dw status posts the workflow's ready `slack_message` as a reply to the run's
    message, blocks as made; the run's message itself lists the rest of the output."""
    async with running_bot(engine, options=bot_options(status_workflow="report-check")) as bot:
        await bot.command("status Apollo")
        await bot.idle()
        await bot.mention("status Borealis", event_id="Ev0101", ts="1700000000.000900")
        await bot.idle()
    command_post, command_reply, mention_post, mention_reply = bot.slack.posts
    assert command_post.thread_ts is None
    assert "*health*: on track" in command_post.latest
    assert "slack_message" not in command_post.latest
    assert command_reply.thread_ts == command_post.ts
    assert command_reply.text == "Apollo is on track"
    assert command_reply.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Apollo: on track"},
    }
    # A mention's answers are all in the mention's own thread (threads are one level).
    assert mention_post.thread_ts == mention_reply.thread_ts == "1700000000.000900"
    assert mention_reply.text == "Borealis is on track"


async def test_a_report_the_workflow_posted_is_not_posted_twice(engine: Harness) -> None:
    """When the status workflow posted the report itself (`slack_post`), the bot's thread
    answer points there with the headline: one message carries the report."""
    async with running_bot(engine, options=bot_options(status_workflow="report-posted")) as bot:
        await bot.command("status Apollo")
        await bot.idle()
    command_post, command_reply = bot.slack.posts
    assert command_reply.thread_ts == command_post.ts
    assert command_reply.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Apollo: on track"},
    }
    assert "12 of 20" not in str(command_reply.blocks)
    assert "<#C0PROJ1>" in str(command_reply.blocks)
    assert "slack_post" not in command_post.latest


async def test_a_misshapen_status_output_is_named_to_the_user(engine: Harness) -> None:
    """A status workflow whose output breaks the bot's contract gets a note naming the
    field, not a broken message."""
    options = bot_options(status_workflow="report-misshapen")
    async with running_bot(engine, options=options) as bot:
        await bot.command("status Apollo")
        await bot.idle()
    _, reply = bot.slack.posts
    assert "`report-misshapen` finished, but its output is not what I answer with" in reply.text
    assert "block 0 has no `type`" in reply.text


async def test_a_run_started_with_run_is_not_answered_with_its_slack_message(
    engine: Harness,
) -> None:
    """Only `status` answers the report in the thread; `/dw run` just shows the outcome."""
    options = bot_options(run_allow=(allow("report-check", users=[USER]),))
    async with running_bot(engine, options=options) as bot:
        await bot.command("run report-check project=Apollo")
        await bot.idle()
    [post] = bot.slack.posts
    assert "*health*: on track" in post.latest


async def test_status_without_the_status_workflow_says_which_setting(engine: Harness) -> None:
    """When the configured status workflow is not registered, the user learns which setting."""
    async with running_bot(engine, options=bot_options(status_workflow="no-such-status")) as bot:
        await bot.command("status apollo")
        await bot.idle()
    [answer] = bot.slack.responses
    assert "SLACK_STATUS_WORKFLOW" in answer.all_text
    assert bot.slack.posts == []


async def test_runs_lists_recent_runs_newest_first(bot: Bot) -> None:
    """`/dw runs` shows recent runs with workflow, status and duration, newest first."""
    await bot.engine.run("greet", {"who": "first"})
    await bot.engine.run("flaky")
    await bot.command("runs")
    await bot.idle()
    await bot.command("runs greet")
    await bot.idle()
    everything, only_greet = (r.all_text for r in bot.slack.responses)
    assert everything.index("*flaky* failed in") < everything.index("*greet* succeeded in")
    assert "*flaky*" not in only_greet
    assert "*greet* succeeded in" in only_greet
    assert all(r.response_type == "ephemeral" for r in bot.slack.responses)


async def test_mentions_are_answered_in_the_thread(bot: Bot) -> None:
    """`@bot run ...`, `help`, `runs` and `status` answer in the thread of the mention
    (or of its parent, for a mention inside a thread)."""
    await bot.mention("run greet who=Grace", event_id="Ev0001", ts="1700000000.000200")
    await bot.idle()
    await bot.mention("help", event_id="Ev0002", ts="1700000000.000300", thread_ts="1699.0001")
    await bot.mention("runs", event_id="Ev0003", ts="1700000000.000400")
    await bot.mention("give status of apollo", event_id="Ev0004", ts="1700000000.000500")
    await bot.idle()
    [run] = await bot.run_rows("greet")
    assert run.idempotency_key == "slack-event:Ev0001"
    assert (run.trigger["via"], run.trigger["command"]) == ("mention", "run")
    by_thread = {p.thread_ts: p for p in bot.slack.posts}
    assert len(by_thread) == len(bot.slack.posts) == 4
    assert by_thread["1700000000.000200"].latest.count("hello Grace") == 1
    assert "✅ *greet* succeeded" in by_thread["1700000000.000200"].latest
    assert "status <project>" in by_thread["1699.0001"].text
    assert "*greet* succeeded" in by_thread["1700000000.000400"].latest
    assert "apollo: all good" in by_thread["1700000000.000500"].latest
    assert {p.channel for p in bot.slack.posts} == {CHANNEL}
    assert bot.slack.responses == []


async def test_a_redelivered_event_starts_one_run(bot: Bot) -> None:
    """Slack's retries of one event (same event_id) start a single run and one message."""
    for retry in range(3):
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        body = mention_body("run greet who=Once", event_id="EvSAME")
        response = await bot.client.post(
            "/slack/events",
            content=body,
            headers={**signed_headers(body, content_type="application/json"), **headers},
        )
        assert response.status_code == 200
    await bot.idle()
    assert len(await bot.run_rows("greet")) == 1
    assert len(bot.slack.posts) == 1


async def test_two_bot_replicas_given_one_event_start_one_run(engine: Harness) -> None:
    """Even two bot processes receiving the same event start one run and post once."""
    slack = RecordingSlack()
    async with running_bot(engine, slack=slack) as one, running_bot(engine, slack=slack) as two:
        await asyncio.gather(
            one.mention("run greet who=Twice", event_id="EvBOTH"),
            two.mention("run greet who=Twice", event_id="EvBOTH"),
        )
        await one.idle()
        await two.idle()
        runs = await one.run_rows("greet")
    assert len(runs) == 1
    assert len(slack.posts) == 1


async def test_the_bots_own_and_other_bots_messages_are_ignored(bot: Bot) -> None:
    """Mentions written by a bot (or by this bot itself) never trigger anything."""
    await bot.mention("run greet who=Loop", event_id="EvBOT1", bot_id="B0OTHER")
    await bot.mention("run greet who=Loop", event_id="EvBOT2", user="UBOT0001")
    await bot.mention("run greet who=Loop", event_id="EvBOT3", subtype="bot_message")
    await bot.idle()
    assert await bot.run_rows("greet") == []
    assert bot.slack.posts == []


async def test_failed_run_retry_button_resumes_at_the_failed_step(bot: Bot) -> None:
    """A failed run's message has Retry; clicking it resumes at the failed step and the
    message ends with the successful outcome."""
    await bot.command("run flaky")
    await bot.idle()
    [post] = bot.slack.posts
    assert "❌ *flaky* failed at step `shaky`" in post.latest
    assert "board 42 is gone" in post.latest
    [button] = buttons(post.latest_blocks)
    assert button["action_id"] == RETRY_ACTION
    [failed] = await bot.run_rows("flaky")
    assert button["value"] == str(failed.id)

    clicked = await bot.click_retry(button["value"], message_ts=post.ts)
    assert clicked.status_code == 200
    await bot.idle()
    texts = [text for text, _ in post.updates]
    assert any(f"<@{USER}> is retrying *flaky* from step `shaky`" in t for t in texts)
    assert "✅ *flaky* succeeded" in post.latest
    assert buttons(post.latest_blocks) == []
    attempts = await bot.engine.attempts(failed.id)
    assert [(a.step_id, a.attempt, a.status) for a in attempts] == [
        ("first", 1, "succeeded"),
        ("shaky", 1, "failed"),
        ("shaky", 2, "succeeded"),
    ]
    assert bot.engine.probe.count("flaky-first") == 1


async def test_retry_is_refused_outside_the_allow_list(engine: Harness) -> None:
    """Someone not allowed to run the workflow cannot retry it either; the run stays failed."""
    options = bot_options(run_allow=(allow("flaky", users=[USER]),))
    async with running_bot(engine, options=options) as bot:
        await bot.command("run flaky")
        await bot.idle()
        [post] = bot.slack.posts
        [button] = buttons(post.latest_blocks)
        await bot.click_retry(button["value"], message_ts=post.ts, user=OTHER_USER)
        await bot.idle()
        [run] = await bot.run_rows("flaky")
    assert run.status == "failed"
    [answer] = bot.slack.responses
    assert answer.response_type == "ephemeral"
    assert "SLACK_RUN_ALLOW" in answer.all_text
    assert len(post.updates) == 1


async def test_retrying_a_run_that_is_not_failed_explains(bot: Bot) -> None:
    """A second click on Retry (the run is already going again) gets a short explanation."""
    run = await bot.engine.run("greet", {"who": "x"})
    await bot.click_retry(str(run.id), message_ts="1.1")
    await bot.idle()
    [answer] = bot.slack.responses
    assert "only failed runs can be retried" in answer.all_text


async def test_where_the_bot_cannot_post_it_answers_through_response_url(engine: Harness) -> None:
    """In a DM or a channel the bot is not in, the run's messages go through response_url."""
    slack = RecordingSlack(cannot_post={CHANNEL})
    async with running_bot(engine, slack=slack) as bot:
        await bot.command("run greet who=Dee")
        await bot.idle()
    assert slack.posts == []
    started, finished = slack.responses
    assert (started.response_type, finished.response_type) == ("in_channel", "in_channel")
    assert "started *greet*" in started.text
    assert "✅ *greet* succeeded" in finished.text
    assert not finished.replace_original


async def test_following_stops_after_the_maximum_with_a_note(engine: Harness) -> None:
    """A run longer than the follow limit gets a final note instead of being polled forever."""
    async with running_bot(engine, options=bot_options(follow_max_s=0.3)) as bot:
        await bot.command("run gated")
        await bot.idle()
        [post] = bot.slack.posts
    assert "I stopped following it" in post.latest
    assert "is still running" in post.latest or "is still queued" in post.latest


async def test_shutdown_cancels_following_promptly(engine: Harness) -> None:
    """Stopping the bot while it follows a long run does not hang past the grace period."""
    async with running_bot(engine, options=bot_options(shutdown_grace_s=0.2)) as bot:
        await bot.command("run gated")
        await bot.slack.wait_for(lambda: len(bot.slack.posts) == 1)
        assert len(bot.tasks) == 1
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 2.0
    assert len(bot.tasks) == 0


async def test_a_cancelled_run_is_reported_as_cancelled(bot: Bot) -> None:
    """When someone cancels a run the bot is following, its message says it was cancelled."""
    await bot.command("run gated")
    await bot.slack.wait_for(lambda: len(bot.slack.posts) == 1)
    [run] = await bot.run_rows("gated")
    cancelled = await bot.engine.client.post(f"/v1/runs/{run.id}/cancel")
    assert cancelled.status_code == 202
    await bot.idle()
    [post] = bot.slack.posts
    assert "🚫 *gated* was cancelled" in post.latest
    assert buttons(post.latest_blocks) == []


class CountingEngine:
    """The bot's engine client, recording how long each read of a run waited."""

    def __init__(self, inner: EngineClient) -> None:
        self.inner = inner
        self.waits: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def get_run(self, run_id: str, *, wait_s: float = 0.0) -> RunInfo:
        self.waits.append(wait_s)
        return await self.inner.get_run(run_id, wait_s=wait_s)


async def test_the_bot_waits_on_the_engine_instead_of_polling(engine: Harness) -> None:
    """While a run takes a second, the bot reads it once or twice, each read waiting on
    the engine (`?wait=`), rather than polling every few tens of milliseconds."""
    counting = CountingEngine(engine_client(engine))
    gate = engine.probe.gates.setdefault("open", asyncio.Event())
    gate.clear()
    async with running_bot(engine, bot_engine=counting) as bot:
        await bot.command("run gated")
        await asyncio.sleep(1.0)
        gate.set()
        await bot.idle()
    [post] = bot.slack.posts
    assert "*gated* succeeded" in post.latest
    assert 1 <= len(counting.waits) <= 2
    assert all(wait > 1 for wait in counting.waits)
