"""The Monday sandbox's webhooks: registered by ``create_webhook``, delivered over HTTP.

As monday documents them:

- ``create_webhook(board_id, url, event, config)`` first proves the URL: it POSTs
  ``{"challenge": "<random>"}`` there and registers the webhook only when the answer
  echoes the same ``{"challenge": ...}``; ``delete_webhook(id)`` removes one and
  ``webhooks(board_id)`` lists a board's.
- An event on the board is POSTed to each matching webhook's URL as
  ``{"event": {...}}`` (``type`` ``create_pulse``, ``update_column_value``,
  ``archive_pulse``, ``delete_pulse``, ``move_pulse_into_group``), with
  ``boardId``/``pulseId`` as numbers and a ``triggerUuid`` that stays the same across
  retries of one event.
- When the sandbox has an app signing secret, each delivery carries
  ``Authorization: <JWT>``: HS256 over ``{"accountId", "userId", "aud": <the URL>,
  "iat", "exp"}`` with that secret, as monday signs requests to apps' endpoints.
- A delivery that fails (no 2xx answer) is retried once a minute for 30 minutes
  (both configurable here, so tests need not wait).

Registered but never delivered by the sandbox, because it models no such change:
``change_name``, ``create_column`` and the subitem and update events.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import jwt
import msgspec

from dataworkflows.runtime.logging import get_logger
from dataworkflows.sandboxes.monday.cells import Cell, StatusCell, cell_value
from dataworkflows.sandboxes.monday.demo_data import DemoBoard, DemoItem

__all__ = [
    "EVENT_TYPES",
    "Delivery",
    "Webhook",
    "WebhookHub",
    "WebhookRefused",
    "cells_changed",
    "item_created",
    "item_moved",
    "item_state_changed",
]

_log = get_logger(__name__)

EVENT_TYPES: Final[Mapping[str, str]] = {
    "create_item": "create_pulse",
    "change_column_value": "update_column_value",
    "change_specific_column_value": "update_column_value",
    "change_status_column_value": "update_column_value",
    "item_archived": "archive_pulse",
    "item_deleted": "delete_pulse",
    "item_moved_to_any_group": "move_pulse_into_group",
    "item_moved_to_specific_group": "move_pulse_into_group",
}
"""The subscribed events the sandbox delivers, and the ``type`` each payload carries."""
RETRY_INTERVAL_S: Final = 60.0
RETRY_WINDOW_S: Final = 1800.0
CHALLENGE_TIMEOUT_S: Final = 10.0
DELIVERY_TIMEOUT_S: Final = 10.0
TOKEN_LIFETIME_S: Final = 300
MAX_DELIVERIES_KEPT: Final = 1000
ACCOUNT_ID: Final = 9_000_001
ACTING_USER_ID: Final = 9_100_001


class WebhookRefused(ValueError):
    """``create_webhook`` failed: the URL did not answer the challenge (message says how)."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """A registered webhook."""

    id: str
    board_id: str
    url: str
    event: str
    config: Mapping[str, Any] | None

    def matches(
        self, event: str, *, column_id: str | None, column_type: str | None, group_id: str | None
    ) -> bool:
        """Whether an ``event`` (one of :data:`EVENT_TYPES`) is delivered to this webhook."""
        config = self.config or {}
        if self.event == "change_column_value":
            return event == "change_column_value"
        if self.event == "change_specific_column_value":
            return event == "change_column_value" and config.get("columnId") == column_id
        if self.event == "change_status_column_value":
            wanted = config.get("columnId")
            return (
                event == "change_column_value"
                and column_type == "status"
                and (wanted is None or wanted == column_id)
            )
        if self.event == "item_moved_to_specific_group":
            return event == "item_moved_to_any_group" and config.get("groupId") == group_id
        return self.event == event


class Delivery(msgspec.Struct, frozen=True):
    """One attempt to deliver an event (``GET /sandbox/deliveries``)."""

    webhook_id: str
    url: str
    type: str
    trigger_uuid: str
    attempt: int
    status: int | None
    """The answer's HTTP status; None when there was no answer."""
    error: str | None
    at: float


