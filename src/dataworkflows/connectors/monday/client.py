"""The real Monday adapter: monday.com's GraphQL API over httpx.

Wire rules (../shared/reference/monday.md): every call is ``POST {base}/v2`` with the
raw token in ``Authorization`` and ``API-Version`` pinned; ids are strings; a
column's ``value`` is a JSON string; items are paged with ``items_page`` then
``next_items_page`` (at most 500 per page, cursor ``null`` on the last page).

Errors follow the robust rule of the reference: HTTP 429/503, any
``retry_in_seconds`` or ``Retry-After`` is a rate limit to wait out (at least as
long as asked), except ``DAILY_LIMIT_EXCEEDED``; 401 and ``UserUnauthorized`` are
auth errors; codes are hints, not contracts. Transient failures are retried here
with exponential backoff and jitter (stamina); waits longer than
``max_wait_s`` are handed to the caller (the engine retries the step durably), and a
circuit breaker stops calling an upstream that keeps failing.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import httpx
import msgspec

from dataworkflows.connectors.monday.port import (
    Board,
    Column,
    ColumnValue,
    Group,
    Item,
    MondayAuthError,
    MondayCursorExpired,
    MondayDailyLimit,
    MondayError,
    MondayInvalidInput,
    MondayNotFound,
    MondayRateLimited,
    MondayUnavailable,
    Webhook,
    WebhookEvent,
)
from dataworkflows.connectors.toolkit.transport import Upstream
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.resilience import CircuitBreaker

__all__ = ["DEFAULT_API_URL", "DEFAULT_API_VERSION", "MondayClient"]

DEFAULT_API_URL: Final = "https://api.monday.com/v2"
DEFAULT_API_VERSION: Final = "2025-07"
MAX_PAGE: Final = 500

_log = get_logger(__name__)

_ITEM_FIELDS: Final = """
fragment ItemFields on Item {
  id name created_at updated_at
  board { id }
  group { id title }
  column_values { id text value type column { title } ... on MirrorValue { display_value } }
}
"""
_CREATE_WEBHOOK: Final = """
mutation CreateWebhook($board: ID!, $url: String!, $event: WebhookEventType!, $config: JSON) {
  create_webhook(board_id: $board, url: $url, event: $event, config: $config) {
    id board_id event config
  }
}
"""
_DELETE_WEBHOOK: Final = """
mutation DeleteWebhook($id: ID!) { delete_webhook(id: $id) { id board_id event config } }
"""
_FIRST_PAGE: Final = (
    """
query FirstPage($board: [ID!], $limit: Int!) {
  boards(ids: $board) { id items_page(limit: $limit) { cursor items { ...ItemFields } } }
}
"""
    + _ITEM_FIELDS
)
_NEXT_PAGE: Final = (
    """
query NextPage($cursor: String!, $limit: Int!) {
  next_items_page(cursor: $cursor, limit: $limit) { cursor items { ...ItemFields } }
}
"""
    + _ITEM_FIELDS
)
_ITEMS: Final = (
    """
query Items($ids: [ID!]!) { items(ids: $ids) { ...ItemFields } }
"""
    + _ITEM_FIELDS
)
_BOARDS: Final = """
query Boards($limit: Int, $workspaces: [ID]) {
  boards(limit: $limit, workspace_ids: $workspaces) {
    id name description workspace_id items_count
    groups { id title }
    columns { id title type }
  }
}
"""
_CREATE: Final = (
    """
mutation CreateItem($board: ID!, $name: String!, $group: String, $values: JSON) {
  create_item(board_id: $board, item_name: $name, group_id: $group, column_values: $values) {
    ...ItemFields
  }
}
"""
    + _ITEM_FIELDS
)
_UPDATE: Final = (
    """
