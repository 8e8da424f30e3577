"""Schedules' calendars: cron expressions, time zones, daylight saving and missed ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataworkflows.engine.definitions import DefinitionError
from dataworkflows.engine.schedules import (
    ON_TIME_S,
    Calendar,
    parse_schedule,
    plan_ticks,
    tick_key,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def fields_of(error: pytest.ExceptionInfo[DefinitionError]) -> dict[str, str]:
    return {p.field: p.message for p in error.value.problems}


def test_weekly_cron_fires_at_local_time_in_its_zone() -> None:
    """'0 9 * * MON' in Europe/London is 09:00 London time, in winter and in summer."""
    calendar = Calendar.parse("0 9 * * MON", "Europe/London")
    assert calendar.after(utc(2026, 12, 2)) == utc(2026, 12, 7, 9)
    assert calendar.after(utc(2026, 7, 1)) == utc(2026, 7, 6, 8)


@pytest.mark.parametrize(
    ("macro", "first"),
    [
        ("@hourly", utc(2026, 12, 2, 11)),
        ("@daily", utc(2026, 12, 3)),
        ("@midnight", utc(2026, 12, 3)),
        ("@weekly", utc(2026, 12, 6)),
        ("@monthly", utc(2027, 1, 1)),
        ("@yearly", utc(2027, 1, 1)),
        ("@annually", utc(2027, 1, 1)),
    ],
)
def test_macros_stand_for_their_cron_fields(macro: str, first: datetime) -> None:
    """The @-macros fire as Vixie cron's do."""
    assert Calendar.parse(macro, "UTC").after(utc(2026, 12, 2, 10, 30)) == first


def test_spring_forward_runs_a_skipped_time_right_after_the_change() -> None:
    """01:30 does not exist in London on 2026-03-29: the tick fires at 02:00 BST, once."""
    calendar = Calendar.parse("30 1 * * *", "Europe/London")
    ticks = calendar.upcoming(utc(2026, 3, 28, 12), 3)
    assert ticks == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]


def test_fall_back_runs_a_repeated_time_once() -> None:
    """01:30 happens twice in London on 2026-10-25: the tick fires once."""
    calendar = Calendar.parse("30 1 * * *", "Europe/London")
    ticks = calendar.upcoming(utc(2026, 10, 24, 12), 3)
    assert ticks == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30), utc(2026, 10, 27, 1, 30)]


def test_hourly_ticks_stay_hourly_across_daylight_saving() -> None:
    """An hourly schedule fires every real hour through both changes, none twice."""
    calendar = Calendar.parse("0 * * * *", "America/New_York")
    for start in (utc(2026, 3, 8, 5), utc(2026, 11, 1, 4)):
        ticks = calendar.upcoming(start, 5)
        assert ticks == [start + timedelta(hours=h) for h in range(1, 6)]


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 9 * *", "needs five fields"),
        ("61 * * * *", "bad minute"),
        ("0 0 31 2 *", "bad day-of-month"),
        ("@fortnightly", "is not a macro"),
        ("x" * 300, "longer than"),
    ],
)
def test_bad_cron_expressions_are_refused_naming_the_field(cron: str, message: str) -> None:
    """A wrong cron expression is an error on `cron` that says what is wrong."""
    with pytest.raises(DefinitionError) as error:
        parse_schedule({"name": "s", "workflow": "w", "cron": cron})
    assert message in fields_of(error)["cron"]


def test_unknown_time_zone_and_bad_name_are_each_reported() -> None:
    """Every bad field is listed at once: name and timezone."""
    with pytest.raises(DefinitionError) as error:
        parse_schedule(
            {"name": "Bad Name", "workflow": "w", "cron": "@daily", "timezone": "Mars/Olympus"}
        )
    problems = fields_of(error)
    assert "IANA time zone" in problems["timezone"]
    assert "lower-case" in problems["name"]


def test_shape_errors_name_the_field() -> None:
    """Unknown fields and wrong types point at the field; the URL's name must match."""
    with pytest.raises(DefinitionError) as error:
        parse_schedule({"name": "s", "workflow": "w", "cron": "@daily", "missed": "sometimes"})
    assert "missed" in fields_of(error)
    with pytest.raises(DefinitionError) as error:
        parse_schedule({"name": "s", "workflow": "w", "cron": "@daily", "missed_limit": 0})
    assert "missed_limit" in fields_of(error)
    with pytest.raises(DefinitionError) as error:
        parse_schedule({"name": "a", "workflow": "w", "cron": "@daily"}, name="b")
    assert "URL says" in fields_of(error)["name"]


