"""What the bot says, as Slack messages: a notification ``text`` plus Block Kit blocks.

Everything that comes from outside the bot's own words (workflow output, error
messages, names and values people typed) is escaped (``&``, ``<``, ``>``), so it can
neither mention ``@channel`` nor forge links, and is cut to Slack's limits: a section's
text is at most 3,000 characters and a message has at most 50 blocks. What is cut says
so and points to the run in the engine's API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import msgspec

from dataworkflows.contracts.runs import format_duration
from dataworkflows.slackbot.engine_client import RunInfo
from dataworkflows.slackbot.replies import Block

__all__ = [
    "MAX_BLOCKS",
    "MAX_SECTION",
    "RETRY_ACTION",
    "Message",
    "ReportMessage",
    "ReportPost",
    "StatusOutput",
    "StatusOutputInvalid",
    "escape",
    "finished_message",
    "help_message",
    "note_message",
    "problems_message",
    "refused_message",
    "report_reply",
    "retrying_message",
    "runs_message",
    "started_message",
    "status_output",
    "status_output_problem_message",
    "stopped_following_message",
]

MAX_SECTION: Final = 3000
MAX_BLOCKS: Final = 50
MAX_TEXT: Final = 3000
"""The notification text: Slack truncates long ones anyway."""
MAX_OUTPUT_SECTIONS: Final = 5
REPORT_OUTPUT: Final = "slack_message"
REPORT_POST_OUTPUT: Final = "slack_post"
"""The output key under which a workflow hands the bot a ready Slack message
(``{"text", "blocks"}``, e.g. a rendered status report) to answer in the thread."""
RETRY_ACTION: Final = "dw_retry"
"""The ``action_id`` of the Retry button on a failed run's message."""

_USER_RE: Final = re.compile(r"^[UW][A-Z0-9]{1,30}$")
_STATUS_ICON: Final = {
    "queued": "🕒",
    "running": "⏳",
    "succeeded": "✅",
    "failed": "❌",
    "cancelled": "🚫",
}


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """A message: ``text`` for notifications and old clients, ``blocks`` for display."""

    text: str
    blocks: list[Block] = msgspec.field(default_factory=list)


def escape(text: str) -> str:
    """``text`` with Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_SECTION)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, MAX_SECTION)}]}


def _message(text: str, blocks: Sequence[Block]) -> Message:
    return Message(text=_cut(text, MAX_TEXT), blocks=list(blocks)[:MAX_BLOCKS])


def _mention(user: str) -> str:
    return f"<@{user}>" if _USER_RE.match(user) else "someone"


def _code(text: str) -> str:
    # A backtick inside would end the code span early.
    return "`" + escape(text).replace("`", "'") + "`"


def _ago(then: datetime | None, now: float) -> str:
    if then is None:
        return ""
    seconds = max(0.0, now - then.timestamp())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def help_message(command: str, problem: str | None = None) -> Message:
    """What the bot can do; with ``problem``, what it did not understand first."""
    lines = []
    if problem:
        lines.append(f"🤔 I did not understand that: {escape(problem)}.\n")
    lines += [
        "*Data Workflows* can do this for you:",
        f"• `{command} status <project>`: the status of a project",
        f"• `{command} run <workflow> key=value ...`: start a workflow "
        '(quote values with spaces: `title="two words"`)',
        f"• `{command} runs [workflow]`: recent runs, newest first",
        f"• `{command} help`: this help",
        "Or mention me with the same words (`@me status apollo`) and I answer in the thread.",
    ]
    text = "\n".join(lines)
    return _message(text, [_section(text)])


def note_message(text: str) -> Message:
    """A one-section message of the bot's own words (already formatted)."""
    return _message(text, [_section(text)])


def problems_message(title: str, problems: Sequence[str]) -> Message:
    """``title`` and one bullet per problem (problems may hold `code` spans, no links)."""
    shown = list(problems[:20])
    if len(problems) > len(shown):
        shown.append(f"and {len(problems) - len(shown)} more")
    text = title + "\n" + "\n".join(f"• {escape(p)}" for p in shown)
    return _message(text, [_section(text)])


def refused_message(workflow: str, *, user: str, channel: str) -> Message:
    """Why ``user`` may not run ``workflow`` here, and who can change that."""
    example_user = user if _USER_RE.match(user) else "U012AB3CD"
    text = (
        f"🔒 You may not run {_code(workflow)} from Slack in this channel. "
        "Ask whoever runs Data Workflows to allow it in `SLACK_RUN_ALLOW`, "
        f"for example `{escape(workflow)}={example_user}` for you"
        + (f" or `{escape(workflow)}={escape(channel)}` for this channel." if channel else ".")
    )
    return _message(text, [_section(text)])


