"""The seeded demo workspace the Monday sandbox serves, and monday's column value rules.

The demo world's three projects (:mod:`dataworkflows.sandboxes.world`), each
with its own workspace and two boards: ``"<Name> — Roadmap"`` and ``"<Name> — Sprint
Tasks"``. Everything follows from the seed (``random.Random(seed)``); timestamps and
due dates are offsets from an anchor instant (:data:`ANCHOR` unless
:meth:`DemoWorkspace.seeded` is given another), never the wall clock, so two runs with
the same seed and anchor give the same workspace. The anchor only moves the dates: item
names, statuses and ids are the seed's whatever the anchor. The sandboxes that ``serve``
and ``dev`` start are anchored on :func:`demo_anchor` (today, 09:00 UTC), so the demo
looks current on the day it starts; tests keep the fixed :data:`ANCHOR`. Board,
workspace and user ids are fixed (configuration and docs can name them); item ids and
contents come from the seed.

:data:`BIG_BOARD_ID` ("Cygnus Data Platform — Sprint Tasks") holds more than 500 items
so that paging past monday's 500-item page limit can be exercised; the other boards
hold 20 to 60 items each.

Cells are stored as small typed values (:data:`Cell`); :func:`cell_value` and
:func:`cell_text` render them the way monday does (``value`` a JSON-encoded string or
None, ``text`` ``""`` when empty but None for an empty status and always None for a
mirror). :meth:`DemoWorkspace.create_item` and
:meth:`DemoWorkspace.change_column_values` accept ``column_values`` in monday's write
shapes and raise :class:`InvalidColumnValue` or :class:`ResourceNotFound` as monday
would answer ``ColumnValueException`` or ``ResourceNotFoundException``.
"""

from __future__ import annotations

import bisect
import json
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from dataworkflows.sandboxes.world import (
    ANCHOR,
    DEMO_USERS,
    PROJECT_NAMES,
    DemoUser,
    as_utc,
)

__all__ = [
    "BIG_BOARD_ID",
    "STATUS_LABELS",
    "Cell",
    "ColumnType",
    "DateCell",
    "DemoBoard",
    "DemoColumn",
    "DemoGroup",
    "DemoItem",
    "DemoProject",
    "DemoWorkspace",
    "InvalidColumnValue",
    "LongTextCell",
    "MirrorCell",
    "NumbersCell",
    "PeopleCell",
    "ResourceNotFound",
    "StatusCell",
    "TextCell",
    "cell_text",
    "cell_value",
]

ColumnType = Literal["status", "date", "people", "text", "long_text", "numbers", "mirror"]
"""The column types the demo boards use, spelled as monday's ``Column.type``."""

STATUS_LABELS: Final[Mapping[int, str]] = {
    0: "Working on it",
    1: "Done",
    2: "Stuck",
    5: "Not started",
}
"""A new status column's labels by index, as monday numbers them (5 is the grey default)."""

_STATUS_COLORS: Final[Mapping[int, str]] = {
    0: "#fdab3d",
    1: "#00c875",
    2: "#df2f4a",
    3: "#007eb5",
    4: "#9d50dd",
    5: "#c4c4c4",
}

BIG_BOARD_ID: Final = "5012345622"
"""The board with more than 500 items ("Cygnus Data Platform — Sprint Tasks")."""


@dataclass(frozen=True, slots=True)
class DemoProject:
    """One project: its workspace and its two boards."""

    key: str
    name: str
    workspace_id: str
    roadmap_board_id: str
    sprint_board_id: str


_PROJECTS: Final = (
    DemoProject("apollo", PROJECT_NAMES["apollo"], "1200101", "5012345601", "5012345602"),
    DemoProject("borealis", PROJECT_NAMES["borealis"], "1200102", "5012345611", "5012345612"),
    DemoProject("cygnus", PROJECT_NAMES["cygnus"], "1200103", "5012345621", BIG_BOARD_ID),
)


# -- cells -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusCell:
    """A status cell: the index of its label in the column's settings."""

    index: int


@dataclass(frozen=True, slots=True)
class DateCell:
    """A date cell; ``time`` (``HH:MM:SS``, UTC) only when one was set."""

    date: str
    time: str | None = None


