"""The Monday port: what the connector needs from monday.com, in its own types.

The GraphQL client (:mod:`.client`) and the in-memory fake (:mod:`.fake`) implement
:class:`MondayPort`; the connector's actions (:mod:`.service`) see only this module.
Errors are this module's own hierarchy, so nothing above sees httpx or GraphQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, Protocol

import msgspec

from dataworkflows.contracts import upstream

__all__ = [
    "Board",
    "Column",
    "ColumnValue",
    "Group",
    "Item",
    "MondayAuthError",
    "MondayCursorExpired",
    "MondayDailyLimit",
    "MondayError",
    "MondayInvalidInput",
    "MondayNotFound",
    "MondayPort",
    "MondayRateLimited",
    "MondayUnavailable",
    "Webhook",
    "WebhookEvent",
]


class Group(msgspec.Struct, frozen=True, kw_only=True):
    """A group of a board (a section such as "This Sprint")."""

    id: str
    title: str


class Column(msgspec.Struct, frozen=True, kw_only=True):
    """A column of a board."""

    id: str
    title: str
    type: str


class ColumnValue(msgspec.Struct, frozen=True, kw_only=True):
    """One cell, normalised: ``text`` as shown in monday, ``value`` parsed from its JSON."""

    id: str
    title: str
    type: str
    text: str | None
    value: Any
    """The parsed ``value`` (monday sends a JSON string), or None when empty. Mirror
    columns carry their ``display_value`` here."""


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """An item (a row) with its group and every column value by column id."""

    id: str
    name: str
    board_id: str | None
    group: Group | None
    columns: dict[str, ColumnValue]
    created_at: str | None = None
    updated_at: str | None = None


class Board(msgspec.Struct, frozen=True, kw_only=True):
    """A board with its groups and columns."""

    id: str
    name: str
    description: str | None
    workspace_id: str | None
    items_count: int | None
    groups: list[Group]
    columns: list[Column]


WebhookEvent = Literal[
    "change_column_value",
    "change_name",
    "change_specific_column_value",
    "change_status_column_value",
    "change_subitem_column_value",
    "change_subitem_name",
    "create_column",
    "create_item",
    "create_subitem",
    "create_subitem_update",
    "create_update",
    "delete_update",
    "edit_update",
    "item_archived",
    "item_deleted",
    "item_moved_to_any_group",
    "item_moved_to_specific_group",
    "item_restored",
    "move_subitem",
    "subitem_archived",
    "subitem_deleted",
]
"""The events a monday webhook can subscribe to (``WebhookEventType``)."""


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    """A webhook registered on a board: monday POSTs its events to a URL."""

    id: str
    board_id: str
    event: str
    config: dict[str, Any] | None = None


class MondayError(upstream.UpstreamError):
    """monday.com refused or failed a request; ``code`` is monday's error code if any."""


class MondayAuthError(MondayError, upstream.AuthFailed):
    """The token is missing, invalid, or not allowed to do this."""


class MondayRateLimited(MondayError, upstream.RateLimited):
    """A rate or complexity limit: try again after ``retry_after`` seconds."""

    retry_after: float

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code, retry_after=retry_after)


class MondayDailyLimit(MondayError, upstream.RateLimited):
    """The account's daily call limit is spent; it resets at midnight UTC. Do not retry."""

    retryable = False


class MondayInvalidInput(MondayError, upstream.Invalid):
    """monday refused the request's content (bad column value, invalid argument)."""


class MondayNotFound(MondayError, upstream.NotFound):
    """The board or item does not exist (or is not visible to this token)."""


class MondayCursorExpired(MondayError):
    """A paging cursor was rejected (expired after 60 minutes, or invalid)."""


class MondayUnavailable(MondayError, upstream.Unavailable):
    """monday did not answer usefully (5xx, network, timeout, circuit open): transient."""


class MondayPort(Protocol):
    """Port: the monday.com operations the connector uses."""

    async def list_boards(
        self, *, limit: int = 50, workspace_ids: list[str] | None = None
    ) -> list[Board]:
        """Boards visible to the token, with groups and columns."""
        ...

    def item_pages(self, board_id: str, *, page_size: int = 500) -> AsyncIterator[list[Item]]:
        """A board's items, one page (at most ``page_size``, max 500) at a time.

        Raises :class:`MondayNotFound` for an unknown board.
        """
        ...

    async def get_item(self, item_id: str) -> Item | None:
        """One item, or None when it does not exist."""
        ...

    async def create_item(
        self,
        board_id: str,
        name: str,
        *,
        group_id: str | None = None,
        column_values: Mapping[str, Any] | None = None,
    ) -> Item:
        """Create an item; ``column_values`` by column id in monday's shapes."""
        ...

    async def update_item(
        self, board_id: str, item_id: str, column_values: Mapping[str, Any]
    ) -> Item:
        """Change several column values of an item at once."""
        ...

    async def create_webhook(
        self,
        board_id: str,
        url: str,
        event: WebhookEvent,
        *,
        config: Mapping[str, Any] | None = None,
    ) -> Webhook:
        """Register a webhook on a board; monday first checks that ``url`` answers its
        challenge (:class:`MondayInvalidInput` when it does not)."""
        ...

    async def delete_webhook(self, webhook_id: str) -> Webhook:
        """Remove a webhook; :class:`MondayNotFound` when there is none."""
        ...
