"""The Slack sandbox's ``chat.*`` methods: ``chat.postMessage``, ``chat.update`` and
``chat.postEphemeral``, and the storing of the bot's messages they share with
response_urls and command acks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from dataworkflows.sandboxes.slack.api_base import (
    ApiError,
    bool_arg,
    channel_arg,
    json_list_arg,
    str_arg,
    writable_channel,
)
from dataworkflows.sandboxes.slack.blocks import block_errors, invalid_blocks
from dataworkflows.sandboxes.slack.demo_data import DemoChannel, DemoMessage
from dataworkflows.sandboxes.slack.state import EphemeralMessage, SlackSandbox
from dataworkflows.sandboxes.slack.views import message_view

__all__ = [
    "BLOCKS_FALLBACK_TEXT",
    "MAX_TEXT",
    "chat_post_ephemeral",
    "chat_post_message",
    "chat_update",
    "message_content",
    "post_bot_message",
]

MAX_TEXT: Final = 40_000
BLOCKS_FALLBACK_TEXT: Final = "This content can't be displayed."


def message_content(
    args: Mapping[str, Any],
) -> tuple[str | None, list[Any] | None, list[Any] | None]:
    """text, blocks and attachments of a message, checked as chat.postMessage does."""
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    blocks = json_list_arg(args, "blocks", "invalid_blocks_format")
    attachments = json_list_arg(args, "attachments", "invalid_attachments")
    if blocks is not None:
        errors = block_errors(blocks)
        if errors:
            raise invalid_blocks(errors)
    if text is not None and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    return text, blocks, attachments


def post_bot_message(
    sandbox: SlackSandbox,
    channel: DemoChannel,
    *,
    text: str | None,
    blocks: list[Any] | None,
    attachments: list[Any] | None = None,
    thread_ts: str | None = None,
    reply_broadcast: bool = False,
    metadata: dict[str, Any] | None = None,
) -> DemoMessage:
    """Store a message from the app's bot (chat.postMessage, in_channel responses)."""
    bot = sandbox.workspace.bot
    if thread_ts is not None:
        parent = channel.message(thread_ts)
        if parent is not None and parent.is_reply:
            thread_ts = parent.thread_ts  # replying to a reply joins its thread
    message = DemoMessage(
        ts=sandbox.next_ts(),
        user=bot.user_id,
        text=text if text else (BLOCKS_FALLBACK_TEXT if blocks else ""),
        bot_id=bot.bot_id,
        app_id=bot.app_id,
        subtype="thread_broadcast" if thread_ts and reply_broadcast else None,
        thread_ts=thread_ts,
        blocks=blocks,
        attachments=attachments,
        metadata=metadata,
    )
    channel.add(message)
    return message


def chat_post_message(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``chat.postMessage``: post as the bot, in a channel or a thread."""
    channel = writable_channel(sandbox, args)
    text, blocks, attachments = message_content(args)
    if not (text and text.strip()) and not blocks and not attachments:
        raise ApiError("no_text")
    metadata = args.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            raise ApiError("invalid_metadata_format") from None
    message = post_bot_message(
        sandbox,
        channel,
        text=text,
        blocks=blocks,
        attachments=attachments,
        thread_ts=str_arg(args, "thread_ts"),
        reply_broadcast=bool_arg(args, "reply_broadcast"),
        metadata=metadata if isinstance(metadata, dict) else None,
    )
    return {
        "channel": channel.id,
        "ts": message.ts,
        "message": message_view(sandbox.workspace, channel, message),
    }


def chat_update(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``chat.update``: change one of the bot's own messages."""
    channel = channel_arg(sandbox, args)
    ts = str_arg(args, "ts")
    message = channel.message(ts) if ts else None
    if message is None:
        raise ApiError("message_not_found")
    if message.bot_id != sandbox.workspace.bot.bot_id:
        raise ApiError("cant_update_message")
    if channel.is_archived:
        raise ApiError("is_archived")
    text, blocks, attachments = message_content(args)
    if text is None and blocks is None and attachments is None:
        raise ApiError("no_text")
    if text is not None:
        message.text = text
    elif blocks:
        message.text = BLOCKS_FALLBACK_TEXT
    if blocks is not None:
        message.blocks = blocks or None
    if attachments is not None:
        message.attachments = attachments or None
    message.edited = {"user": sandbox.workspace.bot.user_id, "ts": sandbox.next_ts()}
    return {
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": message_view(sandbox.workspace, channel, message),
    }


def chat_post_ephemeral(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``chat.postEphemeral``: show a message to one member of a channel."""
    channel = writable_channel(sandbox, args)
    user = str_arg(args, "user")
    if user is None or sandbox.workspace.user(user) is None:
        raise ApiError("user_not_found")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks, _ = message_content(args)
    if not (text and text.strip()) and not blocks:
        raise ApiError("no_text")
    ephemeral = EphemeralMessage(
        ts=sandbox.next_ts(),
        channel=channel.id,
        user=user,
        text=text or "",
        blocks=blocks,
        source="api",
    )
    sandbox.ephemeral.append(ephemeral)
    return {"message_ts": ephemeral.ts}
