"""monday's column value rules: the demo boards' cells, columns and their rendering.

Cells are stored as small typed values (:data:`Cell`); :func:`cell_value` and
:func:`cell_text` render them the way monday does (``value`` a JSON-encoded string or
None, ``text`` ``""`` when empty but None for an empty status and always None for a
mirror). :func:`parse_cell` reads ``column_values`` in monday's write shapes and raises
:class:`InvalidColumnValue` as monday answers ``ColumnValueException``.
:mod:`.demo_data` re-exports all of it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from dataworkflows.sandboxes.world import DemoUser

__all__ = [
    "STATUS_COLORS",
    "STATUS_LABELS",
    "Cell",
    "ColumnType",
    "DateCell",
    "DemoColumn",
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
    "parse_cell",
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

STATUS_COLORS: Final[Mapping[int, str]] = {
    0: "#fdab3d",
    1: "#00c875",
    2: "#df2f4a",
    3: "#007eb5",
    4: "#9d50dd",
    5: "#c4c4c4",
}


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
                str(i): {"color": STATUS_COLORS.get(i, "#579bfc")} for i in sorted(self.labels)
            },
        }
        return json.dumps(settings, separators=(",", ":"))


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


def parse_cell(
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
