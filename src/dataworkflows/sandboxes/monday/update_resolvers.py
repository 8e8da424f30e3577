"""The resolvers of updates: ``create_update``, ``delete_update`` and the lists of them.

``Query.updates``, ``Board.updates`` and ``Item.updates`` list the updates of the
account, a board or an item newest first, ``limit``/``page`` picking a page (replies
only in their parent's ``replies``). ``create_update`` answers monday's
``ResourceNotFoundException`` for an unknown item or parent update, as ``create_item``
does for an unknown board; ``delete_update`` does for an unknown update. The store is
:class:`~.updates.UpdateLog`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from dataworkflows.sandboxes.monday.demo_data import DemoBoard, DemoItem, ResourceNotFound
from dataworkflows.sandboxes.monday.paging import Info, api_error, page_of
from dataworkflows.sandboxes.monday.resolvers import existing_item, sandbox_of, write_error
from dataworkflows.sandboxes.monday.updates import DemoUpdate
from dataworkflows.sandboxes.monday.views import iso_utc
from dataworkflows.sandboxes.world import DemoUser

__all__ = ["UPDATE_RESOLVERS"]


def _listed(
    info: Info,
    ids: list[str] | None,
    limit: int | None,
    page: int | None,
    *,
    item_id: str | None = None,
    board_id: str | None = None,
) -> list[DemoUpdate]:
    log = sandbox_of(info).workspace.updates
    wanted = set(ids) if ids is not None else None
    return page_of(log.listed(item_id=item_id, board_id=board_id, ids=wanted), limit, page)


def _query_updates(
    _root: object,
    info: Info,
    *,
    ids: list[str] | None = None,
    limit: int = 25,
    page: int = 1,
) -> list[DemoUpdate]:
    return _listed(info, ids, limit, page)


def _board_updates(
    board: DemoBoard,
    info: Info,
    *,
    ids: list[str] | None = None,
    limit: int = 25,
    page: int = 1,
) -> list[DemoUpdate]:
    return _listed(info, ids, limit, page, board_id=board.id)


def _item_updates(
    item: DemoItem,
    info: Info,
    *,
    ids: list[str] | None = None,
    limit: int = 25,
    page: int = 1,
) -> list[DemoUpdate]:
    return _listed(info, ids, limit, page, item_id=item.id)


def _mutation_create_update(
    _root: object,
    info: Info,
    *,
    body: str,
    item_id: str | None = None,
    parent_id: str | None = None,
) -> DemoUpdate:
    sandbox = sandbox_of(info)
    workspace = sandbox.workspace
    if parent_id is None and item_id is None:
        raise api_error(
            "create_update needs an item_id, or a parent_id to reply to",
            "InvalidArgumentException",
        )
    if parent_id is None:
        item = existing_item(info, item_id)
        item_id, board_id = item.id, item.board_id
    else:
        item_id, board_id = "", ""  # a reply takes its parent's item
    try:
        return workspace.updates.add(
            body=body,
            item_id=item_id,
            board_id=board_id,
            creator_id=workspace.me.id,
            now=sandbox.now(),
            parent_id=parent_id,
        )
    except ResourceNotFound as exc:
        raise write_error(exc) from None


def _mutation_delete_update(_root: object, info: Info, *, id: str) -> DemoUpdate:
    try:
        return sandbox_of(info).workspace.updates.delete(id)
    except ResourceNotFound as exc:
        raise write_error(exc) from None


def _created_at(update: DemoUpdate, _info: Info) -> str:
    return iso_utc(update.created_at)


def _updated_at(update: DemoUpdate, _info: Info) -> str:
    return iso_utc(update.updated_at)


def _creator(update: DemoUpdate, info: Info) -> DemoUser | None:
    return sandbox_of(info).workspace.user(update.creator_id)


def _update_item(update: DemoUpdate, info: Info) -> DemoItem | None:
    return sandbox_of(info).workspace.item(update.item_id)


_UPDATE_FIELDS: Final[Mapping[str, Callable[..., Any]]] = {
    "created_at": _created_at,
    "updated_at": _updated_at,
    "edited_at": _updated_at,
    "creator": _creator,
}

UPDATE_RESOLVERS: Final[Mapping[str, Mapping[str, Callable[..., Any]]]] = {
    "Query": {"updates": _query_updates},
    "Mutation": {
        "create_update": _mutation_create_update,
        "delete_update": _mutation_delete_update,
    },
    "Board": {"updates": _board_updates},
    "Item": {"updates": _item_updates},
    "Update": {**_UPDATE_FIELDS, "item": _update_item},
    "Reply": _UPDATE_FIELDS,
}
"""Resolvers of the update fields, by type and field (joined with the others in :mod:`.schema`)."""
