"""A project's status from the data gathered for it: pure functions, no I/O.

Inputs are the shapes the connectors answer with, read leniently (a workflow may pass
any JSON): Monday items as ``monday.list_items`` gives them (``id``, ``name``,
``board_id``, ``group``, ``columns`` by id with ``title``/``type``/``text``/``value``),
tracker tasks as ``tasktracker.list_tasks`` (``id``, ``title``, ``status``,
``assignee``, ``due_date``, ``external_ref``), Confluence pages (``id``, ``title``,
``url``, ``last_modified``, ``author``), meetings (``subject``, ``start``, ``end``,
``organizer``; Outlook's ``{date_time, time_zone}`` and ``{name, address}`` shapes
are understood) and Slack messages (``ts``, ``user``, ``text``, ``thread_ts``,
``reply_count``).

**Work items.** Every Monday item is one. A tracker task made from a Monday item
(``external_ref`` ``monday:<item id>``) is the same work, so it is merged into that
item (it fills in what the item lacks: status, owner, due date) instead of being
counted twice. Other tasks count when their ``external_ref`` starts with one of the
project's ``tracker_ref_prefixes``; a task synced from an item that is not on the
project's boards belongs to another project and is left out. With neither boards
nor prefixes configured, every task given counts (the workflow chose them).

**Buckets.** Each work item is ``done``, ``in_progress``, ``blocked`` or
``not_started``: a Monday status label through ``status_map`` (default as
monday-to-tracker: Not started, Working on it, Stuck, Done), a tracker status
directly (``todo`` is not started); an empty or unknown label counts as not started.
**Overdue** is orthogonal: due before ``today`` and not done. **Upcoming** deadlines
are due from today to ``horizon_days`` ahead (inclusive) and not done.

**Health**: ``unknown`` without work items; else the share of open items that are
blocked or overdue: at least ``off_track`` (25 %) is off track, at least ``at_risk``
(10 %) or a blocked item due within the horizon is at risk, else on track.

**Changes** (:func:`changes`) compare this report's snapshot with the previous one's
by work item id: newly done, newly blocked, newly overdue, new, slipped (due date
later than before), reopened (done before, not now), removed. Everything is
deterministic given ``today`` and ``generated_at``.

This module holds the options and the summary; the records are in :mod:`.model`,
reading them in :mod:`.items` (work items) and :mod:`.sources` (meetings, pages,
discussions), and the changes in :mod:`.comparison`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from dataworkflows.reports.model import (
    BUCKETS,
    STATUS_WORDS,
    UNASSIGNED,
    Discussion,
    Meeting,
    PageChange,
    WorkItem,
)

__all__ = [
    "DEFAULT_STATUS_MAP",
    "Counts",
    "Health",
    "OwnerLoad",
    "ReportOptions",
    "Summary",
    "count_items",
    "summarize",
]

DEFAULT_STATUS_MAP: Final[Mapping[str, str]] = {
    "Not started": "not_started",
    "Working on it": "in_progress",
    "Stuck": "blocked",
    "Done": "done",
}
"""Monday status label -> bucket; the labels monday-to-tracker maps by default."""


class ReportOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a project's data is read and summarised (a project's ``settings``, overridable
    per report)."""

    status_map: dict[str, str] = msgspec.field(default_factory=lambda: dict(DEFAULT_STATUS_MAP))
    """Monday status label -> done, in_progress, blocked, not_started (or tracker's todo)."""
    status_column: str = "status"
    due_column: str = "date4"
    people_column: str = "person"
    """Column ids; when an item has no such column, the first of the right type is used."""
    max_items: Annotated[int, msgspec.Meta(ge=1, le=200)] = 15
    """Items listed per bucket in the summary (counts always cover all)."""
    horizon_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 7
    """How far ahead upcoming deadlines and meetings reach."""
    lookback_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 7
    """How far back changed pages and discussions are gathered (for the window)."""
    at_risk: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.10
    off_track: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.25
    monday_item_url: str | None = None
    """A link per item: ``https://acme.monday.com/boards/{board_id}/pulses/{id}``."""
    tracker_task_url: str | None = None
    """A link per task: ``https://tracker.example.com/tasks/{id}``."""
    timezone: str = "UTC"
    """Whose calendar day ``today`` is (an IANA name)."""
    meeting_keywords: list[str] = msgspec.field(default_factory=list)
    """Keep only meetings whose subject contains one of these (any case); a mailbox's
    calendar often holds other projects' meetings too. Empty: keep all."""

    def __post_init__(self) -> None:
        for label, word in self.status_map.items():
            if word not in STATUS_WORDS:
                raise ValueError(
                    f"status_map[{label!r}] is {word!r}; use done, in_progress, blocked, "
                    "not_started or todo"
                )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {self.timezone!r} is not a known time zone") from None

    def today(self, now: datetime) -> date:
        """The calendar day ``now`` falls on in :attr:`timezone`."""
        return now.astimezone(ZoneInfo(self.timezone)).date()


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    """How many work items are in each bucket."""

    total: int = 0
    done: int = 0
    in_progress: int = 0
    blocked: int = 0
    not_started: int = 0
    open: int = 0
    """Not done."""
    overdue: int = 0
    overdue_blocked: int = 0
    """Overdue items that are also blocked."""
    upcoming: int = 0
    """Due within the horizon, not done."""


