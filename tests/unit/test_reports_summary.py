"""The status summary and the changes between two reports, from gathered data."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
import pytest

from dataworkflows.reports.actions import names_of
from dataworkflows.reports.comparison import Snapshot, changes
from dataworkflows.reports.items import work_items
from dataworkflows.reports.model import WorkItem
from dataworkflows.reports.sources import discussions, meetings, pages
from dataworkflows.reports.summary import ReportOptions, summarize

TODAY = date(2026, 11, 10)


def item(
    item_id: str,
    name: str = "",
    *,
    status: str | None = "Working on it",
    due: str | None = None,
    owner: str | None = None,
    board: str = "100",
) -> dict[str, Any]:
    """A Monday item in the shape monday.list_items answers with."""
    columns: dict[str, Any] = {
        "status": {
            "id": "status",
            "title": "Status",
            "type": "status",
            "text": status,
            "value": None,
        },
        "date4": {
            "id": "date4",
            "title": "Due date",
            "type": "date",
            "text": due or "",
            "value": {"date": due} if due else None,
        },
        "person": {
            "id": "person",
            "title": "Owner",
            "type": "people",
            "text": owner or "",
            "value": None,
        },
    }
    return {
        "id": item_id,
        "name": name or f"Item {item_id}",
        "board_id": board,
        "group": {"id": "topics", "title": "Backlog"},
        "columns": columns,
    }


def task(
    task_id: str,
    *,
    status: str = "todo",
    ref: str | None = None,
    assignee: str | None = None,
    due: str | None = None,
) -> dict[str, Any]:
    """A tracker task in the shape tasktracker.list_tasks answers with."""
    return {
        "id": task_id,
        "title": f"Task {task_id}",
        "description": "",
        "status": status,
        "assignee": assignee,
        "due_date": due,
        "external_ref": ref,
        "created_at": "2026-10-01T00:00:00Z",
        "updated_at": "2026-10-01T00:00:00Z",
    }


def snapshot(items: list[WorkItem], today: date = TODAY) -> Snapshot:
    summary = summarize(items, today=today)
    return Snapshot(
        project="apollo",
        today=today.isoformat(),
        generated_at=f"{today.isoformat()}T09:00:00+00:00",
        counts=summary.counts,
        work_items=items,
    )


def test_items_fall_into_buckets_by_their_status_label() -> None:
    """Monday labels map like monday-to-tracker's default; empty and unknown labels are not started."""
    found = work_items(
        [
            item("1", status="Done"),
            item("2", status="Working on it"),
            item("3", status="Stuck"),
            item("4", status="Not started"),
            item("5", status=None),
            item("6", status="Waiting for legal"),
            item("7", status="done"),
        ],
        [],
        today=TODAY,
    )
    counts = summarize(found, today=TODAY).counts
    assert (counts.done, counts.in_progress, counts.blocked, counts.not_started) == (2, 1, 1, 3)
    assert counts.total == 7
    assert counts.open == 5
    assert {i.source_id: i.status_label for i in found}["5"] == "No status"


def test_a_configured_status_map_decides_the_buckets() -> None:
    """A project whose board says "In review" can count it as in progress."""
    options = ReportOptions(status_map={"In review": "in_progress", "Shipped": "done"})
    found = work_items(
        [item("1", status="In review"), item("2", status="Shipped")],
        [],
        today=TODAY,
        options=options,
    )
    assert [i.status for i in found] == ["in_progress", "done"]


def test_a_status_map_with_an_unknown_bucket_is_refused() -> None:
    """A typo in a project's settings is reported, not silently counted as not started."""
    with pytest.raises(msgspec.ValidationError, match="finished"):
        msgspec.convert({"status_map": {"Done": "finished"}}, ReportOptions)


def test_overdue_means_due_before_today_and_not_done() -> None:
    """Due yesterday and open is overdue; due today, done, or without a date is not."""
    raw = [
        item("1", due="2026-11-09"),
        item("2", due="2026-11-10"),
        item("3", due="2026-11-01", status="Done"),
        item("4", due=None),
        item("5", due="2026-11-03", status="Stuck"),
    ]
    found = {i.source_id: i for i in work_items(raw, [], today=TODAY)}
    assert [k for k, i in found.items() if i.overdue] == ["1", "5"]
    assert found["1"].days_late == 1
    assert found["5"].days_late == 7
    summary = summarize(list(found.values()), today=TODAY)
    assert summary.counts.overdue == 2
    assert summary.counts.overdue_blocked == 1
    assert [i.source_id for i in summary.overdue] == ["5", "1"]  # the latest first
    tomorrow = {i.source_id: i for i in work_items(raw, [], today=date(2026, 11, 11))}
    assert tomorrow["2"].overdue