class WebhookHub:
    """The webhooks of one sandbox and the deliveries in flight."""

    def __init__(
        self,
        *,
        signing_secret: str | None = None,
        retry_interval_s: float = RETRY_INTERVAL_S,
        retry_window_s: float = RETRY_WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signing_secret = signing_secret
        self.retry_interval_s = retry_interval_s
        self.retry_window_s = retry_window_s
        self.clock = clock
        self.webhooks: dict[str, Webhook] = {}
        self.deliveries: deque[Delivery] = deque(maxlen=MAX_DELIVERIES_KEPT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_id = 300_000_001

    async def register(
        self, *, board_id: str, url: str, event: str, config: Mapping[str, Any] | None
    ) -> Webhook:
        """Prove ``url`` with a challenge, then register; :class:`WebhookRefused` if not."""
        if not url.startswith(("http://", "https://")):
            raise WebhookRefused(f"url must be an http(s) URL, got {url[:100]!r}")
        challenge = secrets.token_urlsafe(32)
        try:
            async with httpx.AsyncClient(timeout=CHALLENGE_TIMEOUT_S) as client:
                answer = await client.post(url, json={"challenge": challenge})
        except httpx.HTTPError as exc:
            raise WebhookRefused(
                f"the URL did not answer the challenge: {type(exc).__name__}"
            ) from None
        try:
            echoed = answer.json().get("challenge") if answer.is_success else None
        except ValueError:
            echoed = None
        if echoed != challenge:
            raise WebhookRefused(
                f"the URL answered {answer.status_code} without echoing the challenge"
            )
        webhook = Webhook(
            id=str(self._next_id), board_id=board_id, url=url, event=event, config=config
        )
        self._next_id += 1
        self.webhooks[webhook.id] = webhook
        return webhook

    def remove(self, webhook_id: str) -> Webhook | None:
        """Forget a webhook; None when there is none with that id."""
        return self.webhooks.pop(webhook_id, None)

    def of_board(self, board_id: str) -> list[Webhook]:
        """A board's webhooks, oldest first."""
        return [w for w in self.webhooks.values() if w.board_id == board_id]

    def emit(
        self,
        event: str,
        *,
        board_id: str,
        fields: Mapping[str, Any],
        column_id: str | None = None,
        column_type: str | None = None,
        group_id: str | None = None,
    ) -> int:
        """Deliver ``event`` on ``board_id`` (payload ``fields`` besides the common ones)
        to every matching webhook, in the background; how many deliveries started."""
        started = 0
        for webhook in self.of_board(board_id):
            if not webhook.matches(
                event, column_id=column_id, column_type=column_type, group_id=group_id
            ):
                continue
            now = self.clock()
            payload = {
                "app": "monday",
                "type": EVENT_TYPES[event],
                "triggerTime": datetime.fromtimestamp(now, UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "subscriptionId": int(webhook.id),
                "userId": ACTING_USER_ID,
                "originalTriggerUuid": None,
                "boardId": int(board_id),
                **fields,
                "triggerUuid": uuid.uuid4().hex,
            }
            task = asyncio.get_running_loop().create_task(self._deliver(webhook, payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _deliver(self, webhook: Webhook, event: dict[str, Any]) -> None:
        body = msgspec.json.encode({"event": event})
        first = time.monotonic()
        attempt = 0
        async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S) as client:
            while True:
                attempt += 1
                status, error = await self._attempt(client, webhook.url, body)
                self.deliveries.append(
                    Delivery(
                        webhook_id=webhook.id,
                        url=webhook.url,
                        type=str(event["type"]),
                        trigger_uuid=str(event["triggerUuid"]),
                        attempt=attempt,
                        status=status,
                        error=error,
                        at=self.clock(),
                    )
                )
                if status is not None and 200 <= status < 300:
                    return
                elapsed = time.monotonic() - first
                if elapsed + self.retry_interval_s > self.retry_window_s:
                    _log.warning("webhook delivery given up", webhook=webhook.id, attempts=attempt)
                    return
                await asyncio.sleep(self.retry_interval_s)

    async def _attempt(
        self, client: httpx.AsyncClient, url: str, body: bytes
    ) -> tuple[int | None, str | None]:
        headers = {"Content-Type": "application/json"}
        if self.signing_secret:
            headers["Authorization"] = self.token_for(url)
        try:
            answer = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        return answer.status_code, None

    def token_for(self, url: str) -> str:
        """The JWT a delivery to ``url`` carries (needs a signing secret)."""
        assert self.signing_secret is not None
        now = int(self.clock())
        claims = {
            "accountId": ACCOUNT_ID,
            "userId": ACTING_USER_ID,
            "aud": url,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
        }
        return jwt.encode(claims, self.signing_secret, algorithm="HS256")

    def reset(self) -> None:
        """Forget every webhook and delivery; stop the deliveries in flight."""
        for task in self._tasks:
            task.cancel()
        self.webhooks.clear()
        self.deliveries.clear()

    async def aclose(self) -> None:
        """Stop the deliveries in flight (the sandbox is stopping)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- the events of item changes -----------------------------------------------------------

_WEBHOOK_COLUMN_TYPES: Final = {
    "status": "color",
    "people": "multiple-person",
    "numbers": "numeric",
    "long_text": "long-text",
}
"""Column types as webhook payloads name them (the older names monday keeps there)."""


def _item_fields(board: DemoBoard, item: DemoItem) -> dict[str, Any]:
    group = board.group(item.group_id)
    return {
        "pulseId": int(item.id),
        "pulseName": item.name,
        "groupId": item.group_id,
        "groupName": group.title if group is not None else None,
        "groupColor": group.color if group is not None else None,
        "isTopGroup": bool(board.groups) and board.groups[0].id == item.group_id,
    }


def _webhook_value(board: DemoBoard, column_id: str, cell: Cell | None) -> Any:
    if isinstance(cell, StatusCell):
        column = board.column(column_id)
        text = column.labels.get(cell.index) if column is not None else None
        return {
            "label": {"index": cell.index, "text": text, "is_done": cell.index == 1},
            "post_id": None,
        }
    raw = cell_value(cell)
    return None if raw is None else msgspec.json.decode(raw)


def item_created(hub: WebhookHub, board: DemoBoard, item: DemoItem) -> None:
    """Deliver ``create_item`` for a new item."""
    values = {cid: _webhook_value(board, cid, cell) for cid, cell in item.cells.items()}
    hub.emit(
        "create_item",
        board_id=board.id,
        fields={**_item_fields(board, item), "columnValues": values},
    )


def cells_changed(
    hub: WebhookHub, board: DemoBoard, item: DemoItem, before: Mapping[str, Cell]
) -> None:
    """Deliver ``change_column_value`` (and the narrower events) for each cell of
    ``item`` that differs from ``before``."""
    changed_at = hub.clock()
    for column in board.columns:
        old, new = before.get(column.id), item.cells.get(column.id)
        if old == new:
            continue
        hub.emit(
            "change_column_value",
            board_id=board.id,
            column_id=column.id,
            column_type=column.type,
            fields={
                **_item_fields(board, item),
                "columnId": column.id,
                "columnType": _WEBHOOK_COLUMN_TYPES.get(column.type, column.type),
                "columnTitle": column.title,
                "value": _webhook_value(board, column.id, new),
                "previousValue": _webhook_value(board, column.id, old),
                "changedAt": changed_at,
            },
        )


def item_moved(hub: WebhookHub, board: DemoBoard, item: DemoItem, from_group: str) -> None:
    """Deliver ``item_moved_to_any_group`` / ``..._specific_group`` for a moved item."""
    hub.emit(
        "item_moved_to_any_group",
        board_id=board.id,
        group_id=item.group_id,
        fields={
            **_item_fields(board, item),
            "sourceGroupId": from_group,
            "destGroupId": item.group_id,
        },
    )


def item_state_changed(hub: WebhookHub, board: DemoBoard, item: DemoItem) -> None:
    """Deliver ``item_archived`` or ``item_deleted`` for an item in that state now."""
    event = {"archived": "item_archived", "deleted": "item_deleted"}.get(item.state)
    if event is not None:
        hub.emit(event, board_id=board.id, fields=_item_fields(board, item))
