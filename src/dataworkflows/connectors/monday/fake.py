"""An in-memory Monday port for unit tests of code that uses the port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from dataworkflows.connectors.monday.port import (
    Board,
    ColumnValue,
    Group,
    Item,
    MondayCursorExpired,
    MondayError,
    MondayNotFound,
    Webhook,
    WebhookEvent,
)

__all__ = ["FakeMonday"]


class FakeMonday:
    """:class:`~dataworkflows.connectors.monday.port.MondayPort` over dicts.

    ``fail_next`` raises the given errors from the next calls, in order;
    ``expire_cursor_after`` makes paging fail once after that many pages.
    """

    def __init__(self) -> None:
        self.boards: dict[str, Board] = {}
        self.items: dict[str, list[Item]] = {}
        self.fail_next: list[MondayError] = []
        self.expire_cursor_after: int | None = None
        self.calls: list[str] = []
        self.webhooks: dict[str, tuple[Webhook, str]] = {}
        """Registered webhooks, by id, with their URLs."""
        self._next_id = 9_000_000_000

    def add_board(self, board: Board, items: list[Item]) -> None:
        """Add a board with its items."""
        self.boards[board.id] = board
        self.items[board.id] = list(items)

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def list_boards(
        self, *, limit: int = 50, workspace_ids: list[str] | None = None
    ) -> list[Board]:
        self._enter("list_boards")
        boards = [
            b for b in self.boards.values() if not workspace_ids or b.workspace_id in workspace_ids
        ]
        return boards[:limit]

    async def item_pages(self, board_id: str, *, page_size: int = 500) -> AsyncIterator[list[Item]]:
        self._enter("item_pages")
        if board_id not in self.items:
            raise MondayNotFound(f"board {board_id} does not exist")
        items = self.items[board_id]
        for page_number, start in enumerate(range(0, max(len(items), 1), page_size)):
            if self.expire_cursor_after is not None and page_number == self.expire_cursor_after:
                self.expire_cursor_after = None
                raise MondayCursorExpired("cursor expired", code="CursorException")
            yield items[start : start + page_size]

    async def get_item(self, item_id: str) -> Item | None:
        self._enter("get_item")
        for items in self.items.values():
            for item in items:
                if item.id == item_id:
                    return item
        return None

    async def create_item(
        self,
        board_id: str,
        name: str,
        *,
        group_id: str | None = None,
        column_values: Mapping[str, Any] | None = None,
    ) -> Item:
        self._enter("create_item")
        if board_id not in self.boards:
            raise MondayNotFound(f"board {board_id} does not exist")
        self._next_id += 1
        board = self.boards[board_id]
        group = next((g for g in board.groups if g.id == group_id), None)
        item = Item(
            id=str(self._next_id),
            name=name,
            board_id=board_id,
            group=group or (board.groups[0] if board.groups else None),
            columns=_columns(board, column_values or {}),
        )
        self.items[board_id].append(item)
        return item

    async def update_item(
        self, board_id: str, item_id: str, column_values: Mapping[str, Any]
    ) -> Item:
        self._enter("update_item")
        items = self.items.get(board_id, [])
        for index, item in enumerate(items):
            if item.id == item_id:
                columns = {**item.columns, **_columns(self.boards[board_id], column_values)}
                updated = Item(
                    id=item.id,
                    name=item.name,
                    board_id=board_id,
                    group=item.group,
                    columns=columns,
                )
                items[index] = updated
                return updated
        raise MondayNotFound(f"item {item_id} on board {board_id} does not exist")

    async def create_webhook(
        self,
        board_id: str,
        url: str,
        event: WebhookEvent,
        *,
        config: Mapping[str, Any] | None = None,
    ) -> Webhook:
        self._enter("create_webhook")
        if board_id not in self.boards:
            raise MondayNotFound(f"board {board_id} does not exist")
        self._next_id += 1
        webhook = Webhook(
            id=str(self._next_id),
            board_id=board_id,
            event=event,
            config=dict(config) if config else None,
        )
        self.webhooks[webhook.id] = (webhook, url)
        return webhook

    async def delete_webhook(self, webhook_id: str) -> Webhook:
        self._enter("delete_webhook")
        if webhook_id not in self.webhooks:
            raise MondayNotFound(f"webhook {webhook_id} does not exist")
        return self.webhooks.pop(webhook_id)[0]


def _columns(board: Board, values: Mapping[str, Any]) -> dict[str, ColumnValue]:
    titles = {c.id: (c.title, c.type) for c in board.columns}
    result = {}
    for column_id, value in values.items():
        title, kind = titles.get(column_id, (column_id, "text"))
        text = value.get("label") if isinstance(value, dict) else value
        result[column_id] = ColumnValue(
            id=column_id,
            title=title,
            type=kind,
            text=None if text is None else str(text),
            value=value,
        )
    return result


def demo_board(board_id: str = "100", *, items: int = 3) -> tuple[Board, list[Item]]:
    """A small board with a status column, for tests."""
    groups = [Group(id="todo", title="To do"), Group(id="done", title="Done")]
    board = Board(
        id=board_id,
        name=f"Board {board_id}",
        description=None,
        workspace_id="1",
        items_count=items,
        groups=groups,
        columns=[],
    )
    rows = [
        Item(
            id=f"{board_id}{n:04d}",
            name=f"Item {n}",
            board_id=board_id,
            group=groups[n % 2],
            columns={
                "status": ColumnValue(
                    id="status",
                    title="Status",
                    type="status",
                    text="Done" if n % 2 else "Working on it",
                    value={"index": 1 if n % 2 else 0},
                )
            },
        )
        for n in range(items)
    ]
    return board, rows
