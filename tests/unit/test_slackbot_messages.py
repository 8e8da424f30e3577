"""What the bot posts: Slack's limits respected, outside text escaped, outcomes clear."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataworkflows.contracts.runs import format_duration
from dataworkflows.slackbot.engine_client import RunInfo
from dataworkflows.slackbot.messages import (
    MAX_BLOCKS,
    MAX_SECTION,
    RETRY_ACTION,
    Message,
    StatusOutputInvalid,
    finished_message,
    refused_message,
    report_reply,
    runs_message,
    started_message,
    status_output,
)

RUN_ID = "0b7f3f5e-8d4a-4c1e-9a43-1f2e3d4c5b6a"
LINK = f"https://dw.example.test/v1/runs/{RUN_ID}"


def run(**fields: Any) -> RunInfo:
    values: dict[str, Any] = {"id": RUN_ID, "workflow": "daily-report", "status": "succeeded"}
    values.update(fields)
    return RunInfo(**values)


def texts(message: Message) -> list[str]:
    found = []
    for block in message.blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found.extend(e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str))
    return found


def assert_within_limits(message: Message) -> None:
    assert message.text
    assert 0 < len(message.blocks) <= MAX_BLOCKS
    for block in message.blocks:
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION
            assert block["text"]["text"].strip()


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, "?"),
        (850, "850 ms"),
        (3200, "3.2 s"),
        (125_000, "2 min 5 s"),
        (3_780_000, "1 h 3 min"),
    ],
)
def test_durations_read_naturally(ms: float | None, shown: str) -> None:
    """Durations are shown in the unit a person would use."""
    assert format_duration(ms) == shown


def test_success_shows_duration_link_and_output() -> None:
    """A finished run's message says it succeeded, how long it took, links it, shows output."""
    message = finished_message(
        run=run(duration_ms=3200, output={"items": 3, "by_status": {"Done": 2}}),
        user="U0ALICE1",
        link=LINK,
    )
    joined = "\n".join(texts(message))
    assert "succeeded in 3.2 s" in joined
    assert f"<{LINK}|details>" in joined
    assert "<@U0ALICE1>" in joined
    assert "*items*: 3" in joined
    assert '*by_status*: {"Done":2}' in joined


def test_failure_names_the_step_and_offers_retry() -> None:
    """A failed run's message names the failed step and its error, with a Retry button."""
    message = finished_message(
        run=run(
            status="failed",
            duration_ms=10,
            error={"code": "upstream_error", "message": "board <1> gone", "step": "items"},
        ),
        user="U0ALICE1",
        link=LINK,
    )
    joined = "\n".join(texts(message))
    assert "failed at step `items`" in joined
    assert "board &lt;1&gt; gone" in joined
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    [button] = actions["elements"]
    assert (button["action_id"], button["value"]) == (RETRY_ACTION, RUN_ID)


def test_cancelled_runs_say_so_without_retry() -> None:
    """A cancelled run is reported as cancelled."""
    message = finished_message(run=run(status="cancelled"), user="", link=LINK)
    assert "was cancelled" in message.text
    assert not [b for b in message.blocks if b["type"] == "actions"]


def test_outside_text_cannot_mention_everyone_or_forge_links() -> None:
    """Output and inputs are escaped: `<!channel>` and `<http://evil|x>` stay inert text."""
    message = finished_message(
        run=run(output="<!channel> see <http://evil|here>"), user="", link=LINK
    )
    started = started_message(
        workflow="w", run_id=RUN_ID, user="U0ALICE1", link=LINK, inputs={"t": "<!here>"}
    )
    for text in texts(message) + texts(started):
        assert "<!" not in text
        assert "<http://evil" not in text


def test_huge_output_is_cut_to_slack_limits_and_says_so() -> None:
    """Output far beyond a message's size is cut, within Slack's limits, with a note."""
    output = {f"key{i}": "v" * 500 for i in range(500)}
    message = finished_message(run=run(output=output), user="", link=LINK)
    assert_within_limits(message)
    assert "longer than a Slack message" in "\n".join(texts(message))