HOURLY = Calendar.parse("0 * * * *", "UTC")
NOW = utc(2026, 12, 3, 12, 30)


def test_a_tick_seen_on_time_runs_whatever_the_policy() -> None:
    """A tick a few seconds old is not 'missed': it runs even with missed: skip."""
    plan = plan_ticks(
        HOURLY, due=utc(2026, 12, 3, 12), now=utc(2026, 12, 3, 12, 0, 5), missed="skip", limit=10
    )
    assert plan.ticks == [utc(2026, 12, 3, 12)]
    assert plan.next_fire_at == utc(2026, 12, 3, 13)


@pytest.mark.parametrize(
    ("missed", "limit", "expected", "skipped"),
    [
        ("skip", 10, [], True),
        ("once", 10, [utc(2026, 12, 3, 12)], True),
        ("each", 3, [utc(2026, 12, 3, 10), utc(2026, 12, 3, 11), utc(2026, 12, 3, 12)], True),
        ("each", 10, [utc(2026, 12, 3, h) for h in range(8, 13)], False),
    ],
)
def test_missed_ticks_follow_the_policy(
    missed: str, limit: int, expected: list[datetime], skipped: bool
) -> None:
    """Stopped from 08:00 to 12:30: skip runs none, once the latest, each the latest N."""
    plan = plan_ticks(HOURLY, due=utc(2026, 12, 3, 8), now=NOW, missed=missed, limit=limit)  # type: ignore[arg-type]
    assert plan.ticks == expected
    assert (plan.skipped > 0) is skipped
    assert plan.next_fire_at == utc(2026, 12, 3, 13)


def test_catch_up_after_a_long_stop_stays_bounded() -> None:
    """A minutely schedule stopped for a year plans its latest ticks without walking them all:
    the latest 5 missed ones, then the one on time."""
    minutely = Calendar.parse("* * * * *", "UTC")
    now = NOW + timedelta(seconds=30)
    plan = plan_ticks(minutely, due=NOW - timedelta(days=365), now=now, missed="each", limit=5)
    assert plan.ticks == [NOW - timedelta(minutes=m) for m in (5, 4, 3, 2, 1, 0)]
    yearly = Calendar.parse("@yearly", "UTC")
    plan = plan_ticks(yearly, due=utc(2020, 1, 1), now=NOW, missed="each", limit=3)
    assert plan.ticks == [utc(2024, 1, 1), utc(2025, 1, 1), utc(2026, 1, 1)]


def test_once_does_not_add_a_catch_up_run_when_a_tick_is_on_time() -> None:
    """A missed tick is not run once more when the on-time tick runs anyway."""
    plan = plan_ticks(
        HOURLY, due=utc(2026, 12, 3, 9), now=utc(2026, 12, 3, 12, 0, 30), missed="once", limit=10
    )
    assert plan.ticks == [utc(2026, 12, 3, 12)]


def test_a_tick_key_is_the_same_on_every_engine() -> None:
    """The idempotency key is the tick in UTC, whatever zone the engine computed it in."""
    tick = Calendar.parse("0 9 * * MON", "Europe/Berlin").after(utc(2026, 12, 2))
    assert tick_key("weekly", tick) == "schedule:weekly:2026-12-07T08:00:00+00:00"


@settings(max_examples=200, deadline=None)
@given(
    cron=st.sampled_from(["* * * * *", "*/7 * * * *", "0 * * * *", "30 2 * * *", "0 9 * * 1-5"]),
    zone=st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe"]),
    stopped=st.integers(min_value=0, max_value=60 * 24 * 40),
    missed=st.sampled_from(["skip", "once", "each"]),
    limit=st.integers(min_value=1, max_value=20),
)
def test_plans_run_each_tick_once_in_order_and_move_past_now(
    cron: str, zone: str, stopped: int, missed: str, limit: int
) -> None:
    """Whatever the calendar and stop: ticks ascend, lie in [due, now], and fit the policy."""
    calendar = Calendar.parse(cron, zone)
    now = utc(2026, 3, 29, 1, 17, 41)
    due = calendar.after(now - timedelta(minutes=stopped) - timedelta(seconds=1))
    plan = plan_ticks(calendar, due=due, now=now, missed=missed, limit=limit)  # type: ignore[arg-type]
    assert plan.ticks == sorted(set(plan.ticks))
    assert all(due <= t <= now for t in plan.ticks)
    assert plan.next_fire_at > now
    late = [t for t in plan.ticks if t < now - timedelta(seconds=ON_TIME_S)]
    assert len(late) <= {"skip": 0, "once": 1, "each": limit}[missed]