def test_each_owner_of_a_shared_item_counts_it() -> None:
    """Per owner: an item with two owners counts for both; items without one are Unassigned."""
    found = work_items(
        [
            item("1", owner="Maya Patel, Jonas Berg", status="Stuck"),
            item("2", owner="Maya Patel", status="Done"),
            item("3", owner=None, due="2026-11-01"),
        ],
        [],
        today=TODAY,
    )
    owners = {o.owner: o for o in summarize(found, today=TODAY).owners}
    assert set(owners) == {"Maya Patel", "Jonas Berg", "Unassigned"}
    assert (
        owners["Maya Patel"].total,
        owners["Maya Patel"].open,
        owners["Maya Patel"].blocked,
    ) == (2, 1, 1)
    assert owners["Jonas Berg"].blocked == 1
    assert owners["Unassigned"].overdue == 1
    # Most open work first; among equals by name, with Unassigned last.
    assert [o.owner for o in summarize(found, today=TODAY).owners] == [
        "Jonas Berg",
        "Maya Patel",
        "Unassigned",
    ]


def test_a_task_synced_from_an_item_is_the_same_work() -> None:
    """monday-to-tracker's task is merged into its item (filling gaps), not counted twice."""
    found = work_items(
        [item("1", status=None, owner=None), item("2", status="Done")],
        [
            task("T1", status="blocked", ref="monday:1", assignee="Aiko Tanaka", due="2026-11-05"),
            task("T2", status="todo", ref="monday:2"),
            task("T3", status="in_progress", ref="monday:999"),  # another project's item
            task("T4", status="done", ref="apollo:launch-faq"),
            task("T5", status="todo", ref=None),
        ],
        today=TODAY,
        tracker_ref_prefixes=["apollo:"],
    )
    by_id = {i.id: i for i in found}
    assert set(by_id) == {"monday:1", "monday:2", "tasktracker:T4"}
    merged = by_id["monday:1"]
    assert (merged.status, merged.owner, merged.due_date, merged.task_id) == (
        "blocked",
        "Aiko Tanaka",
        "2026-11-05",
        "T1",
    )
    assert merged.overdue
    assert by_id["monday:2"].status == "done"  # the item's own status wins
    assert by_id["tasktracker:T4"].status == "done"


def test_without_boards_or_prefixes_every_task_given_counts() -> None:
    """A project configured with neither takes the tasks the workflow chose."""
    found = work_items(
        [], [task("T1", ref="monday:5"), task("T2")], today=TODAY, take_all_tasks=True
    )
    assert [i.id for i in found] == ["tasktracker:T1", "tasktracker:T2"]


def test_columns_are_found_by_type_when_the_ids_differ() -> None:
    """A board whose columns have other ids still gives status, owner and due date."""
    raw = {
        "id": "9",
        "name": "Renamed columns",
        "columns": {
            "state": {
                "id": "state",
                "title": "State",
                "type": "status",
                "text": "Stuck",
                "value": None,
            },
            "when": {
                "id": "when",
                "title": "When",
                "type": "date",
                "text": "2026-11-01",
                "value": {"date": "2026-11-01"},
            },
            "who": {
                "id": "who",
                "title": "Who",
                "type": "people",
                "text": "Elena Rossi",
                "value": None,
            },
        },
    }
    [found] = work_items([raw], [], today=TODAY)
    assert (found.status, found.due_date, found.owner, found.overdue) == (
        "blocked",
        "2026-11-01",
        "Elena Rossi",
        True,
    )


def test_items_given_per_board_are_flattened_and_deduplicated() -> None:
    """A foreach over boards gives [{board_id, items}]; an item listed twice counts once."""
    per_board = [
        {"board_id": "100", "count": 2, "items": [item("1"), item("2")]},
        {"board_id": "101", "items": [item("2")]},
    ]
    assert [i.source_id for i in work_items(per_board, [], today=TODAY)] == ["1", "2"]


def test_upcoming_deadlines_reach_the_horizon_and_skip_done_items() -> None:
    """Due from today to 7 days ahead, not done, soonest first."""
    found = work_items(
        [
            item("1", due="2026-11-17"),
            item("2", due="2026-11-18"),
            item("3", due="2026-11-10"),
            item("4", due="2026-11-12", status="Done"),
            item("5", due="2026-11-09"),
        ],
        [],
        today=TODAY,
    )
    summary = summarize(found, today=TODAY)
    assert [i.source_id for i in summary.upcoming] == ["3", "1"]
    assert summary.counts.upcoming == 2


