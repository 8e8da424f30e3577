"""The records a status summary is made of, normalised from the connectors' data.

A :class:`WorkItem` is a Monday item (merged with the tracker task synced from it) or a
tracker task, in one of the :data:`Bucket` states; :class:`Meeting`, :class:`PageChange`
and :class:`Discussion` are what the other sources contribute. They are read by
:mod:`.items` and :mod:`.sources`, summarised by :mod:`.summary` and compared by
:mod:`.comparison`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

import msgspec

__all__ = [
    "BUCKETS",
    "STATUS_WORDS",
    "UNASSIGNED",
    "Bucket",
    "Discussion",
    "Meeting",
    "PageChange",
    "WorkItem",
]

Bucket = Literal["done", "in_progress", "blocked", "not_started"]
BUCKETS: Final[tuple[Bucket, ...]] = ("done", "in_progress", "blocked", "not_started")
UNASSIGNED: Final = "Unassigned"

# Tracker statuses, and what a status_map may say (monday-to-tracker's map says todo).
STATUS_WORDS: Final[Mapping[str, Bucket]] = {
    "todo": "not_started",
    "not_started": "not_started",
    "in_progress": "in_progress",
    "blocked": "blocked",
    "done": "done",
}


class WorkItem(msgspec.Struct, frozen=True, kw_only=True):
    """One piece of work: a Monday item (with its tracker task) or a tracker task."""

    id: str
    """``monday:<item id>`` or ``tasktracker:<task id>``: stable across reports."""
    source: Literal["monday", "tasktracker"]
    source_id: str
    title: str
    status: Bucket
    status_label: str
    """As the system shows it (``Working on it``, ``in_progress``)."""
    owners: list[str]
    owner: str
    """The owners joined (``Maya Patel, Jonas Berg``), or ``Unassigned``."""
    due_date: str | None
    overdue: bool
    days_late: int | None
    """Days past the due date, for overdue items."""
    group: str | None = None
    board_id: str | None = None
    task_id: str | None = None
    """The tracker task synced from this Monday item, if any."""
    url: str | None = None
    updated_at: str | None = None


class Meeting(msgspec.Struct, frozen=True, kw_only=True):
    """A meeting in the coming days."""

    subject: str
    start: str | None
    """ISO-8601 instant (UTC) or None when unknown."""
    end: str | None
    all_day: bool
    organizer: str | None
    location: str | None
    url: str | None


class PageChange(msgspec.Struct, frozen=True, kw_only=True):
    """A recently changed Confluence page."""

    id: str | None
    title: str
    url: str | None
    last_modified: str | None
    author: str | None


class Discussion(msgspec.Struct, frozen=True, kw_only=True):
    """A Slack thread worth reading."""

    ts: str
    user: str | None
    author: str | None
    """The user's name when known, else the user id."""
    text: str
    """Plain text (Slack's escapes and link markup resolved), at most 280 characters."""
    reply_count: int
    posted_at: str | None
