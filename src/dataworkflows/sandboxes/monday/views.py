"""What the sandbox's GraphQL types read: column value views and the demo account.

A :class:`ColumnValueView` is one cell as the ``ColumnValue`` implementations expose
it; fields a view does not carry resolve to what monday answers when there is nothing
(see :mod:`.schema`). :func:`demo_account` is the ``Account`` every user belongs to;
:func:`iso_utc` spells the dates monday answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from dataworkflows.sandboxes.monday.demo_data import (
    STATUS_COLORS,
    Cell,
    DateCell,
    DemoColumn,
    MirrorCell,
    NumbersCell,
    PeopleCell,
    StatusCell,
    cell_text,
    cell_value,
)
from dataworkflows.sandboxes.world import DemoUser

__all__ = [
    "ACCOUNT_SLUG",
    "DONE_INDEXES",
    "ColumnValueView",
    "column_revision",
    "column_value_view",
    "demo_account",
    "iso_utc",
]

ACCOUNT_SLUG: Final = "dataworkflows-demo"
"""The demo account's slug (the ``<slug>.monday.com`` of its URLs)."""

DONE_INDEXES: Final = frozenset({1})
"""Status label indexes that count as done (the columns' ``done_colors``)."""


@dataclass(frozen=True, slots=True)
class ColumnValueView:
    """One cell as the ColumnValue implementations expose it."""

    id: str
    column: DemoColumn
    type: str
    text: str | None
    value: str | None
    label: str | None = None
    index: int | None = None
    is_done: bool | None = None
    label_style: Mapping[str, str] | None = None
    date: str | None = None
    time: str | None = None
    persons_and_teams: list[dict[str, str]] | None = None
    number: float | None = None
    display_value: str = ""


def column_value_view(
    column: DemoColumn, cell: Cell | None, users: Mapping[str, DemoUser]
) -> ColumnValueView:
    """The view of ``cell`` (None when empty) in ``column``."""
    view = ColumnValueView(
        id=column.id,
        column=column,
        type=column.type,
        text=cell_text(column, cell, users),
        value=cell_value(cell),
    )
    match cell:
        case StatusCell(index=index):
            color = STATUS_COLORS.get(index, "#579bfc")
            return _with(
                view,
                label=view.text,
                index=index,
                is_done=index in DONE_INDEXES,
                label_style={"color": color, "border": color},
            )
        case DateCell(date=date, time=time_of_day):
            return _with(view, date=date, time=time_of_day)
        case PeopleCell(person_ids=ids):
            people = [{"id": str(i), "kind": "person"} for i in ids]
            return _with(view, persons_and_teams=people)
        case NumbersCell(number=number):
            return _with(view, number=float(number))
        case MirrorCell(display_value=display):
            return _with(view, display_value=display)
    if column.type == "people":
        return _with(view, persons_and_teams=[])
    return view


def _with(view: ColumnValueView, **changes: Any) -> ColumnValueView:
    return replace(view, **changes)


def iso_utc(moment: datetime) -> str:
    """``moment`` as monday spells dates: ISO 8601 in UTC, to the second, with ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def column_revision(column: DemoColumn) -> str:
    """A column's ``revision``: changes whenever its settings do."""
    return hashlib.sha256(column.settings_str.encode()).hexdigest()[:32]


def demo_account(users_count: int) -> dict[str, Any]:
    """The demo ``Account`` (the one the token belongs to)."""
    return {
        "active_members_count": users_count,
        "country_code": None,
        "first_day_of_the_week": "monday",
        "id": "24000001",
        "logo": None,
        "name": "Data Workflows Demo",
        "plan": None,
        "products": [],
        "show_timeline_weekends": True,
        "sign_up_product_kind": "core",
        "slug": ACCOUNT_SLUG,
        "tier": "enterprise",
    }