@pytest.mark.parametrize(
    ("statuses", "dues", "expected"),
    [
        ([], [], "unknown"),
        (["Done", "Done"], [None, None], "on_track"),
        (["Working on it"] * 10, [None] * 10, "on_track"),
        (["Stuck"] + ["Working on it"] * 9, [None] * 10, "at_risk"),
        (["Stuck"] * 3 + ["Working on it"] * 7, [None] * 10, "off_track"),
        (["Stuck"] + ["Working on it"] * 19, ["2026-11-12"] + [None] * 19, "at_risk"),
        (["Working on it"] * 4, ["2026-11-01", "2026-11-02", None, None], "off_track"),
    ],
)
def test_health_follows_the_share_of_blocked_or_overdue_work(
    statuses: list[str], dues: list[str | None], expected: str
) -> None:
    """10 % of open items blocked or overdue is at risk, 25 % off track; a blocked item due soon is at risk."""
    found = work_items(
        [
            item(str(n), status=s, due=d)
            for n, (s, d) in enumerate(zip(statuses, dues, strict=True))
        ],
        [],
        today=TODAY,
    )
    assert summarize(found, today=TODAY).health.status == expected


def test_long_lists_are_capped_and_say_how_many_were_left_out() -> None:
    """The summary lists at most max_items per bucket; counts and `more` cover the rest."""
    found = work_items([item(str(n), status="Stuck") for n in range(40)], [], today=TODAY)
    summary = summarize(found, today=TODAY, options=ReportOptions(max_items=15))
    assert len(summary.blocked) == 15
    assert summary.more["blocked"] == 25
    assert summary.more["done"] == 0
    assert summary.counts.blocked == 40


def test_meetings_of_the_coming_week_only_and_only_the_projects() -> None:
    """Outlook's shapes are read; cancelled, past, far-off and other projects' meetings are left out."""
    events = [
        {
            "subject": "Apollo sprint review",
            "start": {"date_time": "2026-11-12T10:00:00.0000000", "time_zone": "UTC"},
            "organizer": {"name": "Maya Patel", "address": "maya@example.com"},
        },
        {"subject": "Apollo planning", "start": "2026-11-11T08:00:00Z", "organizer": "Jonas Berg"},
        {"subject": "Apollo retro", "start": "2026-11-12T09:00:00Z", "is_cancelled": True},
        {"subject": "Apollo kickoff", "start": "2026-11-02T09:00:00Z"},
        {"subject": "Apollo next month", "start": "2026-12-20T09:00:00Z"},
        {"subject": "Borealis critique", "start": "2026-11-12T09:00:00Z"},
    ]
    found = meetings(events, today=TODAY, keywords=["apollo"])
    assert [m.subject for m in found] == ["Apollo planning", "Apollo sprint review"]
    assert found[1].start == "2026-11-12T10:00:00+00:00"
    assert found[1].organizer == "Maya Patel"


def test_pages_most_recent_first() -> None:
    """Changed pages are listed newest first, with Confluence's version shape understood."""
    found = pages(
        [
            {"id": "1", "title": "Old", "last_modified": "2026-11-01T00:00:00Z"},
            {
                "id": "2",
                "title": "New",
                "version": {
                    "number": 4,
                    "created_at": "2026-11-09T00:00:00Z",
                    "author_id": "acc-1",
                },
            },
        ]
    )
    assert [(p.title, p.author) for p in found] == [("New", "acc-1"), ("Old", None)]


def test_discussion_highlights_are_the_most_replied_threads() -> None:
    """Threads by reply count; replies, bots and join notices are not discussion; text is plain."""
    found, count = discussions(
        [
            {"ts": "1.000001", "user": "U1", "text": "small", "reply_count": 1},
            {
                "ts": "2.000001",
                "user": "U2",
                "text": "Ask <@U1> about &lt;this&gt; &amp; <https://x.example|the plan>",
                "reply_count": 9,
            },
            {"ts": "3.000001", "user": "U3", "text": "a reply", "thread_ts": "2.000001"},
            {"ts": "4.000001", "bot_id": "B1", "text": "report", "reply_count": 50},
            {"ts": "5.000001", "user": "U4", "subtype": "channel_join", "text": "joined"},
            {"ts": "6.000001", "user": "U5", "text": "no replies"},
        ],
        people={"U1": "Maya Patel"},
    )
    assert [d.ts for d in found] == ["2.000001", "1.000001"]
    assert found[0].text == "Ask @Maya Patel about <this> & the plan"
    assert found[1].author == "Maya Patel"
    assert count == 3


def test_the_first_report_has_no_previous() -> None:
    """Without a previous report, changes say it is the first and list nothing."""
    current = snapshot(work_items([item("1")], [], today=TODAY))
    found = changes(None, current)
    assert found.first_report
    assert found.total == 0
    assert found.newly_done == []


