"""The resolvers of ``Board``, ``Group``, ``Column``, ``Item`` and ``User`` fields.

Fields listed nowhere read the attribute or key of the same name from their parent's
object; when it has none they answer what monday answers when there is nothing:
:data:`NOTHING` for the non-null ones it names, ``[]`` for lists, else null (see
:func:`.schema.build_sandbox_schema`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from dataworkflows.sandboxes.monday.demo_data import DemoBoard, DemoColumn, DemoItem
from dataworkflows.sandboxes.monday.paging import (
    GroupView,
    Info,
    Scope,
    check_limit,
    cursor_error,
    items_page,
)
from dataworkflows.sandboxes.monday.resolvers import workspace_of
from dataworkflows.sandboxes.monday.views import (
    ACCOUNT_SLUG,
    ColumnValueView,
    column_revision,
    column_value_view,
    demo_account,
    iso_utc,
)
from dataworkflows.sandboxes.world import DemoUser

__all__ = ["FIELD_RESOLVERS", "NOTHING"]

_BASE_URL: Final = f"https://{ACCOUNT_SLUG}.monday.com"

_SERVED_VERSION: Final = {"display_name": "Current", "kind": "current", "value": "2025-07"}
"""The one API version the sandbox serves (the product's pinned MONDAY_API_VERSION)."""

NOTHING: Final[Mapping[tuple[str, str], object]] = {
    ("Query", "version"): _SERVED_VERSION,
    ("Query", "versions"): (_SERVED_VERSION,),
    ("Board", "permissions"): "everyone",
    ("Column", "archived"): False,
    ("Group", "archived"): False,
    ("Group", "deleted"): False,
    ("User", "enabled"): True,
    ("User", "is_guest"): False,
    ("User", "is_pending"): False,
    ("User", "is_verified"): True,
    ("User", "is_view_only"): False,
}
"""What a field the demo data does not carry answers, where null or [] would not do."""


def _me(info: Info) -> DemoUser:
    return info.context.workspace.me


def _page(
    info: Info, board: DemoBoard, scope: Scope, limit: int, cursor: str | None
) -> dict[str, Any]:
    check_limit(limit)
    after = None
    if cursor is not None:
        cursor_scope, after = info.context.decode_cursor(cursor)
        if cursor_scope != scope.encode():
            raise cursor_error(f"The cursor belongs to another page than {scope.encode()}")
    return items_page(info.context, board, scope, after, limit)


def _params(query_params: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """``query_params`` as JSON data, without the parts that change nothing."""
    if not query_params:
        return None
    kept = {k: v for k, v in query_params.items() if v not in (None, [], "and")}
    return kept or None


# -- Board -------------------------------------------------------------------------------


def _board_columns(
    board: DemoBoard,
    _info: Info,
    *,
    ids: list[str | None] | None = None,
    types: list[str] | None = None,
) -> list[DemoColumn]:
    columns = board.columns
    if ids is not None:
        columns = [c for c in columns if c.id in ids]
    if types is not None:
        columns = [c for c in columns if c.type in types]
    return columns


def _board_groups(
    board: DemoBoard, _info: Info, *, ids: list[str | None] | None = None
) -> list[GroupView]:
    groups = board.groups if ids is None else [g for g in board.groups if g.id in ids]
    return [GroupView.of(g, board.id) for g in groups]


def _board_items_page(
    board: DemoBoard,
    info: Info,
    *,
    limit: int = 25,
    cursor: str | None = None,
    query_params: Mapping[str, Any] | None = None,
) -> Any:
    return _page(info, board, Scope(board.id, params=_params(query_params)), limit, cursor)


def _board_top_group(board: DemoBoard, _info: Info) -> GroupView:
    return GroupView.of(board.groups[0], board.id)


def _board_updated_at(board: DemoBoard, _info: Info) -> str | None:
    return iso_utc(max(i.updated_at for i in board.items)) if board.items else None


def _board_url(board: DemoBoard, _info: Info) -> str:
    return f"{_BASE_URL}/boards/{board.id}"


def _board_creator(_board: DemoBoard, info: Info) -> DemoUser:
    return _me(info)


def _board_people(_board: DemoBoard, info: Info) -> list[DemoUser]:
    return [_me(info)]


def _board_workspace(board: DemoBoard, info: Info) -> dict[str, Any] | None:
    return workspace_of(info, board.workspace_id)


# -- Group -------------------------------------------------------------------------------


def _group_items_page(
    group: GroupView,
    info: Info,
    *,
    limit: int = 25,
    cursor: str | None = None,
    query_params: Mapping[str, Any] | None = None,
) -> Any:
    board = info.context.workspace.board(group.board_id)
    if board is None:
        return {"cursor": None, "items": []}
    scope = Scope(board.id, group_id=group.id, params=_params(query_params))
    return _page(info, board, scope, limit, cursor)


# -- Item --------------------------------------------------------------------------------


def _item_board(item: DemoItem, info: Info) -> DemoBoard | None:
    return info.context.workspace.board(item.board_id)


def _item_group(item: DemoItem, info: Info) -> GroupView | None:
    board = info.context.workspace.board(item.board_id)
    group = board.group(item.group_id) if board is not None else None
    return GroupView.of(group, item.board_id) if group is not None else None


def _item_column_values(
    item: DemoItem,
    info: Info,
    *,
    ids: list[str] | None = None,
    types: list[str] | None = None,
) -> list[ColumnValueView]:
    workspace = info.context.workspace
    board = workspace.board(item.board_id)
    if board is None:
        return []
    columns = board.columns if ids is None else [c for c in board.columns if c.id in ids]
    if types is not None:
        columns = [c for c in columns if c.type in types]
    users = workspace.users_by_id
    return [column_value_view(c, item.cells.get(c.id), users) for c in columns]


def _item_subitems(item: DemoItem, info: Info) -> list[DemoItem]:
    return info.context.workspace.subitems(item)


def _item_parent_item(item: DemoItem, info: Info) -> DemoItem | None:
    if item.parent_item_id is None:
        return None
    return info.context.workspace.item(item.parent_item_id)


def _item_created_at(item: DemoItem, _info: Info) -> str:
    return iso_utc(item.created_at)


def _item_updated_at(item: DemoItem, _info: Info) -> str:
    return iso_utc(item.updated_at)


def _item_creator(_item: DemoItem, info: Info) -> DemoUser:
    return _me(info)


def _item_creator_id(_item: DemoItem, info: Info) -> str:
    return _me(info).id


def _item_email(item: DemoItem, _info: Info) -> str:
    return f"{ACCOUNT_SLUG}-pulse-{item.id}@sandbox.monday.invalid"


def _item_relative_link(item: DemoItem, _info: Info) -> str:
    return f"/boards/{item.board_id}/pulses/{item.id}"


def _item_url(item: DemoItem, _info: Info) -> str:
    return f"{_BASE_URL}/boards/{item.board_id}/pulses/{item.id}"


# -- Column and User ---------------------------------------------------------------------


def _column_revision(column: DemoColumn, _info: Info) -> str:
    return column_revision(column)


def _user_account(_user: DemoUser, info: Info) -> dict[str, Any]:
    return demo_account(len(info.context.workspace.users))


def _user_is_admin(user: DemoUser, info: Info) -> bool:
    return user.id == _me(info).id


def _user_url(user: DemoUser, _info: Info) -> str:
    return f"{_BASE_URL}/users/{user.id}"


FIELD_RESOLVERS: Final[Mapping[str, Mapping[str, Callable[..., Any]]]] = {
    "Board": {
        "columns": _board_columns,
        "creator": _board_creator,
        "groups": _board_groups,
        "items_page": _board_items_page,
        "owners": _board_people,
        "subscribers": _board_people,
        "top_group": _board_top_group,
        "updated_at": _board_updated_at,
        "url": _board_url,
        "workspace": _board_workspace,
    },
    "Group": {"items_page": _group_items_page},
    "Column": {"revision": _column_revision},
    "Item": {
        "board": _item_board,
        "group": _item_group,
        "column_values": _item_column_values,
        "subitems": _item_subitems,
        "parent_item": _item_parent_item,
        "created_at": _item_created_at,
        "updated_at": _item_updated_at,
        "creator": _item_creator,
        "creator_id": _item_creator_id,
        "email": _item_email,
        "relative_link": _item_relative_link,
        "url": _item_url,
    },
    "User": {"account": _user_account, "is_admin": _user_is_admin, "url": _user_url},
}
"""Resolvers of the object types, by type and field."""
