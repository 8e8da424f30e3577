"""The resolvers behind the sandbox's GraphQL schema, by type and field.

Each reads or changes the :class:`~.demo_data.DemoWorkspace` of the sandbox being
served (the execution context), and refuses as monday does: application errors carry
their ``extensions.code`` (``InvalidArgumentException``, ``CursorException``,
``ColumnValueException``, ``ResourceNotFoundException``) and are answered with HTTP 200.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from graphql import GraphQLError, GraphQLResolveInfo

from dataworkflows.sandboxes.monday.demo_data import (
    Cell,
    DateCell,
    DemoBoard,
    DemoColumn,
    DemoItem,
    InvalidColumnValue,
    MirrorCell,
    NumbersCell,
    PeopleCell,
    ResourceNotFound,
    StatusCell,
    cell_text,
    cell_value,
)
from dataworkflows.sandboxes.world import DemoUser

if TYPE_CHECKING:
    from dataworkflows.sandboxes.monday.app import MondaySandbox

__all__ = [
    "MAX_PAGE_LIMIT",
    "RESOLVERS",
    "ColumnValueView",
    "Info",
    "cursor_error",
]

Info = GraphQLResolveInfo["MondaySandbox"]
"""What resolvers receive; the context is the sandbox being served."""

MAX_PAGE_LIMIT: Final = 500
"""monday's largest ``limit`` for ``items_page`` and ``next_items_page``."""


def _api_error(
    message: str, code: str, *, error_data: Mapping[str, Any] | None = None
) -> GraphQLError:
    """An application error as monday reports it: HTTP 200, code in ``extensions``."""
    return GraphQLError(
        message,
        extensions={"code": code, "status_code": 200, "error_data": dict(error_data or {})},
    )


def cursor_error(message: str) -> GraphQLError:
    return _api_error(message, "CursorException")


