"""What the ``reports`` actions take and answer (their published JSON schemas).

``reports.project`` takes :class:`ProjectInput` and answers :class:`ProjectOutput`
(with the report's :class:`Window`); ``reports.compose`` takes :class:`ComposeInput` and
answers :class:`ComposeOutput` (the :class:`ReportData` templates render, and the
snapshot to store); ``reports.save`` takes :class:`SaveInput` and answers
:class:`SaveOutput`.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from dataworkflows.reports.comparison import Changes, Snapshot
from dataworkflows.reports.store import Project
from dataworkflows.reports.summary import Summary

__all__ = [
    "ComposeInput",
    "ComposeOutput",
    "IsoDate",
    "ProjectInput",
    "ProjectOutput",
    "ProjectText",
    "ReportData",
    "SaveInput",
    "SaveOutput",
    "Window",
]

IsoDate = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")]
ProjectText = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, description="A key or part of a name")
]


class ProjectInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which project: its key, or a part of its name (case does not matter)."""

    project: ProjectText
    today: IsoDate | None = None
    """The report's day (default: today in the project's time zone)."""


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """The period a report covers, in the forms the gathering steps take."""

    today: str
    """YYYY-MM-DD: overdue means due before this day."""
    until: str
    """YYYY-MM-DD: upcoming deadlines reach this day (inclusive)."""
    week_start: str
    """ISO instant: the start of today (meetings from here)."""
    week_end: str
    """ISO instant: the end of the horizon (meetings until here)."""
    since: str
    """ISO instant: the start of the look-back (changed pages, discussion)."""
    since_date: str
    """YYYY-MM-DD of ``since`` (for CQL ``lastmodified >= "..."``)."""
    since_ts: str
    """``since`` as a Slack ts (``conversations.history``'s ``oldest``)."""


class ProjectOutput(msgspec.Struct, kw_only=True):
    """The project's registry entry and its report window."""

    project: Project
    window: Window


class ComposeInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A project and the data gathered for it (each list may be empty)."""

    project: ProjectText
    items: list[Any] = msgspec.field(default_factory=list)
    """Monday items (``monday.list_items``' ``items``; per-board outputs are flattened)."""
    tasks: list[Any] = msgspec.field(default_factory=list)
    """Tracker tasks (``tasktracker.list_tasks``' ``tasks``)."""
    pages: list[Any] = msgspec.field(default_factory=list)
    """Recently changed Confluence pages: {id, title, url, last_modified, author}."""
    meetings: list[Any] = msgspec.field(default_factory=list)
    """Calendar events: {subject, start, end, organizer}."""
    messages: list[Any] = msgspec.field(default_factory=list)
    """Slack messages: {ts, user, text, thread_ts, reply_count}."""
    people: dict[str, str] = msgspec.field(default_factory=dict)
    """Slack user id -> name, to name people in discussion highlights."""
    users: list[Any] = msgspec.field(default_factory=list)
    """Slack users (``slack.list_users``' ``users``: id, real_name, display_name, name),
    to name people too; ``people`` wins where both name someone."""
    missing: list[Annotated[str, msgspec.Meta(max_length=200)]] = msgspec.field(
        default_factory=list
    )
    """Sources that could not be read (the report says so)."""
    today: IsoDate | None = None
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    """Overrides of the project's report settings for this report."""


class ReportData(msgspec.Struct, kw_only=True):
    """What report templates render."""

    project: Project
    today: str
    generated_at: str
    window: Window
    summary: Summary
    changes: Changes
    missing: list[str]
    run_url: str | None = None
    """The console's page of the run that made the report (when DW_PUBLIC_URL is set)."""


class ComposeOutput(msgspec.Struct, kw_only=True):
    """The report's data for templates, and the snapshot to store with it."""

    report: ReportData
    snapshot: Snapshot


class SaveInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A report to store: the renderings by format, and the data behind them."""

    project: ProjectText
    outputs: dict[Annotated[str, msgspec.Meta(min_length=1, max_length=64)], Any] = msgspec.field(
        default_factory=dict
    )
    """Renderings by name, e.g. {"slack": <core.render output>, "confluence": ...}."""
    snapshot: dict[str, Any] = msgspec.field(default_factory=dict)
    summary: dict[str, Any] = msgspec.field(default_factory=dict)
    changes: dict[str, Any] = msgspec.field(default_factory=dict)


class SaveOutput(msgspec.Struct, kw_only=True):
    """The stored report: its id and where the API shows it."""

    id: str
    url: str
    """``/v1/reports/{id}`` (relative to the engine's address)."""
    project: str
    created_at: str
    created: bool
    """False when a retried step found its report already stored."""