class OwnerLoad(msgspec.Struct, frozen=True, kw_only=True):
    """One owner's work items per bucket (an item with two owners counts for each)."""

    owner: str
    total: int
    open: int
    done: int
    in_progress: int
    blocked: int
    not_started: int
    overdue: int


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """The project's overall state and why."""

    status: Literal["on_track", "at_risk", "off_track", "unknown"]
    label: str
    reason: str
    at_risk_items: int
    """Open items that are blocked or overdue."""


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a status report says, lists capped at ``max_items`` (``more`` says how
    many were left out of each)."""

    counts: Counts
    percent_done: int
    health: Health
    owners: list[OwnerLoad]
    blocked: list[WorkItem]
    overdue: list[WorkItem]
    upcoming: list[WorkItem]
    in_progress: list[WorkItem]
    not_started: list[WorkItem]
    done: list[WorkItem]
    meetings: list[Meeting]
    pages: list[PageChange]
    discussions: list[Discussion]
    message_count: int
    """Top-level Slack messages in the window."""
    more: dict[str, int]
    """How many of each list were left out (every list has an entry, 0 when complete)."""


# The summary ----------------------------------------------------------------------------------

_FAR: Final = "9999-12-31"


def _by_due(item: WorkItem) -> tuple[str, str, str]:
    return (item.due_date or _FAR, item.title.casefold(), item.id)


def _cap(items: list[Any], limit: int, name: str, more: dict[str, int]) -> list[Any]:
    # Every list has its entry (0 when complete): templates may read any without a guard.
    more[name] = max(0, len(items) - limit)
    return items[:limit]


def _health(
    items: Sequence[WorkItem], counts: Counts, options: ReportOptions, today: date
) -> Health:
    if counts.total == 0:
        return Health(
            status="unknown", label="Unknown", reason="No work items were found.", at_risk_items=0
        )
    risky = [i for i in items if i.status != "done" and (i.status == "blocked" or i.overdue)]
    if counts.open == 0:
        return Health(
            status="on_track", label="On track", reason="Every item is done.", at_risk_items=0
        )
    share = len(risky) / counts.open
    horizon = (today + timedelta(days=options.horizon_days)).isoformat()
    blocked_soon = any(
        i.status == "blocked" and i.due_date is not None and i.due_date <= horizon for i in items
    )
    reason = (
        f"{len(risky)} of {counts.open} open items are blocked or overdue."
        if risky
        else "No open item is blocked or overdue."
    )
    if share >= options.off_track and risky:
        return Health(
            status="off_track", label="Off track", reason=reason, at_risk_items=len(risky)
        )
    if (share >= options.at_risk and risky) or blocked_soon:
        if blocked_soon and share < options.at_risk:
            reason += " A blocked item is due within the next days."
        return Health(status="at_risk", label="At risk", reason=reason, at_risk_items=len(risky))
    return Health(status="on_track", label="On track", reason=reason, at_risk_items=len(risky))


def count_items(items: Sequence[WorkItem], *, today: date, horizon_days: int) -> Counts:
    """Work items per bucket, open, overdue and upcoming."""
    per = dict.fromkeys(BUCKETS, 0)
    for item in items:
        per[item.status] += 1
    return Counts(
        total=len(items),
        done=per["done"],
        in_progress=per["in_progress"],
        blocked=per["blocked"],
        not_started=per["not_started"],
        open=len(items) - per["done"],
        overdue=sum(1 for i in items if i.overdue),
        overdue_blocked=sum(1 for i in items if i.overdue and i.status == "blocked"),
        upcoming=len(_upcoming(items, today=today, horizon_days=horizon_days)),
    )


def _upcoming(items: Sequence[WorkItem], *, today: date, horizon_days: int) -> list[WorkItem]:
    first, last = today.isoformat(), (today + timedelta(days=horizon_days)).isoformat()
    return sorted(
        (
            i
            for i in items
            if i.status != "done" and i.due_date is not None and first <= i.due_date <= last
        ),
        key=_by_due,
    )


def _owner_loads(items: Sequence[WorkItem]) -> list[OwnerLoad]:
    tallies: dict[str, dict[str, int]] = {}
    for item in items:
        for owner in item.owners or [UNASSIGNED]:
            tally = tallies.setdefault(owner, dict.fromkeys((*BUCKETS, "overdue"), 0))
            tally[item.status] += 1
            tally["overdue"] += int(item.overdue)
    loads = [
        OwnerLoad(
            owner=owner,
            total=sum(t[b] for b in BUCKETS),
            open=sum(t[b] for b in BUCKETS) - t["done"],
            done=t["done"],
            in_progress=t["in_progress"],
            blocked=t["blocked"],
            not_started=t["not_started"],
            overdue=t["overdue"],
        )
        for owner, t in tallies.items()
    ]
    loads.sort(key=lambda o: (-o.open, -o.blocked - o.overdue, o.owner == UNASSIGNED, o.owner))
    return loads


def summarize(
    items: Sequence[WorkItem],
    *,
    today: date,
    options: ReportOptions | None = None,
    meeting_list: Sequence[Meeting] = (),
    page_list: Sequence[PageChange] = (),
    discussion_list: Sequence[Discussion] = (),
    message_count: int = 0,
) -> Summary:
    """The status summary of ``items`` (and the other sources, already normalised)."""
    options = options or ReportOptions()
    cap = options.max_items
    more: dict[str, int] = {}
    counts = count_items(items, today=today, horizon_days=options.horizon_days)
    by_bucket: dict[str, list[WorkItem]] = {b: [] for b in BUCKETS}
    for item in items:
        by_bucket[item.status].append(item)
    overdue = sorted(
        (i for i in items if i.overdue), key=lambda i: (-(i.days_late or 0), *_by_due(i))
    )
    done = sorted(
        by_bucket["done"], key=lambda i: (i.updated_at or "", i.title.casefold()), reverse=True
    )
    return Summary(
        counts=counts,
        percent_done=round(100 * counts.done / counts.total) if counts.total else 0,
        health=_health(items, counts, options, today),
        owners=_cap(_owner_loads(items), 25, "owners", more),
        blocked=_cap(sorted(by_bucket["blocked"], key=_by_due), cap, "blocked", more),
        overdue=_cap(overdue, cap, "overdue", more),
        upcoming=_cap(
            _upcoming(items, today=today, horizon_days=options.horizon_days), cap, "upcoming", more
        ),
        in_progress=_cap(sorted(by_bucket["in_progress"], key=_by_due), cap, "in_progress", more),
        not_started=_cap(sorted(by_bucket["not_started"], key=_by_due), cap, "not_started", more),
        done=_cap(done, cap, "done", more),
        meetings=_cap(list(meeting_list), cap, "meetings", more),
        pages=_cap(list(page_list), min(cap, 10), "pages", more),
        discussions=_cap(list(discussion_list), 5, "discussions", more),
        message_count=message_count,
        more=more,
    )
