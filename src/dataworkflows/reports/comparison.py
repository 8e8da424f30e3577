"""What changed between two reports of a project, by work item id.

A :class:`Snapshot` is what a report was made from (stored with it); :func:`changes`
compares the previous report's snapshot with this one's: newly done, newly blocked,
newly overdue, new, slipped (due later than before), reopened and removed items, and
how the counts moved.
"""

from __future__ import annotations

from typing import Final

import msgspec

from dataworkflows.reports.model import Discussion, Meeting, PageChange, WorkItem
from dataworkflows.reports.summary import Counts

__all__ = ["CHANGE_LISTS", "SNAPSHOT_VERSION", "Changes", "ItemChange", "Snapshot", "changes"]

SNAPSHOT_VERSION: Final = 1


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What a report was made from, normalised: stored with it, compared by the next."""

    version: int = SNAPSHOT_VERSION
    project: str
    today: str
    generated_at: str
    counts: Counts
    work_items: list[WorkItem]
    meetings: list[Meeting] = msgspec.field(default_factory=list)
    pages: list[PageChange] = msgspec.field(default_factory=list)
    discussions: list[Discussion] = msgspec.field(default_factory=list)


CHANGE_LISTS: Final = (
    "newly_done",
    "newly_blocked",
    "newly_overdue",
    "new_tasks",
    "slipped",
    "reopened",
    "removed",
)


class ItemChange(msgspec.Struct, frozen=True, kw_only=True):
    """A work item that changed: what it was and is (a status, or a due date)."""

    id: str
    title: str
    owner: str
    url: str | None
    old: str | None
    new: str | None


class Changes(msgspec.Struct, frozen=True, kw_only=True):
    """What changed since the previous report of the project."""

    first_report: bool
    previous_report_id: str | None = None
    previous_generated_at: str | None = None
    previous_today: str | None = None
    newly_done: list[ItemChange] = msgspec.field(default_factory=list)
    newly_blocked: list[ItemChange] = msgspec.field(default_factory=list)
    newly_overdue: list[ItemChange] = msgspec.field(default_factory=list)
    new_tasks: list[ItemChange] = msgspec.field(default_factory=list)
    slipped: list[ItemChange] = msgspec.field(default_factory=list)
    reopened: list[ItemChange] = msgspec.field(default_factory=list)
    removed: list[ItemChange] = msgspec.field(default_factory=list)
    counts_delta: dict[str, int] = msgspec.field(default_factory=dict)
    """This report's counts minus the previous report's."""
    total: int = 0
    """How many changes there are in all (the lists may be capped)."""
    more: dict[str, int] = msgspec.field(default_factory=lambda: dict.fromkeys(CHANGE_LISTS, 0))
    """How many of each list were left out (every list has an entry)."""


_CHANGE_CAP: Final = 25


def _change(item: WorkItem, old: str | None, new: str | None) -> ItemChange:
    return ItemChange(
        id=item.id, title=item.title, owner=item.owner, url=item.url, old=old, new=new
    )


def changes(
    previous: Snapshot | None,
    current: Snapshot,
    *,
    previous_report_id: str | None = None,
    cap: int = _CHANGE_CAP,
) -> Changes:
    """What changed from ``previous`` to ``current``; ``first_report`` without a previous."""
    if previous is None:
        return Changes(first_report=True)
    before = {item.id: item for item in previous.work_items}
    now = {item.id: item for item in current.work_items}
    lists: dict[str, list[ItemChange]] = {name: [] for name in CHANGE_LISTS}
    for item in current.work_items:
        old = before.get(item.id)
        if old is None:
            lists["new_tasks"].append(_change(item, None, item.status_label))
            continue
        if item.status == "done" and old.status != "done":
            lists["newly_done"].append(_change(item, old.status_label, item.status_label))
        if item.status != "done" and old.status == "done":
            lists["reopened"].append(_change(item, old.status_label, item.status_label))
        if item.status == "blocked" and old.status != "blocked":
            lists["newly_blocked"].append(_change(item, old.status_label, item.status_label))
        if item.overdue and not old.overdue:
            lists["newly_overdue"].append(_change(item, old.due_date, item.due_date))
        if old.due_date and item.due_date and item.due_date > old.due_date:
            lists["slipped"].append(_change(item, old.due_date, item.due_date))
    for old in previous.work_items:
        if old.id not in now:
            lists["removed"].append(_change(old, old.status_label, None))
    more = {name: max(0, len(found) - cap) for name, found in lists.items()}
    old_counts, new_counts = (
        msgspec.structs.asdict(previous.counts),
        msgspec.structs.asdict(current.counts),
    )
    return Changes(
        first_report=False,
        previous_report_id=previous_report_id,
        previous_generated_at=previous.generated_at,
        previous_today=previous.today,
        newly_done=lists["newly_done"][:cap],
        newly_blocked=lists["newly_blocked"][:cap],
        newly_overdue=lists["newly_overdue"][:cap],
        new_tasks=lists["new_tasks"][:cap],
        slipped=lists["slipped"][:cap],
        reopened=lists["reopened"][:cap],
        removed=lists["removed"][:cap],
        counts_delta={name: new_counts[name] - old_counts.get(name, 0) for name in new_counts},
        total=sum(len(found) for found in lists.values()),
        more=more,
    )
