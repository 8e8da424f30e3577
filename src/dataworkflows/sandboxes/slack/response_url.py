"""The Slack sandbox's response_url endpoint: what a POST to a minted response_url
answers and does.

It models Slack's documented limits (5 uses within 30 minutes) with the
incoming-webhook error style: HTTP 4xx and a ``text/plain`` body naming the error
(``used_url``, ``expired_url``, ``no_text``, ``invalid_blocks``, ``invalid_payload``,
``no_service``); success is HTTP 200 ``{"ok": true}``. The exact status and body Slack
uses for a used-up or expired URL is not in the public docs we could check; clients
should (as ours does) treat any 4xx as final.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dataworkflows.sandboxes.slack.blocks import block_errors
from dataworkflows.sandboxes.slack.chat import BLOCKS_FALLBACK_TEXT, MAX_TEXT, post_bot_message
from dataworkflows.sandboxes.slack.demo_data import DemoChannel, DemoMessage
from dataworkflows.sandboxes.slack.state import (
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_TTL_S,
    EphemeralMessage,
    MintedUrl,
    ResponsePost,
    SlackSandbox,
)

__all__ = ["WebhookAnswer", "handle_response_url"]


@dataclass(slots=True)
class WebhookAnswer:
    """What a response_url answers: a status and a body (JSON object or a bare word)."""

    status: int
    body: dict[str, Any] | str

    @property
    def error(self) -> str | None:
        """The error word, if this is an error."""
        return self.body if isinstance(self.body, str) else None


def _target_message(
    sandbox: SlackSandbox, minted: MintedUrl
) -> tuple[DemoChannel, DemoMessage] | EphemeralMessage | None:
    if minted.last_target is None:
        return None
    where, ts = minted.last_target
    if where == "ephemeral":
        return next((e for e in sandbox.ephemeral if e.ts == ts and not e.deleted), None)
    channel = sandbox.workspace.channel(minted.channel_id)
    message = channel.message(ts) if channel else None
    return (channel, message) if channel and message else None


def _apply_response(sandbox: SlackSandbox, minted: MintedUrl, body: Mapping[str, Any]) -> str:
    """Carry out a valid response_url message; what it did (``effect``)."""
    text = body.get("text") if isinstance(body.get("text"), str) else None
    blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
    target = _target_message(sandbox, minted)
    if body.get("delete_original") is True:
        if isinstance(target, EphemeralMessage):
            target.deleted = True
            return f"deleted:{target.ts}"
        if target is not None:
            channel, message = target
            channel.messages.remove(message)
            return f"deleted:{message.ts}"
        return "deleted:none"
    if body.get("replace_original") is True and target is not None:
        if isinstance(target, EphemeralMessage):
            target.text, target.blocks = text or "", blocks
            target.replaced += 1
            return f"replaced:{target.ts}"
        _, message = target
        message.text = text or (BLOCKS_FALLBACK_TEXT if blocks else "")
        message.blocks = blocks
        return f"replaced:{message.ts}"
    where = sandbox.workspace.channel(minted.channel_id)
    thread_ts = body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None
    if body.get("response_type") == "in_channel" and where is not None:
        message = post_bot_message(sandbox, where, text=text, blocks=blocks, thread_ts=thread_ts)
        minted.last_target = ("history", message.ts)
        return f"in_channel:{message.ts}"
    ephemeral = EphemeralMessage(
        ts=sandbox.next_ts(),
        channel=minted.channel_id,
        user=minted.user_id,
        text=text or "",
        blocks=blocks,
        source="response_url",
        response_url_id=minted.id,
    )
    sandbox.ephemeral.append(ephemeral)
    minted.last_target = ("ephemeral", ephemeral.ts)
    return f"ephemeral:{ephemeral.ts}"


def _payload_problem(raw: bytes) -> tuple[int, str, Any] | tuple[None, None, dict[str, Any]]:
    """(status, error, logged body) for a refused response body, or the parsed body."""
    try:
        body = json.loads(raw)
    except ValueError:
        return 400, "invalid_payload", raw.decode(errors="replace")
    if not isinstance(body, dict):
        return 400, "invalid_payload", body
    blocks = body.get("blocks")
    if blocks is not None and (not isinstance(blocks, list) or block_errors(blocks)):
        return 400, "invalid_blocks", body
    text = body.get("text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return 400, "msg_too_long", body
    if body.get("delete_original") is not True and not (
        (isinstance(text, str) and text.strip()) or blocks
    ):
        return 400, "no_text", body
    return None, None, body


def handle_response_url(
    sandbox: SlackSandbox, *, kind: str, team: str, url_id: str, secret: str, raw: bytes
) -> WebhookAnswer:
    """Answer a POST to a minted response_url (faults aside)."""
    minted = sandbox.response_urls.get(url_id)
    if (
        minted is None
        or minted.kind != kind
        or minted.team_id != team
        or not hmac.compare_digest(minted.secret.encode(), secret.encode())
    ):
        return WebhookAnswer(404, "no_service")
    now = sandbox.now()
    status: int | None
    error: str | None
    if now - minted.created_at > RESPONSE_URL_TTL_S:
        status, error, body = 404, "expired_url", None
    elif minted.uses >= RESPONSE_URL_MAX_USES:
        status, error, body = 404, "used_url", None
    else:
        status, error, body = _payload_problem(raw)
    if status is not None and error is not None:
        minted.posts.append(ResponsePost(at=now, status=status, error=error, body=body))
        return WebhookAnswer(status, error)
    assert isinstance(body, dict)
    effect = _apply_response(sandbox, minted, body)
    minted.uses += 1
    minted.posts.append(ResponsePost(at=now, status=200, error=None, body=body, effect=effect))
    return WebhookAnswer(200, {"ok": True})
