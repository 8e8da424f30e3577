"""The resolvers of the sandbox's ``Query`` and ``Mutation`` types.

Each reads or changes the :class:`~.demo_data.DemoWorkspace` of the sandbox being
served (the execution context), and refuses as monday does: application errors carry
their ``extensions.code`` (``InvalidArgumentException``, ``CursorException``,
``ColumnValueException``, ``ResourceNotFoundException``) and are answered with HTTP 200.
The resolvers of the other types are in :mod:`.fields`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from graphql import GraphQLError

from dataworkflows.sandboxes.monday.demo_data import (
    DemoBoard,
    DemoItem,
    InvalidColumnValue,
    ResourceNotFound,
)
from dataworkflows.sandboxes.monday.paging import (
    MAX_PAGE_LIMIT,
    Info,
    Scope,
    api_error,
    check_limit,
    cursor_error,
    items_page,
    page_of,
)
from dataworkflows.sandboxes.monday.views import demo_account
from dataworkflows.sandboxes.monday.webhooks import (
    cells_changed,
    item_created,
    item_moved,
    item_state_changed,
)
from dataworkflows.sandboxes.world import DemoUser

if TYPE_CHECKING:
    from dataworkflows.sandboxes.monday.app import MondaySandbox

__all__ = [
    "MAX_PAGE_LIMIT",
    "ROOT_RESOLVERS",
    "Info",
    "cursor_error",
    "existing_item",
    "sandbox_of",
    "write_error",
]


def sandbox_of(info: Info) -> MondaySandbox:
    """The sandbox being served (the execution context)."""
    return info.context


def _decode_json(raw: object, argument: str) -> object:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise api_error(
            f"{argument} is not valid JSON: {exc}",
            "ColumnValueException",
            error_data={argument: raw},
        ) from None


def _decode_column_values(raw: object) -> Mapping[str, object]:
    if raw is None:
        return {}
    value = _decode_json(raw, "column_values")
    if not isinstance(value, dict):
        raise api_error(
            "column_values must be a JSON object keyed by column id",
            "ColumnValueException",
            error_data={"column_values": raw},
        )
    return value


def write_error(exc: InvalidColumnValue | ResourceNotFound) -> GraphQLError:
    """The error monday answers for a refused column value or an unknown resource."""
    if isinstance(exc, ResourceNotFound):
        return api_error(
            str(exc),
            "ResourceNotFoundException",
            error_data={"resource_type": exc.kind, "resource_id": exc.resource_id},
        )
    return api_error(
        exc.message,
        "ColumnValueException",
        error_data={"column_id": exc.column_id, "column_type": exc.column_type},
    )


# -- Query -------------------------------------------------------------------------------


def _query_boards(
    _root: object,
    info: Info,
    *,
    ids: list[str] | None = None,
    board_kind: str | None = None,
    limit: int = 25,
    page: int = 1,
    state: str = "active",
    order_by: str | None = None,
    workspace_ids: list[str | None] | None = None,
) -> list[DemoBoard]:
    if limit < 1 or page < 1:
        raise api_error("limit and page must be positive", "InvalidArgumentException")
    boards = sandbox_of(info).workspace.boards
    if ids is not None:
        wanted = set(ids)
        boards = [b for b in boards if b.id in wanted]
    if workspace_ids is not None:
        spaces = {w for w in workspace_ids if w is not None}
        boards = [b for b in boards if b.workspace_id in spaces]
    if board_kind is not None:
        boards = [b for b in boards if b.board_kind == board_kind]
    if state != "all":
        boards = [b for b in boards if b.state == state]
    return boards[(page - 1) * limit : page * limit]


def _query_items(
    _root: object,
    info: Info,
    *,
    ids: list[str] | None = None,
    limit: int = 25,
    page: int = 1,
    newest_first: bool | None = None,
    exclude_nonactive: bool | None = None,
) -> list[DemoItem]:
    workspace = sandbox_of(info).workspace
    found = (workspace.item(i) for i in dict.fromkeys(ids or ()))
    items = [item for item in found if item is not None]
    if exclude_nonactive:
        items = [i for i in items if i.state == "active"]
    items.sort(key=lambda i: int(i.id), reverse=bool(newest_first))
    return page_of(items, limit, page)


def _query_next_items_page(_root: object, info: Info, *, cursor: str, limit: int = 25) -> Any:
    check_limit(limit)
    sandbox = sandbox_of(info)
    scope_text, after = sandbox.decode_cursor(cursor)
    scope = Scope.decode(scope_text)
    board = sandbox.workspace.board(scope.board_id)
    if board is None:
        raise cursor_error("The cursor's board no longer exists")
    return items_page(sandbox, board, scope, after, limit)


def _query_items_page_by_column_values(
    _root: object,
    info: Info,
    *,
    board_id: str,
    columns: list[Mapping[str, Any]] | None = None,
    cursor: str | None = None,
    limit: int = 25,
) -> Any:
    check_limit(limit)
    sandbox = sandbox_of(info)
    board = sandbox.workspace.board(board_id)
    if board is None:
        raise write_error(ResourceNotFound("board", board_id))
    if cursor is None:
        return items_page(sandbox, board, Scope.matching(board.id, columns), None, limit)
    scope_text, after = sandbox.decode_cursor(cursor)
    scope = Scope.decode(scope_text)
    if scope.board_id != board.id or scope.rules is None:
        raise cursor_error(f"The cursor does not belong to this query on board {board.id}")
    return items_page(sandbox, board, scope, after, limit)


def _query_complexity(_root: object, info: Info) -> Any:
    return sandbox_of(info).complexity_reading


def _query_me(_root: object, info: Info) -> DemoUser:
    return sandbox_of(info).workspace.me


def _query_users(
    _root: object,
    info: Info,
    *,
    ids: list[str] | None = None,
    kind: str | None = None,
    newest_first: bool | None = None,
    limit: int | None = None,
    page: int | None = None,
    emails: list[str | None] | None = None,
    name: str | None = None,
    non_active: bool | None = None,
) -> list[DemoUser]:
    users = list(sandbox_of(info).workspace.users)
    if ids is not None:
        wanted = set(ids)
        users = [u for u in users if u.id in wanted]
    if emails is not None:
        addresses = {e.lower() for e in emails if e}
        users = [u for u in users if u.email.lower() in addresses]
    if name:
        users = [u for u in users if name.lower() in u.name.lower()]
    if kind == "guests" or non_active:
        users = []  # the demo account has no guests and no deactivated users
    if newest_first:
        users.reverse()
    return page_of(users, limit, page)


def _query_account(_root: object, info: Info) -> Any:
    return demo_account(len(sandbox_of(info).workspace.users))


def _query_nothing(_root: object, _info: Info, **_arguments: Any) -> list[Any]:
    # No teams or tags exist in the demo account: monday answers [].
    return []


def _query_workspaces(
    _root: object,
    info: Info,
    *,
    ids: list[str] | None = None,
    kind: str | None = None,
    limit: int = 25,
    page: int = 1,
    state: str = "active",
    order_by: str | None = None,
) -> list[dict[str, Any]]:
    workspace = sandbox_of(info).workspace
    spaces = [workspace_of(info, p.workspace_id) for p in workspace.projects]
    found = [s for s in spaces if s is not None]
    if ids is not None:
        found = [s for s in found if s["id"] in set(ids)]
    if kind is not None:
        found = [s for s in found if s["kind"] == kind]
    if state not in ("all", "active"):
        found = []
    return page_of(found, limit, page)


def workspace_of(info: Info, workspace_id: str | None) -> dict[str, Any] | None:
    """The ``Workspace`` of a demo project, or None."""
    workspace = sandbox_of(info).workspace
    project = next((p for p in workspace.projects if p.workspace_id == workspace_id), None)
    if project is None:
        return None
    return {
        "id": project.workspace_id,
        "name": project.name,
        "kind": "open",
        "description": f"The {project.name} project.",
        "state": "active",
        "is_default_workspace": False,
        "created_at": None,
    }


# -- Mutation ----------------------------------------------------------------------------


def _mutation_create_item(
    _root: object,
    info: Info,
    *,
    board_id: str,
    item_name: str,
    group_id: str | None = None,
    column_values: object = None,
    create_labels_if_missing: bool | None = None,
    position_relative_method: str | None = None,
    relative_to: str | None = None,
) -> DemoItem:
    sandbox = sandbox_of(info)
    values = _decode_column_values(column_values)
    try:
        item = sandbox.workspace.create_item(
            board_id=board_id,
            name=item_name,
            group_id=group_id,
            column_values=values,
            create_labels_if_missing=bool(create_labels_if_missing),
            now=sandbox.now(),
        )
    except (InvalidColumnValue, ResourceNotFound) as exc:
        raise write_error(exc) from None
    item_created(sandbox.hub, _board_of(info, item), item)
    return item


def _mutation_create_subitem(
    _root: object,
    info: Info,
    *,
    parent_item_id: str,
    item_name: str,
    column_values: object = None,
    create_labels_if_missing: bool | None = None,
) -> DemoItem:
    sandbox = sandbox_of(info)
    values = _decode_column_values(column_values)
    parent = existing_item(info, parent_item_id)
    if parent.parent_item_id is not None:
        raise api_error(
            f"Item {parent_item_id} is a subitem: subitems cannot have subitems",
            "InvalidArgumentException",
            error_data={"parent_item_id": parent_item_id},
        )
    try:
        return sandbox.workspace.create_subitem(
            parent_item_id=parent.id,
            name=item_name,
            column_values=values,
            create_labels_if_missing=bool(create_labels_if_missing),
            now=sandbox.now(),
        )
    except (InvalidColumnValue, ResourceNotFound) as exc:
        raise write_error(exc) from None


def _change(
    info: Info,
    board_id: str,
    item_id: str | None,
    values: Mapping[str, object],
    create_labels_if_missing: bool | None,
) -> DemoItem:
    sandbox = sandbox_of(info)
    existing = sandbox.workspace.item(item_id) if item_id is not None else None
    before = dict(existing.cells) if existing is not None else {}
    try:
        item = sandbox.workspace.change_column_values(
            board_id=board_id,
            item_id=item_id,
            column_values=values,
            create_labels_if_missing=bool(create_labels_if_missing),
            now=sandbox.now(),
        )
    except (InvalidColumnValue, ResourceNotFound) as exc:
        raise write_error(exc) from None
    cells_changed(sandbox.hub, _board_of(info, item), item, before)
    return item


def _board_of(info: Info, item: DemoItem) -> DemoBoard:
    board = sandbox_of(info).workspace.board(item.board_id)
    assert board is not None, item.board_id
    return board


def _mutation_change_multiple_column_values(
    _root: object,
    info: Info,
    *,
    board_id: str,
    column_values: object,
    item_id: str | None = None,
    create_labels_if_missing: bool | None = None,
) -> DemoItem:
    values = _decode_column_values(column_values)
    return _change(info, board_id, item_id, values, create_labels_if_missing)


def _mutation_change_column_value(
    _root: object,
    info: Info,
    *,
    board_id: str,
    column_id: str,
    value: object,
    item_id: str | None = None,
    create_labels_if_missing: bool | None = None,
) -> DemoItem:
    decoded = _decode_json(value, "value")
    return _change(info, board_id, item_id, {column_id: decoded}, create_labels_if_missing)


def _mutation_change_simple_column_value(
    _root: object,
    info: Info,
    *,
    board_id: str,
    column_id: str,
    value: str | None = None,
    item_id: str | None = None,
    create_labels_if_missing: bool | None = None,
) -> DemoItem:
    return _change(info, board_id, item_id, {column_id: value}, create_labels_if_missing)


def existing_item(info: Info, item_id: str | None) -> DemoItem:
    """The item ``item_id``, else monday's ``ResourceNotFoundException``."""
    item = sandbox_of(info).workspace.item(item_id) if item_id is not None else None
    if item is None:
        raise write_error(ResourceNotFound("item", item_id))
    return item


