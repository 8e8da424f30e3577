"""What every modelled Slack Web API method shares: its answer and error types, and
the readers of its arguments, paging cursors and ``channel`` argument.

Arguments arrive as query parameters, form fields or JSON members; the readers take
any of them as Slack does (``""`` is absent, booleans as ``1``/``true``/``yes``, an
out-of-range ``limit`` clamped, JSON arrays also as JSON strings in form bodies).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dataworkflows.sandboxes.slack.demo_data import DemoChannel, ts_micros
from dataworkflows.sandboxes.slack.state import SlackSandbox

__all__ = [
    "ApiAnswer",
    "ApiError",
    "Method",
    "bool_arg",
    "channel_arg",
    "decode_cursor",
    "encode_cursor",
    "int_arg",
    "json_list_arg",
    "next_ts_cursor",
    "readable_channel",
    "str_arg",
    "ts_arg",
    "writable_channel",
]


class ApiError(Exception):
    """An ``{"ok": false}`` answer: Slack's error string and any extra members."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass(slots=True)
class ApiAnswer:
    """What a Web API call answers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        """Slack's error string, if this is an error."""
        error = self.body.get("error")
        return error if isinstance(error, str) else None


# -- arguments ---------------------------------------------------------------------------


def str_arg(args: Mapping[str, Any], name: str) -> str | None:
    """The string argument ``name``, or None when absent or empty."""
    value = args.get(name)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def bool_arg(args: Mapping[str, Any], name: str, default: bool = False) -> bool:
    """The boolean argument ``name`` (``1``, ``true`` or ``yes``), else ``default``."""
    value = args.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def int_arg(args: Mapping[str, Any], name: str, *, default: int, low: int, high: int) -> int:
    """The integer argument ``name`` clamped to ``[low, high]``; ``default`` when absent
    or not positive."""
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError("invalid_arguments", detail=f"{name} must be an integer") from None
    # Slack clamps out-of-range limits rather than refusing them.
    return max(low, min(number, high)) if number > 0 else default


def json_list_arg(args: Mapping[str, Any], name: str, error: str) -> list[Any] | None:
    """A JSON array argument: an array in JSON bodies, a JSON string in form bodies."""
    value = args.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError(error) from None
    if not isinstance(value, list):
        raise ApiError(error)
    return value


def ts_arg(args: Mapping[str, Any], name: str, error: str) -> int | None:
    """The message timestamp argument ``name`` in microseconds; ``error`` if malformed."""
    value = str_arg(args, name)
    if value is None:
        return None
    seconds, _, fraction = value.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        raise ApiError(error)
    return ts_micros(value)


Method = Callable[[SlackSandbox, Mapping[str, Any]], dict[str, Any]]
"""A Web API method: the sandbox and the call's arguments to the answer's members
(``ok`` aside); raises :class:`ApiError`."""


# -- cursors -----------------------------------------------------------------------------


def encode_cursor(prefix: str, value: str) -> str:
    """A paging cursor as Slack's look: base64 of ``<prefix>:<value>``."""
    return base64.b64encode(f"{prefix}:{value}".encode()).decode()


def decode_cursor(cursor: str, prefix: str) -> str:
    """The value of a cursor :func:`encode_cursor` made with ``prefix``; else
    ``invalid_cursor``."""
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("invalid_cursor") from None
    found, _, value = decoded.partition(":")
    if found != prefix or not value:
        raise ApiError("invalid_cursor")
    return value


def next_ts_cursor(args: Mapping[str, Any]) -> int | None:
    """The ``next_ts`` cursor argument (history and replies) in microseconds, or None."""
    cursor = str_arg(args, "cursor")
    if cursor is None:
        return None
    value = decode_cursor(cursor, "next_ts")
    if not value.isdigit():
        raise ApiError("invalid_cursor")
    return int(value)


# -- the channel argument ----------------------------------------------------------------


def channel_arg(
    sandbox: SlackSandbox, args: Mapping[str, Any], *, by_name: bool = False
) -> DemoChannel:
    """The ``channel`` argument's channel. Only chat.postMessage takes a channel name,
    or a person's user id (the bot's direct message with them); the other methods want
    the conversation's id and answer channel_not_found for anything else."""
    wanted = str_arg(args, "channel")
    channel = sandbox.workspace.channels.get(wanted) if wanted else None
    if channel is None and by_name and wanted:
        channel = sandbox.workspace.channel(wanted)
        if channel is None and wanted[:1] in ("U", "W"):
            channel = sandbox.workspace.direct_message(wanted, created=int(sandbox.now()))
    if channel is None:
        raise ApiError("channel_not_found")
    return channel


def readable_channel(sandbox: SlackSandbox, args: Mapping[str, Any]) -> DemoChannel:
    """The ``channel`` argument's channel, which the bot must be in to read it."""
    channel = channel_arg(sandbox, args)
    if not channel.bot_is_member:
        raise ApiError("not_in_channel")
    return channel


def writable_channel(sandbox: SlackSandbox, args: Mapping[str, Any]) -> DemoChannel:
    """The ``channel`` argument's channel (id or name), open and with the bot in it."""
    channel = channel_arg(sandbox, args, by_name=True)
    if channel.is_archived:
        raise ApiError("is_archived")
    if not channel.bot_is_member:
        raise ApiError("not_in_channel")
    return channel
