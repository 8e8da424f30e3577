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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

__all__ = [
    "DEFAULT_STATUS_MAP",
    "SNAPSHOT_VERSION",
    "Bucket",
    "Changes",
    "Counts",
    "Discussion",
    "Health",
    "ItemChange",
    "Meeting",
    "OwnerLoad",
    "PageChange",
    "ReportOptions",
    "Snapshot",
    "Summary",
    "WorkItem",
    "changes",
    "count_items",
    "discussions",
    "meetings",
    "pages",
    "summarize",
    "work_items",
]

Bucket = Literal["done", "in_progress", "blocked", "not_started"]
BUCKETS: Final[tuple[Bucket, ...]] = ("done", "in_progress", "blocked", "not_started")
SNAPSHOT_VERSION: Final = 1
UNASSIGNED: Final = "Unassigned"

DEFAULT_STATUS_MAP: Final[Mapping[str, str]] = {
    "Not started": "not_started",
    "Working on it": "in_progress",
    "Stuck": "blocked",
    "Done": "done",
}
"""Monday status label -> bucket; the labels monday-to-tracker maps by default."""

# Tracker statuses, and what a status_map may say (monday-to-tracker's map says todo).
_STATUS_WORDS: Final[Mapping[str, Bucket]] = {
    "todo": "not_started",
    "not_started": "not_started",
    "in_progress": "in_progress",
    "blocked": "blocked",
    "done": "done",
}
_STATUS_TYPES: Final = frozenset({"status", "color"})
_DATE_TYPES: Final = frozenset({"date"})
_PEOPLE_TYPES: Final = frozenset({"people", "multiple-person", "person"})
_MENTION_RE: Final = re.compile(
    r"<([@#!])([^<>|]*)(?:\|([^<>]*))?>|<([^<>|]*)\|([^<>]*)>|<([^<>]*)>"
)


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
            if word not in _STATUS_WORDS:
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


# Reading leniently --------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _instant(value: Any) -> datetime | None:
    """An aware datetime from an ISO string, a datetime, or Outlook's
    ``{date_time, time_zone}``; naive times are UTC unless the zone says otherwise."""
    zone_name: str | None = None
    if isinstance(value, Mapping):
        zone_name = _str(value.get("time_zone") or value.get("timeZone"))
        value = value.get("date_time") or value.get("dateTime")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            # Graph sends seven fractional digits; Python takes at most six.
            trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text)
            try:
                moment = datetime.fromisoformat(trimmed)
            except ValueError:
                return None
    else:
        return None
    if moment.tzinfo is None:
        zone: Any = UTC
        if zone_name and zone_name.upper() != "UTC":
            try:
                zone = ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                zone = UTC
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _column(
    columns: Mapping[str, Any], column_id: str, types: frozenset[str]
) -> Mapping[str, Any] | None:
    """The column ``column_id``, else the first column of one of ``types``."""
    found = columns.get(column_id)
    if isinstance(found, Mapping):
        return found
    for value in columns.values():
        if isinstance(value, Mapping) and value.get("type") in types:
            return value
    return None


def _link(template: str | None, **values: str | None) -> str | None:
    """A URL from a pattern with ``{id}``-style placeholders (plain replacement, not
    str.format: the pattern is configuration and must not reach into objects)."""
    if not template:
        return None
    url = template
    for name, value in values.items():
        placeholder = "{" + name + "}"
        if placeholder in url:
            if not value:
                return None
            url = url.replace(placeholder, value)
    return url


# Work items -----------------------------------------------------------------------------------


def _bucket(label: str | None, status_map: Mapping[str, str]) -> Bucket | None:
    if label is None:
        return None
    word = status_map.get(label)
    if word is None:
        word = next((v for k, v in status_map.items() if k.casefold() == label.casefold()), None)
    return _STATUS_WORDS.get(word) if word is not None else None


def _owners_of(column: Mapping[str, Any] | None) -> list[str]:
    if column is None:
        return []
    text = _str(column.get("text"))
    if text is None:
        return []
    # monday joins the names of a people cell with ", ".
    return [name.strip() for name in text.split(",") if name.strip()]


def _due_of(column: Mapping[str, Any] | None) -> date | None:
    if column is None:
        return None
    value = column.get("value")
    if isinstance(value, Mapping):
        due = _date(value.get("date"))
        if due is not None:
            return due
    return _date(column.get("text"))


