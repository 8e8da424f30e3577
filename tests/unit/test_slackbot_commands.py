"""The bot's command language: what people type after /dw or @bot, and what it means."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataworkflows.slackbot.commands import (
    MAX_TEXT,
    Help,
    Misunderstood,
    Run,
    Runs,
    Status,
    parse_command,
    strip_mention,
    tokenize,
)
from dataworkflows.slackbot.messages import MAX_SECTION, help_message


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", " help ", "?", "help me please"])
def test_help_and_empty_text_give_help(text: str) -> None:
    """`/dw`, `/dw help` (any case) show the help."""
    assert parse_command(text) == Help()


def test_status_takes_the_rest_as_the_project() -> None:
    """`/dw status apollo` and `/dw status Big Project` name the project to report on."""
    assert parse_command("status apollo") == Status(project="apollo")
    assert parse_command("Status  Big   Project") == Status(project="Big Project")
    assert parse_command('status "Big  Project"') == Status(project="Big  Project")


def test_status_without_a_project_says_so() -> None:
    """`/dw status` alone explains that a project is needed."""
    parsed = parse_command("status")
    assert isinstance(parsed, Misunderstood)
    assert "needs a project" in parsed.problem


def test_run_with_key_values_and_quotes() -> None:
    """Values may be quoted with either quote, and may contain = and spaces."""
    parsed = parse_command(
        "run report-daily title=\"two words\" note='it''s' count=3 expr=a=b empty="
    )
    assert parsed == Run(
        workflow="report-daily",
        arguments=(
            ("title", "two words"),
            ("note", "its"),
            ("count", "3"),
            ("expr", "a=b"),
            ("empty", ""),
        ),
    )


def test_run_understands_slack_typography_and_escaping() -> None:
    """Smart quotes, &amp;-escaping and auto-linked URLs come back as the user typed them."""
    parsed = parse_command(
        "run sync title=\u201ca &amp; b &lt;c&gt;\u201d url=<https://example.com/x|example.com/x>"
        " mail=<mailto:a@b.example|a@b.example> bare=<https://example.com>"
    )
    assert parsed == Run(
        workflow="sync",
        arguments=(
            ("title", "a & b <c>"),
            ("url", "example.com/x"),
            ("mail", "a@b.example"),
            ("bare", "https://example.com"),
        ),
    )


def test_backslash_escapes_inside_double_quotes() -> None:
    """A double quote inside a double-quoted value is written \\"."""
    assert tokenize(r'a="say \"hi\"" b') == ['a=say "hi"', "b"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("run", "needs a workflow"),
        ("run Not_A_Name", "is not a workflow name"),
        ("run ../v1/runs", "is not a workflow name"),
        ("run wf lonely", "is not key=value"),
        ("run wf 1x=2", "is not an input name"),
        ('run wf title="unclosed', "quote is not closed"),
        ("deploy everything", "`deploy` is not a command"),
        ("runs a b", "at most a workflow name"),
        ("x" * (MAX_TEXT + 1), "too long"),
    ],
)
def test_mistakes_say_what_was_not_understood(text: str, fragment: str) -> None:
    """Each kind of mistake is named, so the user can fix it."""
    parsed = parse_command(text)
    assert isinstance(parsed, Misunderstood)
    assert fragment in parsed.problem


def test_runs_with_and_without_a_workflow() -> None:
    """`/dw runs` lists all recent runs; `/dw runs <workflow>` only that workflow's."""
    assert parse_command("runs") == Runs()
    assert parse_command("RUNS hello-world") == Runs(workflow="hello-world")


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("<@U0LAN0Z89> status apollo", "status apollo"),
        ("  <@U0LAN0Z89|bot>: run x", "run x"),
        ("<@U0LAN0Z89>, help", "help"),
        ("status <@U0LAN0Z89>", "status <@U0LAN0Z89>"),
        ("no mention", "no mention"),
    ],
)
def test_strip_mention_removes_only_the_leading_mention(text: str, rest: str) -> None:
    """`@bot status apollo` is read as `status apollo`."""
    assert strip_mention(text) == rest


def test_a_mention_later_in_the_sentence_still_addresses_the_bot() -> None:
    """`hey <@UBOT> status apollo` is read as `status apollo` when UBOT is the bot."""
    assert strip_mention("hey <@UBOT1> status apollo", "UBOT1") == "status apollo"
    assert strip_mention("<@UOTHER> <@UBOT1>: runs", "UBOT1") == "runs"
    assert strip_mention("<@UBOT1> help", "") == "help"
    assert strip_mention("<@UBOT1> <@UBOT1> status apollo", "UBOT1") == "status apollo"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("give status of apollo", Status(project="apollo")),
        ("please show me the runs", Runs()),
        ("status for Big Project?", Status(project="Big Project")),
        ("hey help", Help()),
    ],
)
def test_people_may_talk_to_the_bot(text: str, command: object) -> None:
    """Polite filler around a command (`give status of apollo`) is understood."""
    assert parse_command(text) == command


def test_quoted_text_is_not_a_backtick_breakout() -> None:
    """Text quoted back to the user cannot end the code span it is shown in."""
    parsed = parse_command("run wf `oops`")
    assert isinstance(parsed, Misunderstood)
    assert "`oops`" not in parsed.problem


_SLACKISH = st.one_of(
    st.text(),
    st.text(
        alphabet=st.sampled_from(
            list("run status help runs = \"'\u201c\u201d\u2018\u2019<>@|&;:UC0 \\\n\t")
        ),
        max_size=80,
    ),
    st.builds(
        lambda a, b: f"<@U{a}> {b}", st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True), st.text()
    ),
    st.builds(lambda s: f"run {s}", st.text()),
    st.builds(lambda n: "x" * n, st.integers(min_value=MAX_TEXT - 2, max_value=MAX_TEXT * 3)),
)


@settings(max_examples=400)
@given(_SLACKISH)
def test_any_text_gives_a_command_or_an_answer(text: str) -> None:
    """Nothing a user types crashes the parser: it yields a command or a help answer."""
    parsed = parse_command(strip_mention(text))
    assert isinstance(parsed, Help | Misunderstood | Status | Run | Runs)
    if isinstance(parsed, Misunderstood):
        message = help_message("/dw", parsed.problem)
        assert message.text
        assert all(len(b["text"]["text"]) <= MAX_SECTION for b in message.blocks)
    if isinstance(parsed, Run):
        assert all(key and key.isidentifier() for key, _ in parsed.arguments)