def test_changes_between_two_reports() -> None:
    """Newly done, blocked and overdue, new, slipped, reopened and removed items, each with old and new."""
    before_day, after_day = date(2026, 11, 3), TODAY
    before = snapshot(
        work_items(
            [
                item("1", "Ship pricing page", status="Working on it"),
                item("2", "Fix login", status="Working on it"),
                item("3", "Write docs", status="Working on it", due="2026-11-08"),
                item("4", "Plan launch", due="2026-11-20"),
                item("5", "Old thing", status="Done"),
                item("6", "Dropped"),
                item("7", "Late already", due="2026-11-01"),
            ],
            [],
            today=before_day,
        ),
        before_day,
    )
    after = snapshot(
        work_items(
            [
                item("1", "Ship pricing page", status="Done"),
                item("2", "Fix login", status="Stuck", owner="Jonas Berg"),
                item("3", "Write docs", status="Working on it", due="2026-11-08"),
                item("4", "Plan launch", due="2026-11-27"),
                item("5", "Old thing", status="Working on it"),
                item("7", "Late already", due="2026-11-01"),
                item("8", "Brand new"),
            ],
            [],
            today=after_day,
        ),
        after_day,
    )
    found = changes(before, after, previous_report_id="r-1")
    pairs = {
        name: [(c.id, c.old, c.new) for c in getattr(found, name)]
        for name in (
            "newly_done",
            "newly_blocked",
            "newly_overdue",
            "new_tasks",
            "slipped",
            "reopened",
            "removed",
        )
    }
    assert pairs == {
        "newly_done": [("monday:1", "Working on it", "Done")],
        "newly_blocked": [("monday:2", "Working on it", "Stuck")],
        "newly_overdue": [("monday:3", "2026-11-08", "2026-11-08")],
        "new_tasks": [("monday:8", None, "Working on it")],
        "slipped": [("monday:4", "2026-11-20", "2026-11-27")],
        "reopened": [("monday:5", "Done", "Working on it")],
        "removed": [("monday:6", "Working on it", None)],
    }
    assert not found.first_report
    assert found.previous_report_id == "r-1"
    assert found.previous_today == "2026-11-03"
    assert found.total == 7
    assert found.newly_blocked[0].owner == "Jonas Berg"
    assert found.counts_delta["done"] == 0  # one done, one reopened
    assert found.counts_delta["blocked"] == 1


def test_a_due_date_moved_earlier_is_not_a_slip() -> None:
    """Only a later due date is reported as slipped."""
    before = snapshot(work_items([item("1", due="2026-11-20")], [], today=TODAY))
    after = snapshot(work_items([item("1", due="2026-11-15")], [], today=TODAY))
    assert changes(before, after).slipped == []


def test_long_change_lists_are_capped() -> None:
    """Many new items: the list is capped and `more` and `total` still count all."""
    before = snapshot([])
    after = snapshot(work_items([item(str(n)) for n in range(60)], [], today=TODAY))
    found = changes(before, after, cap=25)
    assert len(found.new_tasks) == 25
    assert found.more["new_tasks"] == 35
    assert found.total == 60


def test_everything_is_deterministic_given_today() -> None:
    """The same data on the same day gives the same summary, whatever the input order."""
    raw = [
        item(str(n), status=s, due=d, owner=o)
        for n, (s, d, o) in enumerate(
            [
                ("Stuck", "2026-11-01", "A"),
                ("Done", None, "B"),
                ("Working on it", "2026-11-12", None),
            ]
        )
    ]
    one = summarize(work_items(raw, [], today=TODAY), today=TODAY)
    two = summarize(work_items(list(reversed(raw)), [], today=TODAY), today=TODAY)
    assert msgspec.json.encode(one.counts) == msgspec.json.encode(two.counts)
    assert [o.owner for o in one.owners] == [o.owner for o in two.owners]
    assert [i.id for i in one.upcoming] == [i.id for i in two.upcoming]


def test_slack_users_are_named_as_people_know_them() -> None:
    """Discussion authors get real names from slack.list_users' users (display name or
    user name when there is none); anything that is not a user is skipped."""
    assert names_of(
        [
            {"id": "U1", "real_name": "Maya Patel", "display_name": "maya", "name": "maya.p"},
            {"id": "U2", "real_name": "", "display_name": "luis", "name": "luis.o"},
            {"id": "U3", "profile": {"real_name": "Aiko Tanaka"}, "name": "aiko"},
            {"id": "U4", "name": "bot"},
            {"real_name": "No Id"},
            "U5",
        ]
    ) == {"U1": "Maya Patel", "U2": "luis", "U3": "Aiko Tanaka", "U4": "bot"}
