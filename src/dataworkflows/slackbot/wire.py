"""What Slack sends the bot: slash commands, Events API envelopes, block actions.

Only the fields the bot reads are declared; Slack adds fields over time and unknown
ones are ignored. Every field has a default so that a payload missing one is still
decoded, and the code that uses it decides what an empty value means.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qs

import msgspec

__all__ = [
    "BlockAction",
    "BlockActions",
    "EventEnvelope",
    "MentionEvent",
    "SlashCommand",
    "WireError",
    "decode_block_actions",
    "decode_envelope",
    "decode_mention",
    "parse_form",
]

MAX_FORM_FIELDS: Final = 64


class WireError(ValueError):
    """A signed request whose body is not what Slack sends."""


class SlashCommand(msgspec.Struct, frozen=True, kw_only=True):
    """A slash command (``application/x-www-form-urlencoded``)."""

    command: str = ""
    text: str = ""
    user_id: str = ""
    channel_id: str = ""
    team_id: str = ""
    response_url: str = ""
    trigger_id: str = ""


class Authorization(msgspec.Struct, frozen=True, kw_only=True):
    """Who the event was delivered for (the bot's own user id)."""

    user_id: str = ""


class EventEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """An Events API request: ``url_verification`` or an ``event_callback``."""

    type: str = ""
    challenge: str = ""
    event_id: str = ""
    team_id: str = ""
    event: dict[str, Any] | None = None
    authorizations: list[Authorization] = msgspec.field(default_factory=list)

    @property
    def bot_user_id(self) -> str:
        """The bot's own Slack user id, when Slack told us."""
        return self.authorizations[0].user_id if self.authorizations else ""


class MentionEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An ``app_mention`` (or any message-like) event."""

    type: str = ""
    user: str = ""
    text: str = ""
    channel: str = ""
    ts: str = ""
    thread_ts: str | None = None
    bot_id: str | None = None
    subtype: str | None = None


class Identified(msgspec.Struct, frozen=True, kw_only=True):
    """A user or channel reference in an interactivity payload."""

    id: str = ""
    name: str = ""
    username: str = ""


class MessageRef(msgspec.Struct, frozen=True, kw_only=True):
    """The message a button was clicked on."""

    ts: str = ""


class Container(msgspec.Struct, frozen=True, kw_only=True):
    """Where the clicked block lives."""

    type: str = ""
    message_ts: str = ""
    channel_id: str = ""
    is_ephemeral: bool = False


class BlockAction(msgspec.Struct, frozen=True, kw_only=True):
    """One clicked element."""

    action_id: str = ""
    value: str = ""


class BlockActions(msgspec.Struct, frozen=True, kw_only=True):
    """An interactivity payload (``block_actions`` and the types the bot ignores)."""

    type: str = ""
    user: Identified = msgspec.field(default_factory=Identified)
    channel: Identified | None = None
    message: MessageRef | None = None
    container: Container = msgspec.field(default_factory=Container)
    response_url: str = ""
    trigger_id: str = ""
    actions: list[BlockAction] = msgspec.field(default_factory=list)

    @property
    def channel_id(self) -> str:
        """The channel of the clicked message."""
        return self.channel.id if self.channel else self.container.channel_id

    @property
    def message_ts(self) -> str:
        """The ts of the clicked message ("" for an ephemeral one)."""
        return self.message.ts if self.message else self.container.message_ts


def parse_form(body: bytes) -> dict[str, str]:
    """A form body as its first value per field; :class:`WireError` when it is not one."""
    try:
        text = body.decode("utf-8")
        fields = parse_qs(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"the body is not a form ({type(exc).__name__})") from None
    return {name: values[0] for name, values in fields.items() if values}


def decode_envelope(body: bytes) -> EventEnvelope:
    """An Events API body; :class:`WireError` when it is not one."""
    try:
        return msgspec.json.decode(body, type=EventEnvelope)
    except msgspec.DecodeError as exc:
        raise WireError(f"the body is not an Events API envelope: {exc}") from None


def decode_mention(event: dict[str, Any]) -> MentionEvent | None:
    """The event as a mention, or None when its fields have other types."""
    try:
        return msgspec.convert(event, MentionEvent)
    except msgspec.ValidationError:
        return None


def decode_block_actions(payload: str) -> BlockActions:
    """The ``payload`` field of an interactivity request; :class:`WireError` if malformed."""
    try:
        return msgspec.json.decode(payload, type=BlockActions)
    except msgspec.DecodeError as exc:
        raise WireError(f"the payload is not an interactivity payload: {exc}") from None