@dataclass(frozen=True, slots=True)
class PeopleCell:
    """A people cell: the assigned users' ids (monday keeps them as numbers in ``value``)."""

    person_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TextCell:
    """A text cell."""

    text: str


@dataclass(frozen=True, slots=True)
class NumbersCell:
    """A numbers cell; monday keeps the number as the string it was given."""

    number: str


@dataclass(frozen=True, slots=True)
class LongTextCell:
    """A long text cell."""

    text: str


@dataclass(frozen=True, slots=True)
class MirrorCell:
    """A mirror cell: what it shows from the connected items (read-only through the API)."""

    display_value: str


Cell = StatusCell | DateCell | PeopleCell | TextCell | NumbersCell | LongTextCell | MirrorCell
"""A non-empty cell; an empty cell is simply absent from :attr:`DemoItem.cells`."""


# -- board structure ---------------------------------------------------------------------


@dataclass(slots=True)
class DemoColumn:
    """A board column; ``labels`` (index -> label) only for status columns."""

    id: str
    title: str
    type: ColumnType
    labels: dict[int, str] = field(default_factory=dict)

    @property
    def settings_str(self) -> str:
        """The column's settings as the JSON string monday returns in ``settings_str``."""
        if self.type != "status":
            return "{}"
        settings = {
            "done_colors": [1],
            "labels": {str(i): label for i, label in sorted(self.labels.items())},
            "labels_colors": {
                str(i): {"color": _STATUS_COLORS.get(i, "#579bfc")} for i in sorted(self.labels)
            },
        }
        return json.dumps(settings, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class DemoGroup:
    """A group of items on a board."""

    id: str
    title: str
    color: str
    position: str


@dataclass(slots=True)
class DemoItem:
    """An item; ``cells`` maps column id to value and omits empty cells."""

    id: str
    name: str
    board_id: str
    group_id: str
    created_at: datetime
    updated_at: datetime
    cells: dict[str, Cell] = field(default_factory=dict)
    state: str = "active"


@dataclass(slots=True)
class DemoBoard:
    """A board; ``items`` are in ascending id order, which is creation order."""

    id: str
    name: str
    description: str
    workspace_id: str
    project: str
    columns: list[DemoColumn]
    groups: list[DemoGroup]
    items: list[DemoItem] = field(default_factory=list)
    state: str = "active"
    board_kind: str = "public"

    @property
    def items_count(self) -> int:
        """How many items the board holds."""
        return len(self.items)

    def column(self, column_id: str) -> DemoColumn | None:
        """The column ``column_id``, or None."""
        return next((c for c in self.columns if c.id == column_id), None)

    def group(self, group_id: str) -> DemoGroup | None:
        """The group ``group_id``, or None."""
        return next((g for g in self.groups if g.id == group_id), None)

    def items_after(self, item_id: str | None, limit: int) -> tuple[list[DemoItem], bool]:
        """Up to ``limit`` items after ``item_id`` (None: from the start); and if more follow."""
        start = 0
        if item_id is not None:
            start = bisect.bisect_right(self.items, int(item_id), key=lambda i: int(i.id))
        page = self.items[start : start + limit]
        return page, start + limit < len(self.items)


# -- errors ------------------------------------------------------------------------------


class InvalidColumnValue(ValueError):
    """A ``column_values`` entry monday would refuse (its ``ColumnValueException``)."""

    def __init__(
        self, message: str, *, column_id: str | None = None, column_type: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.column_id = column_id
        self.column_type = column_type


class ResourceNotFound(LookupError):
    """A board, item or group that does not exist (monday's ``ResourceNotFoundException``)."""

    def __init__(self, kind: str, resource_id: str | None) -> None:
        super().__init__(f"{kind.capitalize()} not found: {resource_id!r}")
        self.kind = kind
        self.resource_id = resource_id


# -- rendering ---------------------------------------------------------------------------


def _compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def cell_value(cell: Cell | None) -> str | None:
    """The cell's ``value`` as monday returns it: a JSON-encoded string, None when empty.

    Mirror cells have no ``value`` of their own (only ``display_value``), so None.
    """
    match cell:
        case None | MirrorCell():
            return None
        case StatusCell(index=index):
            return _compact_json({"index": index, "post_id": None})
        case DateCell(date=date, time=time):
            return _compact_json({"date": date} if time is None else {"date": date, "time": time})
        case PeopleCell(person_ids=ids):
            return _compact_json({"personsAndTeams": [{"id": i, "kind": "person"} for i in ids]})
        case TextCell(text=text):
            return _compact_json(text)
        case NumbersCell(number=number):
            return _compact_json(number)
        case LongTextCell(text=text):
            return _compact_json({"text": text})


def cell_text(column: DemoColumn, cell: Cell | None, users: Mapping[str, DemoUser]) -> str | None:
    """The cell's ``text``: ``""`` when empty, None for an empty status and for any mirror."""
    match cell:
        case MirrorCell():
            return None
        case None:
            return None if column.type in ("status", "mirror") else ""
        case StatusCell(index=index):
            return column.labels.get(index)
        case DateCell(date=date, time=time):
            # monday's text shows the time to the minute.
            return date if time is None else f"{date} {time[:5]}"
        case PeopleCell(person_ids=ids):
            return ", ".join(users[str(i)].name for i in ids if str(i) in users)
        case TextCell(text=text) | LongTextCell(text=text):
            return text
        case NumbersCell(number=number):
            return number


# -- parsing monday's write shapes -------------------------------------------------------

_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE: Final = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")


def _refuse(column: DemoColumn, raw: object, why: str) -> InvalidColumnValue:
    return InvalidColumnValue(
        f"invalid value for column {column.id!r} ({column.title}, type {column.type}): {why}; "
        f"got {_compact_json(raw)}",
        column_id=column.id,
        column_type=column.type,
    )


def _is_empty(raw: object) -> bool:
    # monday clears a cell for null, "" and {} alike.
    return raw is None or raw in ("", {})


def _parse_status(
    column: DemoColumn, raw: object, *, create_labels: bool, new_labels: dict[int, str]
) -> StatusCell | None:
    labels = {**column.labels, **new_labels}
    label: object = raw
    if isinstance(raw, Mapping):
        if "index" in raw:
            index = raw["index"]
            if isinstance(index, str) and index.isdigit():
                index = int(index)
            if not isinstance(index, int) or isinstance(index, bool) or index not in labels:
                known = ", ".join(str(i) for i in sorted(labels))
                raise _refuse(column, raw, f"no label has index {index!r} (indexes: {known})")
            return StatusCell(index)
        if "label" not in raw:
            raise _refuse(column, raw, 'expected {"label": "..."} or {"index": n}')
        label = raw["label"]
    if _is_empty(label):
        return None
    if not isinstance(label, str):
        raise _refuse(column, raw, "a status label must be a string")
    for index, existing in labels.items():
        if existing == label:
            return StatusCell(index)
    if not create_labels:
        known = ", ".join(repr(v) for v in labels.values())
        raise _refuse(
            column,
            raw,
            f"label {label!r} does not exist (labels: {known}); "
            "pass create_labels_if_missing: true to create it",
        )
    index = next(i for i in range(len(labels) + 1) if i not in labels)
    new_labels[index] = label
    return StatusCell(index)


def _parse_date(column: DemoColumn, raw: object) -> DateCell | None:
    date: object = raw
    time: object = None
    if isinstance(raw, str):
        date, _, rest = raw.strip().partition(" ")
        time = rest or None
    elif isinstance(raw, Mapping):
        date, time = raw.get("date"), raw.get("time")
    else:
        raise _refuse(column, raw, 'expected {"date": "YYYY-MM-DD", "time": "HH:MM:SS"}')
    if _is_empty(date):
        return None
    if not isinstance(date, str) or not _DATE_RE.match(date):
        raise _refuse(column, raw, "the date must be YYYY-MM-DD")
    try:
        datetime.strptime(date, "%Y-%m-%d")
    except ValueError:
        raise _refuse(column, raw, f"{date} is not a calendar date") from None
    if time is None or time == "":
        return DateCell(date)
    if not isinstance(time, str) or not _TIME_RE.match(time):
        raise _refuse(column, raw, "the time must be HH:MM:SS")
    normalised = time if len(time) == 8 else f"{time}:00"
    hours, minutes, seconds = (int(part) for part in normalised.split(":"))
    if hours > 23 or minutes > 59 or seconds > 59:
        raise _refuse(column, raw, f"{time} is not a time of day")
    return DateCell(date, normalised)


def _parse_people(
    column: DemoColumn, raw: object, users: Mapping[str, DemoUser]
) -> PeopleCell | None:
    entries: list[object]
    if isinstance(raw, str):
        # The simple-string form: comma-separated user ids.
        entries = [
            {"id": part.strip(), "kind": "person"} for part in raw.split(",") if part.strip()
        ]
    elif isinstance(raw, Mapping) and isinstance(raw.get("personsAndTeams"), list):
        entries = list(raw["personsAndTeams"])
    else:
        raise _refuse(column, raw, 'expected {"personsAndTeams": [{"id": 1, "kind": "person"}]}')
    ids: list[int] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise _refuse(column, raw, "each personsAndTeams entry must be an object")
        kind = entry.get("kind", "person")
        if kind != "person":
            raise _refuse(column, raw, f"kind {kind!r} is not supported (only 'person')")
        user_id = entry.get("id")
        if isinstance(user_id, bool) or str(user_id) not in users:
            raise _refuse(column, raw, f"no user has id {user_id!r}")
        if int(str(user_id)) not in ids:
            ids.append(int(str(user_id)))
    return PeopleCell(tuple(ids)) if ids else None


def _parse_numbers(column: DemoColumn, raw: object) -> NumbersCell | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _refuse(column, raw, 'a number must be sent as a string such as "42.5"')
    text = str(raw).strip()
    try:
        number = float(text)
    except ValueError:
        raise _refuse(column, raw, f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise _refuse(column, raw, f"{text!r} is not a finite number")
    return NumbersCell(text)


def _parse_text(column: DemoColumn, raw: object) -> TextCell | LongTextCell | None:
    text: object = raw
    if column.type == "long_text" and isinstance(raw, Mapping):
        text = raw.get("text")
        if _is_empty(text):
            return None
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        expected = 'a string or {"text": "..."}' if column.type == "long_text" else "a string"
        raise _refuse(column, raw, f"expected {expected}")
    if column.type == "long_text":
        return LongTextCell(str(text))
    return TextCell(str(text))


def _parse_cell(
    column: DemoColumn,
    raw: object,
    users: Mapping[str, DemoUser],
    *,
    create_labels: bool,
    new_labels: dict[int, str],
) -> Cell | None:
    if column.type == "mirror":
        raise _refuse(column, raw, "mirror columns show other items' values and cannot be set")
    if _is_empty(raw):
        return None
    match column.type:
        case "status":
            return _parse_status(column, raw, create_labels=create_labels, new_labels=new_labels)
        case "date":
            return _parse_date(column, raw)
        case "people":
            return _parse_people(column, raw, users)
        case "numbers":
            return _parse_numbers(column, raw)
        case "text" | "long_text":
            return _parse_text(column, raw)
    raise AssertionError(f"unhandled column type {column.type}")  # pragma: no cover


# -- the workspace -----------------------------------------------------------------------


class DemoWorkspace:
    """The demo account: its projects, boards and users, with monday's write semantics."""

    def __init__(
        self,
        *,
        projects: tuple[DemoProject, ...],
        boards: list[DemoBoard],
        users: tuple[DemoUser, ...],
        next_item_id: int,
        seed: int,
        anchor: datetime = ANCHOR,
    ) -> None:
        self.projects = projects
        self.anchor = anchor
        """The instant the seeded data was placed before."""
        self.boards = boards
        self.users = users
        self._users = {u.id: u for u in users}
        self._boards = {b.id: b for b in boards}
        self._items = {i.id: i for b in boards for i in b.items}
        self._next_item_id = next_item_id
        # New item ids keep monday's irregular gaps, from the seed for repeatability.
        self._id_gaps = random.Random(seed ^ 0x5EED)  # noqa: S311  (demo ids, not secrets)

    @classmethod
    def seeded(cls, seed: int = 7, *, anchor: datetime = ANCHOR) -> DemoWorkspace:
        """The demo workspace for ``seed``, its dates placed before ``anchor`` (aware).

        The same seed and anchor always give the same workspace; another anchor moves
        every creation, update and due date by the same amount, nothing else.
        """
        return _build(seed, as_utc(anchor))

    @property
    def me(self) -> DemoUser:
        """The API token's owner."""
        return self.users[0]

    @property
    def users_by_id(self) -> Mapping[str, DemoUser]:
        """Users by id (what :func:`cell_text` needs to name people)."""
        return self._users

    def board(self, board_id: str) -> DemoBoard | None:
        """The board ``board_id``, or None."""
        return self._boards.get(board_id)

    def item(self, item_id: str) -> DemoItem | None:
        """The item ``item_id``, or None."""
        return self._items.get(item_id)

    def user(self, user_id: str) -> DemoUser | None:
        """The user ``user_id``, or None."""
        return self._users.get(user_id)

    def project(self, key: str) -> DemoProject:
        """The project ``key`` (one of :data:`PROJECTS`)."""
        return next(p for p in self.projects if p.key == key)

    def create_item(
        self,
        *,
        board_id: str,
        name: str,
        group_id: str | None = None,
        column_values: Mapping[str, object] | None = None,
        create_labels_if_missing: bool = False,
        now: datetime,
    ) -> DemoItem:
        """Add an item (to the board's first group unless ``group_id``) and return it.

        Nothing changes when a column value is refused.
        """
        board = self._require_board(board_id)
        group = board.groups[0] if group_id is None else board.group(group_id)
        if group is None:
            raise ResourceNotFound("group", group_id)
        cells, labels = self._parse(board, column_values or {}, create_labels_if_missing)
        self._next_item_id += self._id_gaps.randint(1, 97)
        stamp = now.astimezone(UTC).replace(microsecond=0)
        item = DemoItem(
            id=str(self._next_item_id),
            name=name,
            board_id=board.id,
            group_id=group.id,
            created_at=stamp,
            updated_at=stamp,
        )
        self._apply(board, item, cells, labels)
        board.items.append(item)
        self._items[item.id] = item
        return item

    def change_column_values(
        self,
        *,
        board_id: str,
        item_id: str | None,
        column_values: Mapping[str, object],
        create_labels_if_missing: bool = False,
        now: datetime,
    ) -> DemoItem:
        """Set several cells of one item at once; all or nothing, as monday does."""
        board = self._require_board(board_id)
        item = self._items.get(item_id) if item_id is not None else None
        if item is None or item.board_id != board.id:
            raise ResourceNotFound("item", item_id)
        cells, labels = self._parse(board, column_values, create_labels_if_missing)
        self._apply(board, item, cells, labels)
        # updated_at moves forward even when the caller's clock is behind the seeded data.
        stamp = now.astimezone(UTC).replace(microsecond=0)
        item.updated_at = max(stamp, item.updated_at + timedelta(seconds=1))
        return item

    def _require_board(self, board_id: str) -> DemoBoard:
        board = self._boards.get(board_id)
        if board is None:
            raise ResourceNotFound("board", board_id)
        return board

    def _parse(
        self, board: DemoBoard, column_values: Mapping[str, object], create_labels: bool
    ) -> tuple[dict[str, Cell | None], dict[str, dict[int, str]]]:
        # Everything is checked before anything changes, so a refused value leaves
        # the item (and the status labels) as they were.
        cells: dict[str, Cell | None] = {}
        labels: dict[str, dict[int, str]] = {}
        for column_id, raw in column_values.items():
            column = board.column(column_id)
            if column is None:
                raise InvalidColumnValue(
                    f"column {column_id!r} does not exist on board {board.id} ({board.name}); "
                    f"columns: {', '.join(c.id for c in board.columns)}",
                    column_id=column_id,
                )
            new_labels = labels.setdefault(column_id, {})
            cells[column_id] = _parse_cell(
                column, raw, self._users, create_labels=create_labels, new_labels=new_labels
            )
        return cells, labels

    @staticmethod
    def _apply(
        board: DemoBoard,
        item: DemoItem,
        cells: Mapping[str, Cell | None],
        labels: Mapping[str, Mapping[int, str]],
    ) -> None:
        for column_id, new in labels.items():
            column = board.column(column_id)
            assert column is not None
            column.labels.update(new)
        for column_id, cell in cells.items():
            if cell is None:
                item.cells.pop(column_id, None)
            else:
                item.cells[column_id] = cell


# -- seeding -----------------------------------------------------------------------------

_VERBS: Final = ("Design", "Build", "Review", "Test", "Fix", "Refine", "Document", "Ship")

_TOPICS: Final[Mapping[str, tuple[str, ...]]] = {
    "apollo": (
        "homepage hero",
        "pricing page",
        "navigation menu",
        "blog templates",
        "SEO metadata",
        "accessibility audit",
        "contact form",
        "image CDN",
        "cookie banner",
        "site search",
        "analytics tags",
        "404 page",
        "case studies",
        "style guide",
    ),
    "borealis": (
        "login screen",
        "push notifications",
        "offline sync",
        "onboarding flow",
        "settings screen",
        "dark mode",
        "crash reporting",
        "app store listing",
        "deep links",
        "biometric unlock",
        "in-app purchases",
        "profile editor",
        "release pipeline",
    ),
    "cygnus": (
        "orders ingestion",
        "customer dimension",
        "events stream",
        "dbt models",
        "warehouse costs",
        "data quality checks",
        "schema registry",
        "backfill job",
        "lineage graph",
        "table partitioning",
        "CDC connector",
        "metrics layer",
        "access policies",
        "retention rules",
        "Airflow DAGs",
    ),
}

_TICKET_PREFIX: Final[Mapping[str, str]] = {"apollo": "APO", "borealis": "BOR", "cygnus": "CYG"}

_NOTES: Final = (
    "Blocked on design sign-off",
    "Needs QA on staging",
    "See the thread in #eng",
    "Pairing with the data team",
    "Waiting for the vendor's reply",
    "Scope agreed in planning",
    "Follow-up from the retro",
)

_DETAILS: Final = (
    "Acceptance criteria:\n- works on staging\n- documented in the runbook",
    "Context: raised by customer support after the last release.",
    "Split from a larger ticket; see the linked design doc.",
)

_MIRROR_VALUES: Final = ("Done", "Working on it", "Done, Stuck", "Working on it, Done, Done", "")

_SPRINT_GROUPS: Final = (
    DemoGroup("topics", "Backlog", "#c4c4c4", "65536"),
    DemoGroup("group_sprint", "This Sprint", "#579bfc", "131072"),
    DemoGroup("group_review", "Review", "#fdab3d", "196608"),
    DemoGroup("group_done", "Done", "#00c875", "262144"),
)

_ROADMAP_GROUPS: Final = (
    DemoGroup("topics", "Backlog", "#c4c4c4", "65536"),
    DemoGroup("group_quarter", "This Quarter", "#579bfc", "131072"),
    DemoGroup("group_next_quarter", "Next Quarter", "#a25ddc", "196608"),
    DemoGroup("group_done", "Done", "#00c875", "262144"),
)

# Which status an item in each group usually has; None leaves the status empty.
_STATUS_BY_GROUP: Final[Mapping[str, tuple[int | None, ...]]] = {
    "topics": (5, 5, 5, None),
    "group_sprint": (0, 0, 2, 5, None),
    "group_quarter": (0, 0, 2, 5, None),
    "group_next_quarter": (5, 5, None),
    "group_review": (0, 2, 0),
    "group_done": (1, 1, 1, 1, None),
}


def _columns(*, roadmap: bool) -> list[DemoColumn]:
    columns = [
        DemoColumn("status", "Status", "status", dict(STATUS_LABELS)),
        DemoColumn("date4", "Due date", "date"),
        DemoColumn("person", "Owner", "people"),
        DemoColumn("text", "Notes", "text"),
        DemoColumn("numbers", "Estimate (h)", "numbers"),
        DemoColumn("long_text", "Details", "long_text"),
    ]
    if roadmap:
        columns.append(DemoColumn("mirror", "Sprint status", "mirror"))
    return columns


class _Seeder:
    """Draws item contents from one ``random.Random`` in a fixed order."""

    def __init__(self, seed: int, anchor: datetime) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
        self.anchor = anchor
        self.next_id = 1_900_000_000 + self.rng.randint(0, 99_999)
        self.clock = anchor - timedelta(days=150)

    def item(self, board: DemoBoard, name: str, *, roadmap: bool) -> DemoItem:
        rng = self.rng
        self.next_id += rng.randint(1, 97)
        self.clock += timedelta(minutes=rng.randint(5, 240))
        created = min(self.clock, self.anchor - timedelta(minutes=1))
        updated = min(created + timedelta(hours=rng.randint(0, 480)), self.anchor)
        group = rng.choice(board.groups)
        item = DemoItem(
            id=str(self.next_id),
            name=name,
            board_id=board.id,
            group_id=group.id,
            created_at=created,
            updated_at=updated,
        )
        status = rng.choice(_STATUS_BY_GROUP[group.id])
        if status is not None:
            item.cells["status"] = StatusCell(status)
        if rng.random() < 0.8:
            due = (self.anchor + timedelta(days=rng.randint(-40, 60))).date().isoformat()
            time = f"{rng.randint(8, 17):02d}:{rng.choice((0, 30)):02d}:00"
            item.cells["date4"] = DateCell(due, time if rng.random() < 0.2 else None)
        if rng.random() < 0.85:
            owners = rng.sample(DEMO_USERS, k=rng.choice((1, 1, 1, 2)))
            item.cells["person"] = PeopleCell(tuple(int(u.id) for u in owners))
        if rng.random() < 0.4:
            item.cells["text"] = TextCell(rng.choice(_NOTES))
        if rng.random() < 0.75:
            item.cells["numbers"] = NumbersCell(rng.choice(("0.5", "1", "2", "3", "5", "8", "13")))
        if rng.random() < 0.3:
            item.cells["long_text"] = LongTextCell(rng.choice(_DETAILS))
        if roadmap:
            display = rng.choice(_MIRROR_VALUES)
            if display:
                item.cells["mirror"] = MirrorCell(display)
        return item


def _build(seed: int, anchor: datetime) -> DemoWorkspace:
    seeder = _Seeder(seed, anchor)
    rng = seeder.rng
    boards: list[DemoBoard] = []
    for project in _PROJECTS:
        topics = _TOPICS[project.key]
        roadmap = DemoBoard(
            id=project.roadmap_board_id,
            name=f"{project.name} — Roadmap",
            description=f"Milestones of {project.name}, one item per deliverable.",
            workspace_id=project.workspace_id,
            project=project.key,
            columns=_columns(roadmap=True),
            groups=list(_ROADMAP_GROUPS),
        )
        sprint = DemoBoard(
            id=project.sprint_board_id,
            name=f"{project.name} — Sprint Tasks",
            description=f"Day-to-day tasks of {project.name}.",
            workspace_id=project.workspace_id,
            project=project.key,
            columns=_columns(roadmap=False),
            groups=list(_SPRINT_GROUPS),
        )
        for _ in range(rng.randint(20, 60)):
            phase = rng.choice(("discovery", "beta", "GA", "v2"))
            name = f"{rng.choice(topics).capitalize()} ({phase})"
            roadmap.items.append(seeder.item(roadmap, name, roadmap=True))
        count = 520 + rng.randint(20, 60) if sprint.id == BIG_BOARD_ID else rng.randint(20, 60)
        prefix = _TICKET_PREFIX[project.key]
        for number in range(1, count + 1):
            name = f"{prefix}-{number}: {rng.choice(_VERBS)} {rng.choice(topics)}"
            sprint.items.append(seeder.item(sprint, name, roadmap=False))
        boards += [roadmap, sprint]
    return DemoWorkspace(
        projects=_PROJECTS,
        boards=boards,
        users=DEMO_USERS,
        next_item_id=seeder.next_id,
        seed=seed,
        anchor=anchor,
    )
