"""The Outlook demo tenant: the Monday workspace's people and projects, mail and meetings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dataworkflows.sandboxes.outlook.demo_data import NO_MAILBOX_USER, DemoTenant
from dataworkflows.sandboxes.world import DEMO_USERS, PROJECT_NAMES

ANCHOR = date(2026, 11, 2)


def tenant() -> DemoTenant:
    return DemoTenant.seeded(7, anchor=ANCHOR)


def snapshot(t: DemoTenant) -> list[tuple[str, str, str, datetime]]:
    return [
        (m.id, m.subject, m.folder_id, m.received) for b in t.mailboxes.values() for m in b.messages
    ]


def test_every_monday_person_has_a_mailbox_and_the_outsider_has_none() -> None:
    """Mailboxes exist for the Monday demo users (by id and address); one user has none."""
    t = tenant()
    for user in DEMO_USERS:
        person = t.user(user.email.upper())
        assert person is not None
        assert t.user(person.id) is person
        assert t.mailbox_of(person) is not None
    assert t.user(NO_MAILBOX_USER.address) == NO_MAILBOX_USER
    assert t.mailbox_of(NO_MAILBOX_USER) is None


def test_the_same_seed_and_anchor_give_the_same_tenant() -> None:
    """Ids, subjects and times repeat exactly; another anchor moves everything with it."""
    assert snapshot(tenant()) == snapshot(tenant())
    later = DemoTenant.seeded(7, anchor=ANCHOR + timedelta(days=7))
    assert snapshot(later) != snapshot(tenant())


def test_mail_is_project_mail_from_the_weeks_before_the_anchor() -> None:
    """Every project has mail; all mail predates the anchor by at most four weeks or so."""
    t = tenant()
    messages = [m for b in t.mailboxes.values() for m in b.messages]
    anchor = datetime(2026, 11, 2, tzinfo=UTC)
    assert all(anchor - timedelta(days=35) < m.received < anchor for m in messages)
    subjects = " ".join(m.subject for m in messages)
    for name in PROJECT_NAMES.values():
        assert name in subjects
    assert any(m.subject.startswith("RE: ") for m in messages)
    assert {m.is_read for m in messages} == {True, False}
    assert any(m.importance == "high" for m in messages)


def test_a_thread_shares_one_conversation_across_mailboxes() -> None:
    """A reply is in the same conversation as its first message, in every copy."""
    t = tenant()
    messages = [m for b in t.mailboxes.values() for m in b.messages]
    reply = next(m for m in messages if m.subject.startswith("RE: Question about"))
    first = [m for m in messages if m.subject == reply.subject.removeprefix("RE: ")]
    assert first
    assert {m.conversation_id for m in first} == {reply.conversation_id}


def test_recurring_standups_expand_into_weekday_occurrences() -> None:
    """calendarView of a week has one standup per working day (one moved, the series kept)."""
    t = tenant()
    maya = t.user("maya.patel@example.com")
    assert maya is not None
    box = t.mailbox_of(maya)
    assert box is not None
    start = datetime(2026, 11, 2, tzinfo=UTC)
    week = box.calendar_view(start, start + timedelta(days=7))
    standups = [i for i in week if i.event.subject == "Apollo Website Relaunch daily standup"]
    assert [i.start.weekday() for i in standups] == [0, 1, 2, 3, 4]
    assert {i.type for i in standups} == {"occurrence", "exception"}
    assert len({i.id for i in standups}) == 5
    assert {i.series_master_id for i in standups} == {standups[0].event.id}


def test_calendars_hold_upcoming_and_past_meetings_and_a_cancelled_one() -> None:
    """Meetings lie ahead and behind the anchor; attendees keep a cancelled meeting."""
    t = tenant()
    grace = t.user("grace.okafor@example.com")
    assert grace is not None
    box = t.mailbox_of(grace)
    assert box is not None
    anchor = datetime(2026, 11, 2, tzinfo=UTC)
    ahead = box.calendar_view(anchor, anchor + timedelta(days=28))
    behind = box.calendar_view(anchor - timedelta(days=14), anchor)
    assert any(i.type == "singleInstance" and not i.event.is_cancelled for i in ahead)
    assert behind
    cancelled = [i for i in ahead if i.event.is_cancelled]
    assert [i.event.subject for i in cancelled] == ["Canceled: Borealis design critique"]
    organizer = t.user("luis.ortega@example.com")
    assert organizer is not None
    organizer_box = t.mailbox_of(organizer)
    assert organizer_box is not None
    assert not any("design critique" in e.subject for e in organizer_box.events)


def test_blocked_mail_names_tickets_stuck_on_the_monday_sprint_board() -> None:
    """A "Blocked:" thread names a ticket that the Monday sandbox shows as Stuck, same seed."""
    from dataworkflows.sandboxes.monday.cells import StatusCell
    from dataworkflows.sandboxes.monday.demo_data import DemoWorkspace

    workspace = DemoWorkspace.seeded(7)
    stuck = {
        item.name
        for board in workspace.boards
        for item in board.items
        if item.cells.get("status") == StatusCell(2)
    }
    blocked = {
        m.subject.removeprefix("Blocked: ")
        for b in tenant().mailboxes.values()
        for m in b.messages
        if m.subject.startswith("Blocked: ")
    }
    assert blocked
    assert blocked <= stuck