mutation UpdateItem($board: ID!, $item: ID, $values: JSON!) {
  change_multiple_column_values(board_id: $board, item_id: $item, column_values: $values) {
    ...ItemFields
  }
}
"""
    + _ITEM_FIELDS
)
_ME: Final = "query Me { me { id } }"

_RESET_IN_RE: Final = re.compile(r"(\d+)\s*second", re.IGNORECASE)
_INVALID_CODES: Final = frozenset(
    {
        "ColumnValueException",
        "InvalidArgumentException",
        "InvalidColumnIdException",
        "InvalidBoardIdException",
        "ItemNameTooLongException",
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_PARSE_FAILED",
        "BAD_USER_INPUT",
    }
)
_NOT_FOUND_CODES: Final = frozenset(
    {"ResourceNotFoundException", "InvalidItemIdException", "ItemsNotFoundException"}
)


class MondayClient:
    """:class:`~dataworkflows.connectors.monday.port.MondayPort` over monday's GraphQL API."""

    def __init__(
        self,
        *,
        token: str,
        http: httpx.AsyncClient,
        url: str = DEFAULT_API_URL,
        api_version: str = DEFAULT_API_VERSION,
        max_wait_s: float = 30.0,
        attempts: int = 5,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.url = url
        self._http = http
        # The token never goes anywhere but this header (not into logs or errors).
        self._headers = {
            "Authorization": token,
            "API-Version": api_version,
            "Content-Type": "application/json",
        }
        self._upstream = Upstream(
            "monday.com",
            unavailable=MondayUnavailable,
            attempts=attempts,
            wait_max=max_wait_s,
            longest_wait_s=max_wait_s,
            breaker=breaker,
        )
        self.breaker = self._upstream.breaker

    # The port -----------------------------------------------------------------------

    async def list_boards(
        self, *, limit: int = 50, workspace_ids: list[str] | None = None
    ) -> list[Board]:
        data = await self.execute(_BOARDS, {"limit": limit, "workspaces": workspace_ids})
        return [_board(b) for b in data.get("boards") or [] if b is not None]

    async def item_pages(
        self, board_id: str, *, page_size: int = MAX_PAGE
    ) -> AsyncIterator[list[Item]]:
        limit = max(1, min(page_size, MAX_PAGE))
        data = await self.execute(_FIRST_PAGE, {"board": [board_id], "limit": limit})
        boards = data.get("boards") or []
        if not boards or boards[0] is None:
            raise MondayNotFound(f"board {board_id} does not exist or is not visible")
        page = boards[0]["items_page"]
        yield [_item(i) for i in page["items"]]
        cursor = page.get("cursor")
        while cursor:
            data = await self.execute(_NEXT_PAGE, {"cursor": cursor, "limit": limit})
            page = data["next_items_page"]
            yield [_item(i) for i in page["items"]]
            cursor = page.get("cursor")

    async def get_item(self, item_id: str) -> Item | None:
        data = await self.execute(_ITEMS, {"ids": [item_id]})
        items = [i for i in data.get("items") or [] if i is not None]
        return _item(items[0]) if items else None

    async def create_item(
        self,
        board_id: str,
        name: str,
        *,
        group_id: str | None = None,
        column_values: Mapping[str, Any] | None = None,
    ) -> Item:
        values = json.dumps(dict(column_values)) if column_values else None
        data = await self.execute(
            _CREATE, {"board": board_id, "name": name, "group": group_id, "values": values}
        )
        created = data.get("create_item")
        if created is None:
            raise MondayError("monday did not return the created item")
        return _item(created)

    async def update_item(
        self, board_id: str, item_id: str, column_values: Mapping[str, Any]
    ) -> Item:
        data = await self.execute(
            _UPDATE,
            {"board": board_id, "item": item_id, "values": json.dumps(dict(column_values))},
        )
        updated = data.get("change_multiple_column_values")
        if updated is None:
            raise MondayNotFound(f"item {item_id} on board {board_id} does not exist")
        return _item(updated)

    async def create_webhook(
        self,
        board_id: str,
        url: str,
        event: WebhookEvent,
        *,
        config: Mapping[str, Any] | None = None,
    ) -> Webhook:
        variables = {
            "board": board_id,
            "url": url,
            "event": event,
            "config": json.dumps(dict(config)) if config else None,
        }
        data = await self.execute(_CREATE_WEBHOOK, variables)
        created = data.get("create_webhook")
        if created is None:
            raise MondayError("monday did not return the created webhook")
        return _webhook(created)

    async def delete_webhook(self, webhook_id: str) -> Webhook:
        data = await self.execute(_DELETE_WEBHOOK, {"id": webhook_id})
        deleted = data.get("delete_webhook")
        if deleted is None:
            raise MondayNotFound(f"webhook {webhook_id} does not exist")
        return _webhook(deleted)

    async def check(self) -> None:
        """One cheap authenticated call (for readiness)."""
        await self.execute(_ME, {})

    # Transport ----------------------------------------------------------------------

    async def execute(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Run a GraphQL document; its ``data``, or the typed error. Retries transient ones."""
        return await self._upstream.call(lambda: self._once(query, variables))

    async def _once(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(
                self.url, json={"query": query, "variables": dict(variables)}, headers=self._headers
            )
        except httpx.TimeoutException:
            raise MondayUnavailable("monday.com did not answer in time") from None
        except httpx.TransportError as exc:
            raise MondayUnavailable(f"monday.com is unreachable ({type(exc).__name__})") from None
        return _interpret(response)


def _interpret(response: httpx.Response) -> dict[str, Any]:
    """``data`` of a response, or the typed error it carries."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    request_id = _request_id(body)
    suffix = f" (request {request_id})" if request_id else ""
    if not isinstance(body, dict):
        if status >= 500 or status == 429:
            raise MondayUnavailable(f"monday.com answered HTTP {status}{suffix}")
        raise MondayError(f"monday.com answered HTTP {status} without JSON{suffix}")

    errors = body.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    extensions = first.get("extensions") or {}
    code = extensions.get("code") or body.get("error_code")
    message = first.get("message") or body.get("error_message") or f"HTTP {status}"
    retry_after = _retry_after(response, extensions, body)

    if code == "DAILY_LIMIT_EXCEEDED":
        raise MondayDailyLimit(
            f"monday.com daily call limit reached; it resets at midnight UTC{suffix}", code=code
        )
    if (
        status == 401
        or code in ("UNAUTHENTICATED", "Unauthorized", "UserUnauthorizedException")
        or (extensions.get("status_code") in (401, 403))
    ):
        raise MondayAuthError(f"monday.com refused the token: {message}{suffix}", code=code)
    if status in (429, 503) or retry_after is not None:
        wait = retry_after if retry_after is not None else 5.0
        raise MondayRateLimited(f"{message}{suffix}", retry_after=wait, code=code)
    if status >= 500:
        raise MondayUnavailable(f"monday.com answered HTTP {status}: {message}{suffix}", code=code)
    if errors or status >= 400:
        if code == "CursorException":
            raise MondayCursorExpired(f"{message}{suffix}", code=code)
        if code in _NOT_FOUND_CODES:
            raise MondayNotFound(f"{message}{suffix}", code=code)
        if code in _INVALID_CODES or status == 400:
            raise MondayInvalidInput(f"{message}{suffix}", code=code)
        raise MondayError(f"{message}{suffix}", code=code)
    data = body.get("data")
    if not isinstance(data, dict):
        raise MondayError(f"monday.com answered without data{suffix}")
    return data


def _request_id(body: Any) -> str | None:
    if isinstance(body, dict):
        extensions = body.get("extensions")
        if isinstance(extensions, dict) and isinstance(extensions.get("request_id"), str):
            return str(extensions["request_id"])
    return None


def _retry_after(
    response: httpx.Response, extensions: Mapping[str, Any], body: Mapping[str, Any]
) -> float | None:
    """The longest wait monday asked for: retry_in_seconds, Retry-After, or 'reset in N s'."""
    hints: list[float] = []
    if isinstance(extensions.get("retry_in_seconds"), int | float):
        hints.append(float(extensions["retry_in_seconds"]))
    header = response.headers.get("Retry-After")
    if header and header.strip().isdigit():
        hints.append(float(header.strip()))
    legacy = body.get("error_message")
    if body.get("error_code") == "ComplexityException" and isinstance(legacy, str):
        match = _RESET_IN_RE.search(legacy)
        hints.append(float(match.group(1)) if match else 5.0)
    return max(hints) if hints else None


def _board(raw: Mapping[str, Any]) -> Board:
    return Board(
        id=str(raw["id"]),
        name=str(raw["name"]),
        description=raw.get("description"),
        workspace_id=None if raw.get("workspace_id") is None else str(raw["workspace_id"]),
        items_count=raw.get("items_count"),
        groups=[Group(id=str(g["id"]), title=str(g["title"])) for g in raw.get("groups") or []],
        columns=[
            Column(id=str(c["id"]), title=str(c["title"]), type=str(c["type"]))
            for c in raw.get("columns") or []
        ],
    )


def _item(raw: Mapping[str, Any]) -> Item:
    group = raw.get("group")
    board = raw.get("board")
    return Item(
        id=str(raw["id"]),
        name=str(raw["name"]),
        board_id=str(board["id"]) if board else None,
        group=Group(id=str(group["id"]), title=str(group["title"])) if group else None,
        columns={str(c["id"]): _column_value(c) for c in raw.get("column_values") or []},
        created_at=raw.get("created_at"),
        updated_at=raw.get("updated_at"),
    )


def _column_value(raw: Mapping[str, Any]) -> ColumnValue:
    value = raw.get("value")
    parsed: Any = None
    if isinstance(value, str) and value:
        try:
            parsed = msgspec.json.decode(value)
        except msgspec.DecodeError:
            parsed = value
    elif value is not None:
        parsed = value
    if parsed is None and raw.get("display_value") is not None:
        parsed = raw["display_value"]
    column = raw.get("column") or {}
    return ColumnValue(
        id=str(raw["id"]),
        title=str(column.get("title") or raw["id"]),
        type=str(raw.get("type") or ""),
        text=raw.get("text"),
        value=parsed,
    )


def _webhook(raw: Mapping[str, Any]) -> Webhook:
    config = raw.get("config")
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError:
            config = None
    return Webhook(
        id=str(raw["id"]),
        board_id=str(raw["board_id"]),
        event=str(raw["event"]),
        config=config if isinstance(config, dict) else None,
    )
