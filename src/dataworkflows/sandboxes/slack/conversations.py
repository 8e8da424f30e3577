"""The Slack sandbox's ``conversations.*`` methods: ``conversations.history``,
``conversations.replies``, ``conversations.list`` and ``conversations.info``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from dataworkflows.sandboxes.slack.api_base import (
    ApiError,
    bool_arg,
    channel_arg,
    decode_cursor,
    encode_cursor,
    int_arg,
    next_ts_cursor,
    readable_channel,
    str_arg,
    ts_arg,
)
from dataworkflows.sandboxes.slack.demo_data import ts_micros
from dataworkflows.sandboxes.slack.state import SlackSandbox
from dataworkflows.sandboxes.slack.views import channel_view, message_view

__all__ = [
    "conversations_history",
    "conversations_info",
    "conversations_list",
    "conversations_replies",
]

HISTORY_DEFAULT_LIMIT: Final = 100
HISTORY_MAX_LIMIT: Final = 999
REPLIES_DEFAULT_LIMIT: Final = 1000
LIST_DEFAULT_LIMIT: Final = 100
LIST_MAX_LIMIT: Final = 1000


def _window(args: Mapping[str, Any]) -> Callable[[int], bool]:
    oldest = ts_arg(args, "oldest", "invalid_ts_oldest")
    latest = ts_arg(args, "latest", "invalid_ts_latest")
    inclusive = bool_arg(args, "inclusive")
    low = oldest if oldest is not None else -1
    high = latest if latest is not None else 10**20

    def within(micros: int) -> bool:
        if inclusive:
            return low <= micros <= high
        return low < micros < high

    return within


def conversations_history(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``conversations.history``: a channel's messages, newest first."""
    channel = readable_channel(sandbox, args)
    limit = int_arg(args, "limit", default=HISTORY_DEFAULT_LIMIT, low=1, high=HISTORY_MAX_LIMIT)
    within = _window(args)
    start = next_ts_cursor(args)
    listed = [
        m
        for m in reversed(channel.messages)
        if (not m.is_reply or m.subtype == "thread_broadcast")
        and within(ts_micros(m.ts))
        and (start is None or ts_micros(m.ts) <= start)
    ]
    page, rest = listed[:limit], listed[limit:]
    return {
        "messages": [message_view(sandbox.workspace, channel, m) for m in page],
        "has_more": bool(rest),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {
            "next_cursor": encode_cursor("next_ts", str(ts_micros(rest[0].ts))) if rest else ""
        },
    }


def conversations_replies(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``conversations.replies``: a thread's parent, then its replies."""
    channel = readable_channel(sandbox, args)
    ts = str_arg(args, "ts")
    if ts is None:
        raise ApiError("invalid_arguments", detail="ts is required")
    found = channel.message(ts)
    if found is None:
        raise ApiError("thread_not_found")
    parent = channel.message(found.thread_ts) if found.is_reply and found.thread_ts else found
    if parent is None:
        raise ApiError("thread_not_found")
    limit = int_arg(args, "limit", default=REPLIES_DEFAULT_LIMIT, low=1, high=1000)
    within = _window(args)
    start = next_ts_cursor(args)
    replies = [
        m
        for m in channel.replies(parent.ts)
        if within(ts_micros(m.ts)) and (start is None or ts_micros(m.ts) >= start)
    ]
    page, rest = replies[:limit], replies[limit:]
    return {
        "messages": [message_view(sandbox.workspace, channel, m) for m in (parent, *page)],
        "has_more": bool(rest),
        "response_metadata": {
            "next_cursor": encode_cursor("next_ts", str(ts_micros(rest[0].ts))) if rest else ""
        },
    }


def conversations_list(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``conversations.list``: the workspace's public channels and, with ``types=im``,
    the bot's direct messages."""
    types = {t.strip() for t in (str_arg(args, "types") or "public_channel").split(",")}
    channels = [
        c
        for c in sandbox.workspace.channels.values()
        if ("im" if c.is_im else "public_channel") in types
        and not (bool_arg(args, "exclude_archived") and c.is_archived)
    ]
    cursor = str_arg(args, "cursor")
    if cursor is not None:
        after = decode_cursor(cursor, "team")
        ids = [c.id for c in channels]
        if after not in ids:
            raise ApiError("invalid_cursor")
        channels = channels[ids.index(after) :]
    limit = int_arg(args, "limit", default=LIST_DEFAULT_LIMIT, low=1, high=LIST_MAX_LIMIT)
    page, rest = channels[:limit], channels[limit:]
    return {
        "channels": [channel_view(sandbox.workspace, c) for c in page],
        "response_metadata": {"next_cursor": encode_cursor("team", rest[0].id) if rest else ""},
    }


def conversations_info(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``conversations.info``: one channel or direct message."""
    return {"channel": channel_view(sandbox.workspace, channel_arg(sandbox, args))}
