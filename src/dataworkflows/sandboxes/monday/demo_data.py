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

The cells and their rules live in :mod:`.cells` (re-exported here), the seeding in
:mod:`.demo_seed`. Cells are stored as small typed values (:data:`Cell`); :func:`cell_value` and
:func:`cell_text` render them the way monday does (``value`` a JSON-encoded string or
None, ``text`` ``""`` when empty but None for an empty status and always None for a
mirror). :meth:`DemoWorkspace.create_item` and
:meth:`DemoWorkspace.change_column_values` accept ``column_values`` in monday's write
shapes and raise :class:`InvalidColumnValue` or :class:`ResourceNotFound` as monday
would answer ``ColumnValueException`` or ``ResourceNotFoundException``.

:meth:`DemoWorkspace.create_subitem` adds a subitem: an item on the parent board's
subitems board (``"Subitems of <board name>"``, id :func:`subitems_board_id`), which
appears, in the board listings too, when its first subitem is created. Updates (none
seeded) are kept in :attr:`DemoWorkspace.updates` (:mod:`.updates`).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from dataworkflows.sandboxes.monday.cells import (
    STATUS_COLORS,
    STATUS_LABELS,
    Cell,
    ColumnType,
    DateCell,
    DemoColumn,
    InvalidColumnValue,
    LongTextCell,
    MirrorCell,
    NumbersCell,
    PeopleCell,
    ResourceNotFound,
    StatusCell,
    TextCell,
    cell_text,
    cell_value,
    parse_cell,
)
from dataworkflows.sandboxes.monday.updates import UpdateLog
from dataworkflows.sandboxes.world import ANCHOR, PROJECT_NAMES, DemoUser, as_utc

__all__ = [
    "BIG_BOARD_ID",
    "DEMO_PROJECTS",
    "STATUS_COLORS",
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
    "parse_cell",
    "subitems_board_id",
]

BIG_BOARD_ID: Final = "5012345622"
"""The board with more than 500 items ("Cygnus Data Platform — Sprint Tasks")."""

_SUBITEMS_BOARD_OFFSET: Final = 1_000_000


def subitems_board_id(board_id: str) -> str:
    """The id of the subitems board of ``board_id`` (stable: derived from the board's)."""
    return str(int(board_id) + _SUBITEMS_BOARD_OFFSET)


@dataclass(frozen=True, slots=True)
class DemoProject:
    """One project: its workspace and its two boards."""

    key: str
    name: str
    workspace_id: str
    roadmap_board_id: str
    sprint_board_id: str


DEMO_PROJECTS: Final = (
    DemoProject("apollo", PROJECT_NAMES["apollo"], "1200101", "5012345601", "5012345602"),
    DemoProject("borealis", PROJECT_NAMES["borealis"], "1200102", "5012345611", "5012345612"),
    DemoProject("cygnus", PROJECT_NAMES["cygnus"], "1200103", "5012345621", BIG_BOARD_ID),
)

# -- board structure ------------------------------------------------------------------


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
    parent_item_id: str | None = None
    """The parent's id when this is a subitem."""
    subitem_ids: list[str] = field(default_factory=list)
    """The ids of the item's subitems, oldest first."""


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
    type: str = "board"
    """``board``, or ``sub_items_board`` for a board of subitems."""

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
        self.updates = UpdateLog(seed)
        """The updates and replies created since the workspace was seeded."""
        # New item ids keep monday's irregular gaps, from the seed for repeatability.
        self._id_gaps = random.Random(seed ^ 0x5EED)  # noqa: S311  (demo ids, not secrets)

    @classmethod
    def seeded(cls, seed: int = 7, *, anchor: datetime = ANCHOR) -> DemoWorkspace:
        """The demo workspace for ``seed``, its dates placed before ``anchor`` (aware).

        The same seed and anchor always give the same workspace; another anchor moves
        every creation, update and due date by the same amount, nothing else.
        """
        from dataworkflows.sandboxes.monday.demo_seed import build_workspace

        return build_workspace(seed, as_utc(anchor))

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
        return self._add_item(board, group, name, column_values, create_labels_if_missing, now=now)

    def create_subitem(
        self,
        *,
        parent_item_id: str,
        name: str,
        column_values: Mapping[str, object] | None = None,
        create_labels_if_missing: bool = False,
        now: datetime,
    ) -> DemoItem:
        """Add a subitem under ``parent_item_id`` (a top-level item) and return it.

        The subitem lives on the parent board's subitems board, created with the first
        subitem. Nothing changes when a column value is refused.
        """
        parent = self._items.get(parent_item_id)
        if parent is None:
            raise ResourceNotFound("item", parent_item_id)
        if parent.parent_item_id is not None:
            raise ValueError(f"item {parent_item_id} is a subitem: subitems have no subitems")
        board = self._subitems_board(self._require_board(parent.board_id))
        subitem = self._add_item(
            board, board.groups[0], name, column_values, create_labels_if_missing, now=now
        )
        subitem.parent_item_id = parent.id
        parent.subitem_ids.append(subitem.id)
        return subitem

    def subitems(self, item: DemoItem) -> list[DemoItem]:
        """The subitems of ``item`` that are not deleted, oldest first."""
        found = (self._items.get(i) for i in item.subitem_ids)
        return [s for s in found if s is not None and s.state != "deleted"]

    def _add_item(
        self,
        board: DemoBoard,
        group: DemoGroup,
        name: str,
        column_values: Mapping[str, object] | None,
        create_labels: bool,
        *,
        now: datetime,
    ) -> DemoItem:
        cells, labels = self._parse(board, column_values or {}, create_labels)
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

    def _subitems_board(self, board: DemoBoard) -> DemoBoard:
        """The subitems board of ``board``, added to the workspace on first use."""
        existing = self._boards.get(subitems_board_id(board.id))
        if existing is not None:
            return existing
        subitems = DemoBoard(
            id=subitems_board_id(board.id),
            name=f"Subitems of {board.name}",
            description="",
            workspace_id=board.workspace_id,
            project=board.project,
            columns=[
                DemoColumn("person", "Owner", "people"),
                DemoColumn("status", "Status", "status", dict(STATUS_LABELS)),
                DemoColumn("date0", "Date", "date"),
            ],
            groups=[DemoGroup("topics", "Subitems", "#579bfc", "65536")],
            board_kind=board.board_kind,
            type="sub_items_board",
        )
        self.boards.append(subitems)
        self._boards[subitems.id] = subitems
        return subitems

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
            cells[column_id] = parse_cell(
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