def _sandbox(info: Info) -> MondaySandbox:
    return info.context


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise _api_error(
            f"limit must be between 1 and {MAX_PAGE_LIMIT}, got {limit}",
            "InvalidArgumentException",
            error_data={"argument": "limit", "max": MAX_PAGE_LIMIT},
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    date: str | None = None
    time: str | None = None
    persons_and_teams: list[dict[str, str]] | None = None
    number: float | None = None
    display_value: str = ""


def _column_value_view(
    column: DemoColumn, cell: Cell | None, users: Mapping[str, DemoUser]
) -> ColumnValueView:
    view = ColumnValueView(
        id=column.id,
        column=column,
        type=column.type,
        text=cell_text(column, cell, users),
        value=cell_value(cell),
    )
    match cell:
        case StatusCell(index=index):
            return _with(view, label=view.text, index=index)
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


def _items_page(sandbox: MondaySandbox, board: DemoBoard, after: str | None, limit: int) -> Any:
    items, more = board.items_after(after, limit)
    cursor = sandbox.encode_cursor(board.id, items[-1].id) if more and items else None
    return {"cursor": cursor, "items": items}


def _decode_column_values(raw: object) -> Mapping[str, object]:
    if raw is None:
        return {}
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise _api_error(
                f"column_values is not valid JSON: {exc}",
                "ColumnValueException",
                error_data={"column_values": raw},
            ) from None
    if not isinstance(value, dict):
        raise _api_error(
            "column_values must be a JSON object keyed by column id",
            "ColumnValueException",
            error_data={"column_values": raw},
        )
    return value


def _write_error(exc: InvalidColumnValue | ResourceNotFound) -> GraphQLError:
    if isinstance(exc, ResourceNotFound):
        return _api_error(
            str(exc),
            "ResourceNotFoundException",
            error_data={"resource_type": exc.kind, "resource_id": exc.resource_id},
        )
    return _api_error(
        exc.message,
        "ColumnValueException",
        error_data={"column_id": exc.column_id, "column_type": exc.column_type},
    )


# Resolvers, by type and field. Fields not listed read the attribute or key of the same
# name from the object their parent returned.


def _query_boards(
    _root: object,
    info: Info,
    *,
    ids: list[str] | None = None,
    limit: int = 25,
    page: int = 1,
    workspace_ids: list[str | None] | None = None,
) -> list[DemoBoard]:
    if limit < 1 or page < 1:
        raise _api_error(
            "limit and page must be positive", "InvalidArgumentException", error_data={}
        )
    boards = _sandbox(info).workspace.boards
    if ids is not None:
        wanted = set(ids)
        boards = [b for b in boards if b.id in wanted]
    if workspace_ids is not None:
        spaces = {w for w in workspace_ids if w is not None}
        boards = [b for b in boards if b.workspace_id in spaces]
    return boards[(page - 1) * limit : page * limit]


def _query_items(_root: object, info: Info, *, ids: list[str], limit: int = 25) -> list[DemoItem]:
    workspace = _sandbox(info).workspace
    found = (workspace.item(i) for i in dict.fromkeys(ids))
    return [item for item in found if item is not None][: max(limit, 0)]


def _query_next_items_page(_root: object, info: Info, *, cursor: str, limit: int = 25) -> Any:
    _check_limit(limit)
    sandbox = _sandbox(info)
    board_id, after = sandbox.decode_cursor(cursor)
    board = sandbox.workspace.board(board_id)
    if board is None:
        raise cursor_error("The cursor's board no longer exists")
    return _items_page(sandbox, board, after, limit)


def _query_me(_root: object, info: Info) -> DemoUser:
    return _sandbox(info).workspace.me


def _query_users(
    _root: object,
    info: Info,
    *,
    ids: list[str] | None = None,
    limit: int | None = None,
) -> list[DemoUser]:
    users = list(_sandbox(info).workspace.users)
    if ids is not None:
        wanted = set(ids)
        users = [u for u in users if u.id in wanted]
    return users if limit is None else users[: max(limit, 0)]


def _mutation_create_item(
    _root: object,
    info: Info,
    *,
    board_id: str,
    item_name: str,
    group_id: str | None = None,
    column_values: object = None,
    create_labels_if_missing: bool | None = None,
) -> DemoItem:
    sandbox = _sandbox(info)
    values = _decode_column_values(column_values)
    try:
        return sandbox.workspace.create_item(
            board_id=board_id,
            name=item_name,
            group_id=group_id,
            column_values=values,
            create_labels_if_missing=bool(create_labels_if_missing),
            now=sandbox.now(),
        )
    except (InvalidColumnValue, ResourceNotFound) as exc:
        raise _write_error(exc) from None


def _mutation_change_multiple_column_values(
    _root: object,
    info: Info,
    *,
    board_id: str,
    column_values: object,
    item_id: str | None = None,
    create_labels_if_missing: bool | None = None,
) -> DemoItem:
    sandbox = _sandbox(info)
    values = _decode_column_values(column_values)
    try:
        return sandbox.workspace.change_column_values(
            board_id=board_id,
            item_id=item_id,
            column_values=values,
            create_labels_if_missing=bool(create_labels_if_missing),
            now=sandbox.now(),
        )
    except (InvalidColumnValue, ResourceNotFound) as exc:
        raise _write_error(exc) from None


def _board_columns(
    board: DemoBoard, _info: Info, *, ids: list[str | None] | None = None
) -> list[DemoColumn]:
    if ids is None:
        return board.columns
    return [c for c in board.columns if c.id in ids]


def _board_groups(
    board: DemoBoard, _info: Info, *, ids: list[str | None] | None = None
) -> list[Any]:
    if ids is None:
        return list(board.groups)
    return [g for g in board.groups if g.id in ids]


def _board_items_page(
    board: DemoBoard, info: Info, *, limit: int = 25, cursor: str | None = None
) -> Any:
    _check_limit(limit)
    sandbox = _sandbox(info)
    after = None
    if cursor is not None:
        cursor_board, after = sandbox.decode_cursor(cursor)
        if cursor_board != board.id:
            raise cursor_error(f"The cursor belongs to another board than {board.id}")
    return _items_page(sandbox, board, after, limit)


def _item_board(item: DemoItem, info: Info) -> DemoBoard | None:
    return _sandbox(info).workspace.board(item.board_id)


def _item_group(item: DemoItem, info: Info) -> Any:
    board = _sandbox(info).workspace.board(item.board_id)
    return board.group(item.group_id) if board is not None else None


def _item_column_values(
    item: DemoItem, info: Info, *, ids: list[str] | None = None
) -> list[ColumnValueView]:
    workspace = _sandbox(info).workspace
    board = workspace.board(item.board_id)
    if board is None:
        return []
    columns = board.columns if ids is None else [c for c in board.columns if c.id in ids]
    users = workspace.users_by_id
    return [_column_value_view(c, item.cells.get(c.id), users) for c in columns]


def _item_created_at(item: DemoItem, _info: Info) -> str:
    return _iso(item.created_at)


def _item_updated_at(item: DemoItem, _info: Info) -> str:
    return _iso(item.updated_at)


RESOLVERS: Final[Mapping[str, Mapping[str, Callable[..., Any]]]] = {
    "Query": {
        "boards": _query_boards,
        "items": _query_items,
        "next_items_page": _query_next_items_page,
        "me": _query_me,
        "users": _query_users,
    },
    "Mutation": {
        "create_item": _mutation_create_item,
        "change_multiple_column_values": _mutation_change_multiple_column_values,
    },
    "Board": {
        "columns": _board_columns,
        "groups": _board_groups,
        "items_page": _board_items_page,
    },
    "Item": {
        "board": _item_board,
        "group": _item_group,
        "column_values": _item_column_values,
        "created_at": _item_created_at,
        "updated_at": _item_updated_at,
    },
}
