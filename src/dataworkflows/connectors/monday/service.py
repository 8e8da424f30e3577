"""The Monday connector's actions, over the Monday port.

``monday.list_boards``, ``monday.list_items``, ``monday.get_item``,
``monday.create_item``, ``monday.update_item``, ``monday.create_webhook``,
``monday.delete_webhook``; monday's errors become the connector
API's typed errors here. Served in-process by the engine (``dev``) or as
``dataworkflows serve connector monday`` (which also keeps the spec's
``GET /v1/items/{board_id}``).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

from dataworkflows.connectors.monday.port import (
    Board,
    Item,
    MondayCursorExpired,
    MondayPort,
    Webhook,
    WebhookEvent,
)
from dataworkflows.connectors.toolkit import RecentResults
from dataworkflows.contracts import ActionFailed
from dataworkflows.runtime.actions import ActionCall, ActionSet

__all__ = ["ItemList", "list_board_items", "monday_actions"]

T = TypeVar("T")
BoardId = Annotated[str, msgspec.Meta(pattern=r"^\d+$", description="A board id (digits)")]
ItemId = Annotated[str, msgspec.Meta(pattern=r"^\d+$", description="An item id (digits)")]


class ListBoardsInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which boards to list."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    workspace_ids: list[str] | None = None


class BoardList(msgspec.Struct, kw_only=True):
    """Boards with their groups and columns."""

    boards: list[Board]


class ListItemsInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Whose items to read, and how many."""

    board_id: BoardId
    limit: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Stop after this many items (default: all)."""
    page_size: Annotated[int, msgspec.Meta(ge=1, le=500)] = 500
    item_ids: Annotated[list[ItemId], msgspec.Meta(max_length=100)] | None = None
    """Only these items of the board (those on another board, or gone, are left out)."""


class ItemList(msgspec.Struct, kw_only=True):
    """A board's items, each with its group and every column value."""

    board_id: str
    count: int
    items: list[Item]


class GetItemInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which item."""

    item_id: ItemId


class ItemOutput(msgspec.Struct, kw_only=True):
    """One item."""

    item: Item


class CreateItemInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new item: its name, group and column values in monday's shapes, by column id."""

    board_id: BoardId
    item_name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    group_id: str | None = None
    column_values: dict[str, Any] | None = None


class UpdateItemInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Column values to change, by column id, in monday's shapes (null clears)."""

    board_id: BoardId
    item_id: ItemId
    column_values: dict[str, Any]


class CreateWebhookInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where monday should POST a board's events, and which events."""

    board_id: BoardId
    url: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^https?://\S+$",
            max_length=2000,
            description="Where to POST (it must answer monday's challenge)",
        ),
    ]
    event: WebhookEvent = "change_column_value"
    config: dict[str, Any] | None = None
    """``{"columnId": ...}`` for change_specific_column_value, ``{"groupId": ...}`` for
    item_moved_to_specific_group."""


class DeleteWebhookInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which webhook."""

    webhook_id: Annotated[str, msgspec.Meta(pattern=r"^\d+$")]


class WebhookOutput(msgspec.Struct, kw_only=True):
    """A webhook."""

    webhook: Webhook


async def list_board_items(
    port: MondayPort,
    board_id: str,
    *,
    limit: int | None = None,
    page_size: int = 500,
    item_ids: list[str] | None = None,
) -> ItemList:
    """Every item of a board (or the first ``limit``, or those of ``item_ids``),
    following cursors.

    A cursor that expires mid-way (they live 60 minutes) restarts the listing once.
    """
    if item_ids is not None:
        found = [await port.get_item(item_id) for item_id in dict.fromkeys(item_ids)]
        chosen = [i for i in found if i is not None and i.board_id == board_id][:limit]
        return ItemList(board_id=board_id, count=len(chosen), items=chosen)
    for restart in (False, True):
        items: list[Item] = []
        try:
            async for page in port.item_pages(board_id, page_size=page_size):
                items.extend(page)
                if limit is not None and len(items) >= limit:
                    items = items[:limit]
                    break
        except MondayCursorExpired:
            if restart:
                raise
            continue
        return ItemList(board_id=board_id, count=len(items), items=items)
    raise AssertionError("unreachable")  # pragma: no cover


def monday_actions(port: MondayPort) -> ActionSet:
    """The ``monday`` connector's actions over ``port``."""
    monday = ActionSet("monday", description="Boards and items of monday.com.")
    created: RecentResults[Item] = RecentResults()

    @monday.action(
        "list_boards", effect="read", description="Boards with their groups and columns."
    )
    async def list_boards(data: ListBoardsInput, call: ActionCall) -> BoardList:
        boards = await port.list_boards(limit=data.limit, workspace_ids=data.workspace_ids)
        return BoardList(boards=boards)

    @monday.action(
        "list_items",
        effect="read",
        description="A board's items (all, or the first `limit`), each with its group and "
        "every column as id, title, type, text and parsed value; follows cursors at up "
        "to 500 items per page.",
    )
    async def list_items(data: ListItemsInput, call: ActionCall) -> ItemList:
        return await list_board_items(
            port,
            data.board_id,
            limit=data.limit,
            page_size=data.page_size,
            item_ids=data.item_ids,
        )

    @monday.action("get_item", effect="read", description="One item by id.")
    async def get_item(data: GetItemInput, call: ActionCall) -> ItemOutput:
        item = await port.get_item(data.item_id)
        if item is None:
            raise ActionFailed.of("not_found", f"item {data.item_id} does not exist")
        return ItemOutput(item=item)

    @monday.action(
        "create_item",
        effect="write",
        description="Create an item; `column_values` by column id in monday's shapes "
        '(status `{"label": "Done"}`, date `{"date": "2024-06-15"}`, ...).',
    )
    async def create_item(data: CreateItemInput, call: ActionCall) -> ItemOutput:
        key = call.idempotency_key
        if key is not None and (done := created.get(key)) is not None:
            return ItemOutput(item=done)
        item = await port.create_item(
            data.board_id,
            data.item_name,
            group_id=data.group_id,
            column_values=data.column_values,
        )
        if key is not None:
            created.put(key, item)
        return ItemOutput(item=item)

    @monday.action(
        "update_item",
        effect="write",
        description="Change several column values of an item at once "
        "(change_multiple_column_values); null clears a column.",
    )
    async def update_item(data: UpdateItemInput, call: ActionCall) -> ItemOutput:
        item = await port.update_item(data.board_id, data.item_id, data.column_values)
        return ItemOutput(item=item)

    hooks: RecentResults[Webhook] = RecentResults()

    @monday.action(
        "create_webhook",
        effect="write",
        description="Register a webhook on a board: monday POSTs the chosen `event` "
        "there (after checking that `url` answers its challenge). Point it at an engine "
        "hook verified as `monday`.",
    )
    async def create_webhook(data: CreateWebhookInput, call: ActionCall) -> WebhookOutput:
        key = call.idempotency_key
        if key is not None and (done := hooks.get(key)) is not None:
            return WebhookOutput(webhook=done)
        webhook = await port.create_webhook(data.board_id, data.url, data.event, config=data.config)
        if key is not None:
            hooks.put(key, webhook)
        return WebhookOutput(webhook=webhook)

    @monday.action("delete_webhook", effect="write", description="Remove a webhook.")
    async def delete_webhook(data: DeleteWebhookInput, call: ActionCall) -> WebhookOutput:
        return WebhookOutput(webhook=await port.delete_webhook(data.webhook_id))

    return monday