def test_a_single_enormous_line_is_split() -> None:
    """One 20,000-character line still fits: split into sections of at most 3,000."""
    message = finished_message(run=run(output=["x" * 20_000]), user="", link=LINK)
    assert_within_limits(message)
    sections = [b for b in message.blocks if b["type"] == "section"][1:]
    assert all(s["text"]["text"].startswith("```") for s in sections)


@settings(max_examples=150)
@given(
    output=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
        max_leaves=30,
    ),
    status=st.sampled_from(["succeeded", "failed", "cancelled"]),
    message_text=st.text(),
)
def test_any_run_renders_within_limits(output: Any, status: str, message_text: str) -> None:
    """Whatever a run returns or fails with, its message is valid for Slack."""
    error = {"message": message_text, "step": "s"} if status == "failed" else None
    assert_within_limits(
        finished_message(run=run(status=status, output=output, error=error), user="", link=LINK)
    )


def test_runs_list_is_compact_and_bounded() -> None:
    """Recent runs show workflow, status, duration and age, one line each, within limits."""
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    runs = [
        run(status="succeeded", duration_ms=1500, created_at=now - timedelta(minutes=5)),
        run(
            status="running",
            workflow="sync",
            started_at=now - timedelta(seconds=30),
            created_at=now - timedelta(seconds=31),
        ),
    ]
    message = runs_message(runs, now=now.timestamp(), link_for=lambda rid: f"{LINK}")
    text = texts(message)[0]
    assert "*daily-report* succeeded in 1.5 s · 5 min ago" in text
    assert "*sync* running for 30.0 s · just now" in text
    many = runs_message(runs * 100, now=now.timestamp(), link_for=lambda rid: LINK)
    assert_within_limits(many)
    assert "more" in texts(many)[0]


def test_refusal_names_the_variable_and_examples() -> None:
    """A refused run says which setting grants it, with the user's and channel's ids."""
    text = refused_message("deploy", user="U0ALICE1", channel="C0OPS").text
    assert "SLACK_RUN_ALLOW" in text
    assert "`deploy=U0ALICE1`" in text
    assert "`deploy=C0OPS`" in text


def test_the_status_output_is_a_checked_shape() -> None:
    """`slack_message` must be text plus typed blocks, `slack_post` a channel and ts; a
    misshapen one is refused naming the field, and missing keys mean "none"."""
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    full = status_output({"slack_message": {"text": "r", "blocks": [block] * 60}, "other": 1})
    assert report_reply(full) == Message(text="r", blocks=[block] * 50)
    assert report_reply(status_output({"slack_message": {"text": "only text"}})) == Message(
        text="only text"
    )
    for nothing in (None, "text", {"other": 1}):
        assert report_reply(status_output(nothing)) is None, nothing
    for output, named in (
        ({"slack_message": "text"}, "slack_message"),
        ({"slack_message": {"text": "  "}}, "`text` is blank"),
        ({"slack_message": {"text": "r", "blocks": "nope"}}, "slack_message.blocks"),
        ({"slack_message": {"text": "r", "blocks": [{"text": "untyped"}]}}, "block 0"),
        ({"slack_message": {"text": "r"}, "slack_post": {"channel": "C1"}}, "ts"),
    ):
        with pytest.raises(StatusOutputInvalid, match=re.escape(named)):
            status_output(output)


def test_a_report_the_workflow_posted_is_pointed_at_not_repeated() -> None:
    """With `slack_post`, the bot's answer is the report's headline and where it is: the
    workflow's message is the one that carries the report."""
    header = {"type": "header", "text": {"type": "plain_text", "text": "Apollo: on track"}}
    body = {"type": "section", "text": {"type": "mrkdwn", "text": "*12 of 20* done"}}
    status = status_output(
        {
            "slack_message": {"text": "Apollo: on track\n12 of 20 done", "blocks": [header, body]},
            "slack_post": {"channel": "C0PROJ1", "ts": "1700000000.000100"},
        }
    )
    reply = report_reply(status)
    assert reply is not None
    assert reply.blocks[0] == header
    assert body not in reply.blocks
    assert "<#C0PROJ1>" in str(reply.blocks)
    assert reply.text == "Apollo: on track (<#C0PROJ1>)"
