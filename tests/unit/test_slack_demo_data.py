"""The seeded Slack demo workspace: deterministic, and the same people and projects as the
Monday demo account."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from dataworkflows.sandboxes.slack.demo_data import (
    ANCHOR,
    ARCHIVED_CHANNEL_ID,
    BOT,
    DEMO_USERS,
    NOT_MEMBER_CHANNEL_ID,
    PROJECT_CHANNEL_IDS,
    SlackWorkspace,
    format_ts,
    ts_micros,
)
from dataworkflows.sandboxes.world import DEMO_USERS as WORLD_USERS
from dataworkflows.sandboxes.world import PROJECT_NAMES, PROJECTS

TS = re.compile(r"^\d{10}\.\d{6}$")
LATER = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
"""Another anchor: a Monday, the day of the bot's weekly posts."""


def snapshot(workspace: SlackWorkspace) -> list[tuple[str, str, str | None, str, str | None]]:
    return [
        (c.id, m.ts, m.user, m.text, m.thread_ts)
        for c in workspace.channels.values()
        for m in c.messages
    ]


def test_the_same_seed_gives_the_same_workspace() -> None:
    """Two builds with one seed are identical, ts for ts; another seed differs."""
    assert snapshot(SlackWorkspace.seeded(7)) == snapshot(SlackWorkspace.seeded(7))
    assert snapshot(SlackWorkspace.seeded(7)) != snapshot(SlackWorkspace.seeded(8))


def test_people_are_the_monday_accounts_people() -> None:
    """Every monday demo user is a Slack user with the same name and email."""
    assert [(u.real_name, u.email, u.monday_user_id) for u in DEMO_USERS] == [
        (u.name, u.email, u.id) for u in WORLD_USERS
    ]
    assert all(re.fullmatch(r"U[A-Z0-9]{8,}", u.id) for u in DEMO_USERS)
    assert re.fullmatch(r"B[A-Z0-9]{8,}", BOT.bot_id)


def test_one_channel_per_project_talking_about_its_tickets() -> None:
    """#proj-<key> exists for each monday project and mentions its ticket prefix."""
    workspace = SlackWorkspace.seeded(7)
    prefixes = {"apollo": "APO-", "borealis": "BOR-", "cygnus": "CYG-"}
    assert set(PROJECT_CHANNEL_IDS) == set(PROJECTS)
    for key in PROJECTS:
        channel = workspace.channels[PROJECT_CHANNEL_IDS[key]]
        assert channel.name == f"proj-{key}"
        assert PROJECT_NAMES[key] in channel.topic
        assert channel.bot_is_member
        assert sum(prefixes[key] in m.text for m in channel.messages) >= 5
        assert any(m.bot_id == BOT.bot_id for m in channel.messages)


def test_history_is_realistic() -> None:
    """Dozens of messages over weeks, threads with replies, unique increasing ts."""
    workspace = SlackWorkspace.seeded(7)
    for channel in workspace.channels.values():
        stamps = [m.ts for m in channel.messages]
        assert all(TS.match(ts) for ts in stamps)
        assert stamps == sorted(stamps, key=ts_micros)
        assert len(set(stamps)) == len(stamps)
        assert len(stamps) >= 10
    apollo = workspace.channels[PROJECT_CHANNEL_IDS["apollo"]]
    span_days = (ts_micros(apollo.messages[-1].ts) - ts_micros(apollo.messages[0].ts)) / 86_400e6
    assert span_days > 14
    replies = Counter(m.thread_ts for m in apollo.messages if m.thread_ts and m.is_reply)
    assert len(replies) >= 3
    assert all(apollo.message(parent) is not None for parent in replies)
    cygnus = workspace.channels[PROJECT_CHANNEL_IDS["cygnus"]]
    assert sum(not m.is_reply for m in cygnus.messages) > 100


def test_the_special_channels() -> None:
    """#watercooler lacks the bot; #proj-zephyr is archived."""
    workspace = SlackWorkspace.seeded(7)
    assert not workspace.channels[NOT_MEMBER_CHANNEL_ID].bot_is_member
    assert workspace.channels[ARCHIVED_CHANNEL_ID].is_archived
    assert workspace.channel("#general") is workspace.channel("general") is not None


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@pytest.mark.parametrize("anchor", [ANCHOR, LATER], ids=["default", "later"])
def test_the_history_ends_in_the_days_before_the_anchor(anchor: datetime) -> None:
    """A report made on the anchor's day finds each project's discussion of the last week."""
    workspace = SlackWorkspace.seeded(7, anchor=anchor)
    assert workspace.anchor == anchor
    day_begins = anchor.replace(hour=0)
    for channel in workspace.channels.values():
        # Before the anchor's day begins: what the sandbox posts today comes after it.
        assert max(ts_micros(m.ts) for m in channel.messages) < _micros(day_begins)
    for key in PROJECTS:
        channel = workspace.channels[PROJECT_CHANNEL_IDS[key]]
        talk = [m for m in channel.messages if m.bot_id is None and m.subtype is None]
        week = [m for m in talk if ts_micros(m.ts) >= _micros(anchor - timedelta(days=7))]
        assert sum(not m.is_reply for m in week) >= 3, key
        assert ts_micros(talk[-1].ts) >= _micros(anchor - timedelta(days=2)), key
        assert any(m.bot_id == BOT.bot_id for m in channel.messages)


def test_the_same_anchor_gives_the_same_workspace() -> None:
    """One seed and anchor give identical workspaces, ts for ts; another anchor moves only the ts."""
    later = SlackWorkspace.seeded(7, anchor=LATER)
    assert snapshot(later) == snapshot(SlackWorkspace.seeded(7, anchor=LATER))
    assert snapshot(later) != snapshot(SlackWorkspace.seeded(7))

    def talk(workspace: SlackWorkspace) -> list[tuple[str, str | None, str]]:
        return [
            (c.id, m.user, m.text)
            for c in workspace.channels.values()
            for m in c.messages
            if m.bot_id is None
        ]

    assert talk(later) == talk(SlackWorkspace.seeded(7))
    with pytest.raises(ValueError, match="timezone-aware"):
        SlackWorkspace.seeded(7, anchor=LATER.replace(tzinfo=None))


def test_ts_round_trip() -> None:
    """format_ts and ts_micros convert both ways without loss."""
    assert format_ts(1_764_123_456_000_100) == "1764123456.000100"
    assert ts_micros("1764123456.000100") == 1_764_123_456_000_100
    assert ts_micros("1764123456") == 1_764_123_456_000_000


@pytest.mark.parametrize("seed", [1, 7, 42, 2026])
def test_every_project_channel_has_threads_in_the_week_before_the_anchor(seed: int) -> None:
    """Whatever the seed, a status report's "most discussed" finds recent threads."""
    workspace = SlackWorkspace.seeded(seed)
    week_ago = int((ANCHOR - timedelta(days=7)).timestamp() * 1_000_000)
    for key in PROJECTS:
        channel = workspace.channel(PROJECT_CHANNEL_IDS[key])
        assert channel is not None
        threads = {
            m.thread_ts
            for m in channel.messages
            if m.thread_ts and m.thread_ts != m.ts and ts_micros(m.ts) >= week_ago
        }
        assert len(threads) >= 2, key