def _run_link(run_id: str, link: str) -> str:
    return f"run {_code(run_id)} (<{link}|details>)"


def started_message(
    *, workflow: str, run_id: str, user: str, link: str, inputs: dict[str, Any]
) -> Message:
    """The first message of a run: who started what, and where to see it."""
    summary = f"⏳ {_mention(user)} started *{escape(workflow)}* … {_run_link(run_id, link)}"
    blocks = [_section(summary)]
    if inputs:
        shown = ", ".join(f"{escape(k)}={escape(_compact(v))}" for k, v in inputs.items())
        blocks.append(_context("inputs: " + _cut(shown, 500)))
    return _message(summary, blocks)


def retrying_message(*, run: RunInfo, user: str, link: str) -> Message:
    """The message of a failed run once someone clicked Retry."""
    step = (run.error or {}).get("step")
    at = f" from step {_code(str(step))}" if step else ""
    text = (
        f"🔁 {_mention(user)} is retrying *{escape(run.workflow)}*{at} … {_run_link(run.id, link)}"
    )
    return _message(text, [_section(text)])


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return str(value)


def _split(body: str, size: int) -> list[str]:
    """``body`` in pieces of at most ``size`` characters, at line ends where possible."""
    chunks: list[str] = []
    current = ""
    for whole_line in body.split("\n"):
        line = whole_line
        while len(line) > size:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:size])
            line = line[size:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > size:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def _output_sections(output: Any) -> list[Block]:
    """The run's output: text as text, an object one key per line, anything else as JSON.

    At most :data:`MAX_OUTPUT_SECTIONS` sections; what does not fit is left out, saying so.
    """
    if isinstance(output, dict) and (REPORT_OUTPUT in output or REPORT_POST_OUTPUT in output):
        # Those are for the bot's own answer (report_reply), not for people.
        output = {k: v for k, v in output.items() if k not in (REPORT_OUTPUT, REPORT_POST_OUTPUT)}
    if output is None or output in ({}, [], ""):
        return []
    fenced = False
    if isinstance(output, str):
        body = escape(output)
    elif isinstance(output, dict):
        body = "\n".join(
            f"• *{escape(str(key))}*: {escape(_compact(value))}" for key, value in output.items()
        )
    else:
        # Three backticks inside would end the code block early.
        body = escape(_compact(output)).replace("```", "` ` `")
        fenced = True
    # Slack refuses a section whose text is empty or blank.
    chunks = [c for c in _split(body, MAX_SECTION - 10) if c.strip()]
    cut = len(chunks) > MAX_OUTPUT_SECTIONS
    blocks = [_section(f"```{c}```" if fenced else c) for c in chunks[:MAX_OUTPUT_SECTIONS]]
    if cut:
        blocks.append(_context("… the output is longer than a Slack message: see the run."))
    return blocks


class ReportMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A ready Slack message: mrkdwn ``text`` and Block Kit ``blocks``."""

    text: str
    blocks: list[dict[str, Any]] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("`text` is blank")
        for number, block in enumerate(self.blocks):
            if not isinstance(block.get("type"), str):
                raise ValueError(f"block {number} has no `type`")


class ReportPost(msgspec.Struct, frozen=True, kw_only=True):
    """Where the workflow posted the report itself."""

    channel: str
    ts: str


class StatusOutput(msgspec.Struct, frozen=True, kw_only=True):
    """What the status workflow (``SLACK_STATUS_WORKFLOW``) answers the bot with: the
    keys of its output the bot reads (any others are its own).

    ``slack_message`` is the report as a Slack message; ``slack_post`` says where the
    workflow posted it, when it did. The report then has one writer, the workflow, and
    the bot's answer points at it; otherwise the bot's answer carries the report.
    """

    slack_message: ReportMessage | None = None
    slack_post: ReportPost | None = None


class StatusOutputInvalid(ValueError):
    """The status workflow's output does not have :class:`StatusOutput`'s shape; the
    message names the field and the problem."""


def status_output(output: Any) -> StatusOutput:
    """``output`` read as :class:`StatusOutput` (an output that is not an object has
    none of its keys). Raises :class:`StatusOutputInvalid`."""
    if not isinstance(output, dict):
        return StatusOutput()
    try:
        return msgspec.convert(output, StatusOutput)
    except msgspec.ValidationError as exc:
        raise StatusOutputInvalid(str(exc).replace("$.", "")) from None


def report_reply(status: StatusOutput) -> Message | None:
    """The bot's answer beneath the run's message for a finished status run: the report
    itself when only the bot can carry it, else its headline and where it was posted
    (the workflow's message and thread carry it: one writer per answer)."""
    report = status.slack_message
    if report is None:
        return None
    if status.slack_post is None:
        return Message(text=_cut(report.text, MAX_TEXT), blocks=report.blocks[:MAX_BLOCKS])
    where = f"<#{status.slack_post.channel}>"
    headline = report.text.strip().splitlines()[0]
    pointer = f"📊 The report is posted in {where}: that message and its thread carry it."
    first = report.blocks[:1] if report.blocks and report.blocks[0]["type"] == "header" else []
    blocks = first or [_section(_cut(headline, MAX_SECTION - 100))]
    return Message(
        text=_cut(f"{headline} ({where})", MAX_TEXT), blocks=[*blocks, _section(pointer)]
    )


def status_output_problem_message(workflow: str, problem: str) -> Message:
    """What the bot says when the status workflow's output does not fit :class:`StatusOutput`."""
    return note_message(
        f"⚠️ `{escape(workflow)}` finished, but its output is not what I answer with "
        f"({escape(problem)}): it needs `slack_message` with `text` and typed `blocks`, "
        "and `slack_post` with `channel` and `ts` when it posted the report itself."
    )


def finished_message(*, run: RunInfo, user: str, link: str) -> Message:
    """A run's final message: its outcome, output or error, and a Retry button if failed."""
    who = f" (started by {_mention(user)})" if user else ""
    name = f"*{escape(run.workflow)}*"
    took = format_duration(run.duration_ms)
    if run.status == "succeeded":
        summary = f"✅ {name} succeeded in {took}{who} … {_run_link(run.id, link)}"
        blocks = [_section(summary), *_output_sections(run.output)]
        return _message(summary, blocks)
    if run.status == "cancelled":
        summary = f"🚫 {name} was cancelled{who} … {_run_link(run.id, link)}"
        return _message(summary, [_section(summary)])
    error = run.error or {}
    step = error.get("step")
    at = f" at step {_code(str(step))}" if step else ""
    message = escape(
        _cut(str(error.get("message") or error.get("code") or "no reason given"), 1500)
    )
    summary = f"❌ {name} failed{at} after {took}{who} … {_run_link(run.id, link)}"
    detail = f"{summary}\n>{message}"
    retry: Block = {
        "type": "actions",
        "block_id": "dw_run_actions",
        "elements": [
            {
                "type": "button",
                "action_id": RETRY_ACTION,
                "text": {"type": "plain_text", "text": "Retry"},
                "value": run.id,
                "style": "primary",
            }
        ],
    }
    return _message(f"❌ {run.workflow} failed{at}: {message}", [_section(detail), retry])


def stopped_following_message(*, run: RunInfo, user: str, link: str, after_s: float) -> Message:
    """The final note when a run outlasts how long the bot follows runs."""
    text = (
        f"⌛ {_mention(user)}'s *{escape(run.workflow)}* is still {run.status} after "
        f"{format_duration(after_s * 1000)}; I stopped following it. {_run_link(run.id, link)}"
    )
    return _message(text, [_section(text)])


def runs_message(runs: Sequence[RunInfo], *, now: float, link_for: Callable[[str], str]) -> Message:
    """Recent runs, one line each: status, workflow, duration, age and a link."""
    if not runs:
        text = "No runs yet."
        return _message(text, [_section(text)])
    header = f"*Recent runs*, newest first ({len(runs)})"
    text = header
    for index, run in enumerate(runs):
        icon = _STATUS_ICON.get(run.status, "•")
        if run.duration_ms is not None:
            took = f" in {format_duration(run.duration_ms)}"
        elif run.started_at is not None and not run.finished:
            took = f" for {format_duration((now - run.started_at.timestamp()) * 1000)}"
        else:
            took = ""
        age = _ago(run.created_at, now)
        line = (
            f"\n{icon} *{escape(run.workflow)}* {escape(run.status)}{took}"
            f"{' · ' + age if age else ''} · <{link_for(run.id)}|{escape(run.id[:8])}>"
        )
        # Whole lines only: a cut inside a <link|label> would show broken markup.
        if len(text) + len(line) > MAX_SECTION - 40:
            text += f"\n… and {len(runs) - index} more"
            break
        text += line
    return _message(header, [_section(text)])