def _touch(info: Info, item: DemoItem) -> DemoItem:
    stamp = sandbox_of(info).now().replace(microsecond=0)
    item.updated_at = max(stamp, item.updated_at + timedelta(seconds=1))
    return item


def _mutation_move_item_to_group(
    _root: object, info: Info, *, group_id: str, item_id: str | None = None
) -> DemoItem:
    item = existing_item(info, item_id)
    board = sandbox_of(info).workspace.board(item.board_id)
    if board is None or board.group(group_id) is None:
        raise write_error(ResourceNotFound("group", group_id))
    moved_from, item.group_id = item.group_id, group_id
    item_moved(sandbox_of(info).hub, board, item, moved_from)
    return _touch(info, item)


def _mutation_set_state(state: str) -> Callable[..., DemoItem]:
    def resolve(_root: object, info: Info, *, item_id: str | None = None) -> DemoItem:
        item = existing_item(info, item_id)
        item.state = state
        item_state_changed(sandbox_of(info).hub, _board_of(info, item), item)
        return _touch(info, item)

    return resolve


ROOT_RESOLVERS: Final[Mapping[str, Mapping[str, Callable[..., Any]]]] = {
    "Query": {
        "boards": _query_boards,
        "items": _query_items,
        "next_items_page": _query_next_items_page,
        "items_page_by_column_values": _query_items_page_by_column_values,
        "complexity": _query_complexity,
        "me": _query_me,
        "users": _query_users,
        "teams": _query_nothing,
        "account": _query_account,
        "tags": _query_nothing,
        "workspaces": _query_workspaces,
    },
    "Mutation": {
        "create_item": _mutation_create_item,
        "create_subitem": _mutation_create_subitem,
        "change_multiple_column_values": _mutation_change_multiple_column_values,
        "change_column_value": _mutation_change_column_value,
        "change_simple_column_value": _mutation_change_simple_column_value,
        "move_item_to_group": _mutation_move_item_to_group,
        "archive_item": _mutation_set_state("archived"),
        "delete_item": _mutation_set_state("deleted"),
    },
}
"""Resolvers of ``Query`` and ``Mutation``, by field."""