def _flatten_items(items: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Items, also when given per board (``[{board_id, items: [...]}]`` from a foreach)."""
    flat: list[Mapping[str, Any]] = []
    for entry in items:
        if not isinstance(entry, Mapping):
            continue
        nested = entry.get("items")
        if isinstance(nested, list) and "columns" not in entry:
            flat.extend(i for i in nested if isinstance(i, Mapping))
        else:
            flat.append(entry)
    return flat


def _overdue(bucket: Bucket, due: date | None, today: date) -> tuple[bool, int | None]:
    if bucket == "done" or due is None or due >= today:
        return False, None
    return True, (today - due).days


def work_items(
    items: Iterable[Any],
    tasks: Iterable[Any],
    *,
    today: date,
    options: ReportOptions | None = None,
    tracker_ref_prefixes: Sequence[str] = (),
    take_all_tasks: bool = False,
) -> list[WorkItem]:
    """The project's work items: its Monday items (each merged with the tracker task
    synced from it) and its own tracker tasks; see the module docstring for which tasks
    belong. ``take_all_tasks``: count every task not synced from a given item."""
    options = options or ReportOptions()
    tasks_by_item: dict[str, Mapping[str, Any]] = {}
    own_tasks: list[Mapping[str, Any]] = []
    monday = _flatten_items(items)
    item_ids = {str(i.get("id")) for i in monday if _str(i.get("id"))}
    for task in tasks:
        if not isinstance(task, Mapping) or _str(task.get("id")) is None:
            continue
        ref = _str(task.get("external_ref")) or ""
        if ref.startswith("monday:") and ref[7:] in item_ids:
            tasks_by_item.setdefault(ref[7:], task)
        elif take_all_tasks or any(ref.startswith(p) for p in tracker_ref_prefixes):
            own_tasks.append(task)
    result: list[WorkItem] = []
    seen: set[str] = set()
    for item in monday:
        item_id = _str(item.get("id"))
        if item_id is None or item_id in seen:
            continue
        seen.add(item_id)
        result.append(_monday_item(item, item_id, tasks_by_item.get(item_id), options, today))
    for task in own_tasks:
        task_id = str(task.get("id")).strip()
        if f"tasktracker:{task_id}" in seen:
            continue
        seen.add(f"tasktracker:{task_id}")
        result.append(_tracker_item(task, task_id, options, today))
    return result


def _monday_item(
    item: Mapping[str, Any],
    item_id: str,
    task: Mapping[str, Any] | None,
    options: ReportOptions,
    today: date,
) -> WorkItem:
    columns = _mapping(item.get("columns"))
    status_column = _column(columns, options.status_column, _STATUS_TYPES)
    label = _str(status_column.get("text")) if status_column else None
    bucket = _bucket(label, options.status_map)
    task_status = _str(task.get("status")) if task else None
    if bucket is None and task_status is not None and task_status in _STATUS_WORDS:
        bucket = _STATUS_WORDS[task_status]
        label = label or task_status
    owners = _owners_of(_column(columns, options.people_column, _PEOPLE_TYPES))
    if not owners and task is not None and _str(task.get("assignee")):
        owners = [str(task.get("assignee")).strip()]
    due = _due_of(_column(columns, options.due_column, _DATE_TYPES))
    if due is None and task is not None:
        due = _date(task.get("due_date"))
    final: Bucket = bucket or "not_started"
    overdue, late = _overdue(final, due, today)
    board_id = _str(item.get("board_id"))
    return WorkItem(
        id=f"monday:{item_id}",
        source="monday",
        source_id=item_id,
        title=_str(item.get("name")) or f"Item {item_id}",
        status=final,
        status_label=label or "No status",
        owners=owners,
        owner=", ".join(owners) or UNASSIGNED,
        due_date=due.isoformat() if due else None,
        overdue=overdue,
        days_late=late,
        group=_str(_mapping(item.get("group")).get("title")),
        board_id=board_id,
        task_id=_str(task.get("id")) if task else None,
        url=_link(options.monday_item_url, id=item_id, board_id=board_id),
        updated_at=_str(item.get("updated_at")),
    )


def _tracker_item(
    task: Mapping[str, Any], task_id: str, options: ReportOptions, today: date
) -> WorkItem:
    status = _str(task.get("status")) or "todo"
    bucket = _bucket(status, options.status_map) or _STATUS_WORDS.get(status, "not_started")
    owners = [str(task.get("assignee")).strip()] if _str(task.get("assignee")) else []
    due = _date(task.get("due_date"))
    overdue, late = _overdue(bucket, due, today)
    return WorkItem(
        id=f"tasktracker:{task_id}",
        source="tasktracker",
        source_id=task_id,
        title=_str(task.get("title")) or f"Task {task_id}",
        status=bucket,
        status_label=status,
        owners=owners,
        owner=", ".join(owners) or UNASSIGNED,
        due_date=due.isoformat() if due else None,
        overdue=overdue,
        days_late=late,
        task_id=task_id,
        url=_link(options.tracker_task_url, id=task_id),
        updated_at=_str(task.get("updated_at")),
    )


# Other sources --------------------------------------------------------------------------------


def _name_of(person: Any) -> str | None:
    if isinstance(person, Mapping):
        nested = person.get("emailAddress") or person.get("email_address")
        if isinstance(nested, Mapping):
            person = nested
        return _str(person.get("name")) or _str(person.get("address"))
    return _str(person)


def meetings(
    events: Iterable[Any],
    *,
    today: date,
    horizon_days: int = 7,
    tz: str = "UTC",
    keywords: Sequence[str] = (),
) -> list[Meeting]:
    """Meetings from ``today`` to ``horizon_days`` ahead in ``tz``, by start; cancelled
    ones left out, ones without a readable start kept last; with ``keywords``, only
    those whose subject contains one of them."""
    zone = ZoneInfo(tz)
    wanted = [k.casefold() for k in keywords if k.strip()]
    first = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    last = first + timedelta(days=horizon_days + 1)
    found: list[tuple[datetime | None, Meeting]] = []
    for event in events:
        if not isinstance(event, Mapping) or event.get("is_cancelled") or event.get("isCancelled"):
            continue
        subject = _str(event.get("subject")) or "(no subject)"
        if wanted and not any(k in subject.casefold() for k in wanted):
            continue
        start = _instant(event.get("start"))
        end = _instant(event.get("end"))
        if start is not None and not (first <= start < last or (end and start < first < end)):
            continue
        found.append(
            (
                start,
                Meeting(
                    subject=subject,
                    start=_iso(start),
                    end=_iso(end),
                    all_day=bool(event.get("is_all_day") or event.get("isAllDay")),
                    organizer=_name_of(event.get("organizer")),
                    location=_name_of(event.get("location")),
                    url=_str(event.get("online_meeting_url"))
                    or _str(event.get("url"))
                    or _str(event.get("web_link")),
                ),
            )
        )
    found.sort(key=lambda pair: (pair[0] is None, pair[0] or first, pair[1].subject))
    return [meeting for _, meeting in found]


def pages(entries: Iterable[Any]) -> list[PageChange]:
    """Changed pages, most recently changed first."""
    found: list[tuple[datetime | None, PageChange]] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        version = _mapping(entry.get("version"))
        modified = _instant(
            entry.get("last_modified") or entry.get("lastModified") or version.get("created_at")
        )
        found.append(
            (
                modified,
                PageChange(
                    id=_str(entry.get("id")),
                    title=_str(entry.get("title")) or "(untitled)",
                    url=_str(entry.get("url")),
                    last_modified=_iso(modified),
                    author=_name_of(entry.get("author"))
                    or _str(version.get("author_id"))
                    or _str(entry.get("author_id")),
                ),
            )
        )
    epoch = datetime.min.replace(tzinfo=UTC)
    found.sort(key=lambda pair: (pair[0] or epoch, pair[1].title), reverse=True)
    return [page for _, page in found]


def _plain_slack(text: str, people: Mapping[str, str]) -> str:
    """Slack message text as plain text: mentions by name, links by label, escapes resolved."""

    def replace(match: re.Match[str]) -> str:
        sigil, target, label, url, url_label, bare = match.groups()
        if sigil == "@":
            return "@" + (label or people.get(target, target))
        if sigil == "#":
            return "#" + (label or target)
        if sigil == "!":
            # <!here>, <!date^...|fallback>: the fallback text when there is one.
            return label or "@" + target.split("^")[0]
        if url is not None:
            return url_label
        return bare

    plain = _MENTION_RE.sub(replace, text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _shorten(text: str, length: int = 280) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def _posted_at(ts: str) -> str | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC).isoformat()
    except (ValueError, OverflowError, OSError):
        return None


def discussions(
    messages: Iterable[Any], *, people: Mapping[str, str] | None = None
) -> tuple[list[Discussion], int]:
    """The threads with replies, most replied first, and how many top-level messages
    people (not bots, not join notices) wrote."""
    people = people or {}
    threads: list[Discussion] = []
    count = 0
    seen: set[str] = set()
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        ts = _str(message.get("ts"))
        thread = _str(message.get("thread_ts"))
        if ts is None or ts in seen or (thread is not None and thread != ts):
            continue
        if message.get("subtype") or message.get("bot_id"):
            continue
        seen.add(ts)
        count += 1
        try:
            replies = int(message.get("reply_count") or 0)
        except (TypeError, ValueError):
            replies = 0
        if replies <= 0:
            continue
        user = _str(message.get("user"))
        threads.append(
            Discussion(
                ts=ts,
                user=user,
                author=people.get(user, user) if user else None,
                text=_shorten(_plain_slack(str(message.get("text") or ""), people)),
                reply_count=replies,
                posted_at=_posted_at(ts),
            )
        )
    threads.sort(key=lambda d: (-d.reply_count, -_ts_number(d.ts)))
    return threads, count


def _ts_number(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0


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


# Changes --------------------------------------------------------------------------------------

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
