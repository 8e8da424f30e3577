"""The resolvers of webhooks: ``create_webhook``, ``delete_webhook`` and ``webhooks``.

``create_webhook`` answers monday's ``ResourceNotFoundException`` for an unknown board
and ``InvalidArgumentException`` when the URL does not answer the challenge (nothing is
registered then); ``delete_webhook`` answers ``ResourceNotFoundException`` for an
unknown id. The hub that delivers them is :class:`~.webhooks.WebhookHub`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from dataworkflows.sandboxes.monday.demo_data import ResourceNotFound
from dataworkflows.sandboxes.monday.paging import Info, api_error
from dataworkflows.sandboxes.monday.resolvers import sandbox_of, write_error
from dataworkflows.sandboxes.monday.webhooks import Webhook, WebhookRefused

__all__ = ["WEBHOOK_RESOLVERS"]

MAX_CONFIG_CHARS: Final = 2000


def _view(webhook: Webhook) -> dict[str, Any]:
    config = None if webhook.config is None else json.dumps(webhook.config)
    return {
        "id": webhook.id,
        "board_id": webhook.board_id,
        "event": webhook.event,
        "config": config,
    }


def _query_webhooks(
    _root: object, info: Info, *, board_id: str, app_webhooks_only: bool | None = None
) -> list[dict[str, Any]]:
    return [_view(w) for w in sandbox_of(info).hub.of_board(board_id)]


def _config(raw: object) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        if len(raw) > MAX_CONFIG_CHARS:
            raise api_error("config is too long", "InvalidArgumentException")
        try:
            raw = json.loads(raw)
        except ValueError:
            raise api_error("config is not valid JSON", "InvalidArgumentException") from None
    if not isinstance(raw, dict):
        raise api_error("config must be a JSON object", "InvalidArgumentException")
    return raw


async def _mutation_create_webhook(
    _root: object, info: Info, *, board_id: str, url: str, event: str, config: object = None
) -> dict[str, Any]:
    sandbox = sandbox_of(info)
    if sandbox.workspace.board(board_id) is None:
        raise write_error(ResourceNotFound("board", board_id))
    settings = _config(config)
    if event in ("change_specific_column_value", "item_moved_to_specific_group"):
        needed = "columnId" if event == "change_specific_column_value" else "groupId"
        if not settings or not isinstance(settings.get(needed), str):
            raise api_error(
                f"config must give {needed} for {event}",
                "InvalidArgumentException",
                error_data={"event": event},
            )
    try:
        webhook = await sandbox.hub.register(
            board_id=board_id, url=url, event=event, config=settings
        )
    except WebhookRefused as exc:
        raise api_error(
            f"Failed to verify the webhook URL: {exc}",
            "InvalidArgumentException",
            error_data={"url": url[:200]},
        ) from None
    return _view(webhook)


def _mutation_delete_webhook(_root: object, info: Info, *, id: str) -> dict[str, Any]:
    removed = sandbox_of(info).hub.remove(id)
    if removed is None:
        raise write_error(ResourceNotFound("webhook", id))
    return _view(removed)


WEBHOOK_RESOLVERS: Final[Mapping[str, Mapping[str, Callable[..., Any]]]] = {
    "Query": {"webhooks": _query_webhooks},
    "Mutation": {
        "create_webhook": _mutation_create_webhook,
        "delete_webhook": _mutation_delete_webhook,
    },
}
"""Resolvers of the webhook fields (joined with the others in :mod:`.schema`)."""
