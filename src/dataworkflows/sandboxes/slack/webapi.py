"""The Slack sandbox's Web API methods and response_url endpoint, on its state.

Shapes follow, in order of authority: ../shared/reference/slack.md; Slack's method
reference (docs.slack.dev/reference/methods/...); slack-api-specs
(``web-api/slack_web_openapi_v2.json``: id patterns, error enums such as
chat.postMessage's ``channel_not_found``, ``not_in_channel``, ``is_archived``,
``msg_too_long``, ``no_text``); and the response samples of slackapi/java-slack-sdk
(``json-logs/samples/api/*.json``: the members of ``auth.test``, ``chat.postMessage``
``message``, ``conversations.history``/``replies`` messages with ``reply_count``,
``reply_users``, ``latest_reply``, ``parent_user_id``, ``bot_profile``).

- Every method answers HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false,
  "error": "<code>"}``; only rate limits differ (HTTP 429, integer ``Retry-After``).
- ``conversations.history``: newest first; ``oldest``/``latest`` exclusive unless
  ``inclusive``; ``limit`` default 100, at most 999; ``has_more`` and
  ``response_metadata.next_cursor`` (base64 of ``next_ts:<micros>``, as Slack's look;
  ``""`` on the last page); thread replies are not listed (except
  ``thread_broadcast``), parents carry ``reply_count`` and friends.
- ``conversations.replies``: the parent first, then replies oldest first; ``ts`` may be
  the parent's or any reply's; unknown ``ts`` is ``thread_not_found``.
- ``chat.update`` keeps text or blocks that are not sent (Slack: "to remove previous
  blocks, include an empty array"); only the bot's own messages (``cant_update_message``).
- ``users.list`` (and ``users.info``): the same user object for a person or the app's
  bot user (``is_bot``; its ``profile`` names ``bot_id`` and ``api_app_id``); every
  demo person, then the bot user (the demo workspace has no deactivated users, which
  Slack would list with ``deleted: true``). ``cursor`` is base64 of ``user:<id>`` (the
  docs' example cursor ``dXNlcjpVMDYxTkZUVDI=`` decodes to ``user:U061NFTT2``), an
  unknown one ``invalid_cursor``; ``response_metadata.next_cursor`` is ``""`` on the
  last page; ``cache_ts`` is sandbox time. Without ``limit`` (or 0) Slack "attempts to
  deliver the entire result set"; a ``limit`` above 1000 is clamped to 1000, not
  refused (docs.slack.dev/apis/web-api/pagination: "The limit parameter maximum is
  1000 and subject to change and may vary per method", so clamping is the forgiving
  reading, as for ``conversations.list``). ``team_id`` (org tokens only) is ignored;
  ``include_locale=true`` adds ``locale``.
- A ``thread_ts`` that names no message is accepted and the reply stored (Slack posts
  such replies without error; they show in no thread).

The response_url endpoint models Slack's documented limits (5 uses within 30 minutes)
with the incoming-webhook error style: HTTP 4xx and a ``text/plain`` body naming the
error (``used_url``, ``expired_url``, ``no_text``, ``invalid_blocks``,
``invalid_payload``, ``no_service``); success is HTTP 200 ``{"ok": true}``. The exact
status and body Slack uses for a used-up or expired URL is not in the public docs we
could check; clients should (as ours does) treat any 4xx as final.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from dataworkflows.sandboxes.slack.demo_data import (
    DemoChannel,
    DemoMessage,
    SlackWorkspace,
    ts_micros,
)
from dataworkflows.sandboxes.slack.state import (
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_TTL_S,
    EphemeralMessage,
    MintedUrl,
    ResponsePost,
    SlackSandbox,
)

__all__ = [
    "MAX_TEXT",
    "ApiAnswer",
    "ApiError",
    "block_errors",
    "channel_view",
    "handle_method",
    "handle_response_url",
    "message_view",
    "post_bot_message",
    "user_view",
]

MAX_TEXT: Final = 40_000
HISTORY_DEFAULT_LIMIT: Final = 100
HISTORY_MAX_LIMIT: Final = 999
REPLIES_DEFAULT_LIMIT: Final = 1000
LIST_DEFAULT_LIMIT: Final = 100
LIST_MAX_LIMIT: Final = 1000
USERS_MAX_LIMIT: Final = 1000
BLOCKS_FALLBACK_TEXT: Final = "This content can't be displayed."


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


def _str_arg(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _bool_arg(args: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = args.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def _int_arg(args: Mapping[str, Any], name: str, *, default: int, low: int, high: int) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError("invalid_arguments", detail=f"{name} must be an integer") from None
    # Slack clamps out-of-range limits rather than refusing them.
    return max(low, min(number, high)) if number > 0 else default


def _json_list_arg(args: Mapping[str, Any], name: str, error: str) -> list[Any] | None:
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


def _ts_arg(args: Mapping[str, Any], name: str, error: str) -> int | None:
    value = _str_arg(args, name)
    if value is None:
        return None
    seconds, _, fraction = value.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        raise ApiError(error)
    return ts_micros(value)


# -- Block Kit ---------------------------------------------------------------------------

_BLOCK_TYPES: Final = frozenset(
    {
        "section",
        "divider",
        "image",
        "actions",
        "context",
        "header",
        "input",
        "rich_text",
        "file",
        "video",
        "markdown",
        "table",
        "context_actions",
    }
)


def _text_object_errors(value: object, pointer: str, *, max_len: int, plain: bool) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"must be an object [json-pointer:{pointer}]"]
    kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if value.get("type") not in kinds:
        return [f"must be one of {', '.join(kinds)} [json-pointer:{pointer}/type]"]
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(text) > max_len:
        return [f"must be less than {max_len + 1} characters [json-pointer:{pointer}/text]"]
    return []


def _element_errors(element: object, pointer: str, action_ids: set[str]) -> list[str]:
    if not isinstance(element, Mapping) or not isinstance(element.get("type"), str):
        return [f"missing required field: type [json-pointer:{pointer}]"]
    errors: list[str] = []
    action_id = element.get("action_id")
    if isinstance(action_id, str):
        if len(action_id) > 255:
            errors.append(f"must be less than 256 characters [json-pointer:{pointer}/action_id]")
        if action_id in action_ids:
            errors.append(f"action_id already exists [json-pointer:{pointer}/action_id]")
        action_ids.add(action_id)
    if element["type"] == "button":
        errors += _text_object_errors(
            element.get("text"), f"{pointer}/text", max_len=75, plain=True
        )
        value = element.get("value")
        if isinstance(value, str) and len(value) > 2000:
            errors.append(f"must be less than 2001 characters [json-pointer:{pointer}/value]")
    return errors


def _section_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    errors: list[str] = []
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        errors.append(f"must provide either text or fields [json-pointer:{pointer}]")
    if text is not None:
        errors += _text_object_errors(text, f"{pointer}/text", max_len=3000, plain=False)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > 10:
            errors.append(f"must contain at most 10 items [json-pointer:{pointer}/fields]")
        else:
            for n, item in enumerate(fields):
                errors += _text_object_errors(
                    item, f"{pointer}/fields/{n}", max_len=2000, plain=False
                )
    accessory = block.get("accessory")
    if accessory is not None:
        errors += _element_errors(accessory, f"{pointer}/accessory", action_ids)
    return errors


def _elements_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    most = 25 if block["type"] == "actions" else 10
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements or len(elements) > most:
        return [f"must contain between 1 and {most} items [json-pointer:{pointer}/elements]"]
    errors: list[str] = []
    if block["type"] == "actions":
        for n, element in enumerate(elements):
            errors += _element_errors(element, f"{pointer}/elements/{n}", action_ids)
    return errors


def _header_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    return _text_object_errors(block.get("text"), f"{pointer}/text", max_len=150, plain=True)


def _markdown_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    text = block.get("text")
    if not isinstance(text, str) or not text or len(text) > 12_000:
        return [f"must be 1 to 12000 characters [json-pointer:{pointer}/text]"]
    return []


def _image_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    errors: list[str] = []
    if not isinstance(block.get("image_url"), str) and not isinstance(
        block.get("slack_file"), dict
    ):
        errors.append(f"missing required field: image_url [json-pointer:{pointer}]")
    if not isinstance(block.get("alt_text"), str):
        errors.append(f"missing required field: alt_text [json-pointer:{pointer}]")
    return errors


_BLOCK_CHECKS: Final[Mapping[str, Callable[[Mapping[str, Any], str, set[str]], list[str]]]] = {
    "section": _section_errors,
    "actions": _elements_errors,
    "context": _elements_errors,
    "header": _header_errors,
    "markdown": _markdown_errors,
    "image": _image_errors,
}


def _block_errors(block: object, pointer: str, action_ids: set[str]) -> list[str]:
    if not isinstance(block, Mapping):
        return [f"must be an object [json-pointer:{pointer}]"]
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        return [f"unsupported type: {kind} [json-pointer:{pointer}/type]"]
    errors: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > 255):
        errors.append(f"must be less than 256 characters [json-pointer:{pointer}/block_id]")
    check = _BLOCK_CHECKS.get(str(kind))
    if check is not None:
        errors += check(block, pointer, action_ids)
    return errors


def block_errors(blocks: Sequence[object]) -> list[str]:
    """Slack-style ``invalid_blocks`` messages for ``blocks`` (empty when they are valid)."""
    if len(blocks) > 50:
        return ["no more than 50 items allowed [json-pointer:/blocks]"]
    errors: list[str] = []
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for index, block in enumerate(blocks):
        errors += _block_errors(block, f"/blocks/{index}", action_ids)
        if isinstance(block, Mapping) and isinstance(block.get("block_id"), str):
            if block["block_id"] in block_ids:
                errors.append(f"block_id already exists [json-pointer:/blocks/{index}/block_id]")
            block_ids.add(block["block_id"])
    return errors


def _invalid_blocks(errors: list[str]) -> ApiError:
    return ApiError(
        "invalid_blocks",
        errors=errors,
        response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
    )


# -- rendering ---------------------------------------------------------------------------


def _bot_profile(workspace: SlackWorkspace) -> dict[str, Any]:
    bot = workspace.bot
    icon = "https://a.slack-edge.com/80588/img/plugins/app/bot_{}.png"
    return {
        "id": bot.bot_id,
        "deleted": False,
        "name": bot.name,
        "updated": 1_700_000_000,
        "app_id": bot.app_id,
        "icons": {f"image_{n}": icon.format(n) for n in (36, 48, 72)},
        "team_id": workspace.team.id,
    }


_SYSTEM_SUBTYPES: Final = frozenset({"channel_join", "channel_archive", "channel_leave"})


def message_view(
    workspace: SlackWorkspace, channel: DemoChannel, message: DemoMessage
) -> dict[str, Any]:
    """``message`` as the Web API shows it (in history, replies and answers)."""
    out: dict[str, Any] = {"type": "message"}
    if message.subtype:
        out["subtype"] = message.subtype
    out["text"] = message.text
    if message.user:
        out["user"] = message.user
    if message.bot_id:
        out["bot_id"] = message.bot_id
        out["app_id"] = message.app_id
        out["bot_profile"] = _bot_profile(workspace)
    out["ts"] = message.ts
    if message.subtype not in _SYSTEM_SUBTYPES:
        out["team"] = workspace.team.id
    if message.client_msg_id:
        out["client_msg_id"] = message.client_msg_id
    if message.blocks is not None:
        out["blocks"] = message.blocks
    if message.attachments:
        out["attachments"] = message.attachments
    if message.metadata:
        out["metadata"] = message.metadata
    if message.edited:
        out["edited"] = dict(message.edited)
    if message.is_reply:
        assert message.thread_ts is not None
        out["thread_ts"] = message.thread_ts
        parent = channel.message(message.thread_ts)
        if parent is not None and parent.user:
            out["parent_user_id"] = parent.user
    else:
        replies = channel.replies(message.ts)
        if replies:
            users = list(dict.fromkeys(r.user for r in replies if r.user))
            out.update(
                {
                    "thread_ts": message.ts,
                    "reply_count": len(replies),
                    "reply_users_count": len(users),
                    "latest_reply": replies[-1].ts,
                    "reply_users": users,
                    "is_locked": False,
                    "subscribed": False,
                }
            )
    return out


def channel_view(workspace: SlackWorkspace, channel: DemoChannel) -> dict[str, Any]:
    """A conversation object (``conversations.list``/``info``) for a public channel."""
    team = workspace.team.id
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_mpim": False,
        "is_private": False,
        "created": channel.created,
        "is_archived": channel.is_archived,
        "is_general": channel.is_general,
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "pending_shared": [],
        "context_team_id": team,
        "updated": channel.created * 1000,
        "parent_conversation": None,
        "creator": channel.creator,
        "is_ext_shared": False,
        "shared_team_ids": [team],
        "pending_connected_team_ids": [],
        "is_member": channel.bot_is_member,
        "topic": {"value": channel.topic, "creator": channel.creator, "last_set": channel.created},
        "purpose": {
            "value": channel.purpose,
            "creator": channel.creator,
            "last_set": channel.created,
        },
        "previous_names": [],
        "num_members": len(channel.members),
    }


def _encode_cursor(prefix: str, value: str) -> str:
    return base64.b64encode(f"{prefix}:{value}".encode()).decode()


def _decode_cursor(cursor: str, prefix: str) -> str:
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("invalid_cursor") from None
    found, _, value = decoded.partition(":")
    if found != prefix or not value:
        raise ApiError("invalid_cursor")
    return value


def _next_ts_cursor(args: Mapping[str, Any]) -> int | None:
    cursor = _str_arg(args, "cursor")
    if cursor is None:
        return None
    value = _decode_cursor(cursor, "next_ts")
    if not value.isdigit():
        raise ApiError("invalid_cursor")
    return int(value)


# -- methods -----------------------------------------------------------------------------


def _channel(
    sandbox: SlackSandbox, args: Mapping[str, Any], *, by_name: bool = False
) -> DemoChannel:
    """The ``channel`` argument's channel. Only chat.postMessage takes a channel name;
    the other methods want the id and answer channel_not_found for a name."""
    wanted = _str_arg(args, "channel")
    channel = sandbox.workspace.channels.get(wanted) if wanted else None
    if channel is None and by_name and wanted:
        channel = sandbox.workspace.channel(wanted)
    if channel is None:
        raise ApiError("channel_not_found")
    return channel


def _readable(sandbox: SlackSandbox, args: Mapping[str, Any]) -> DemoChannel:
    channel = _channel(sandbox, args)
    if not channel.bot_is_member:
        raise ApiError("not_in_channel")
    return channel


def _writable(sandbox: SlackSandbox, args: Mapping[str, Any]) -> DemoChannel:
    channel = _channel(sandbox, args, by_name=True)
    if channel.is_archived:
        raise ApiError("is_archived")
    if not channel.bot_is_member:
        raise ApiError("not_in_channel")
    return channel


def _content(args: Mapping[str, Any]) -> tuple[str | None, list[Any] | None, list[Any] | None]:
    """text, blocks and attachments of a message, checked as chat.postMessage does."""
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    blocks = _json_list_arg(args, "blocks", "invalid_blocks_format")
    attachments = _json_list_arg(args, "attachments", "invalid_attachments")
    if blocks is not None:
        errors = block_errors(blocks)
        if errors:
            raise _invalid_blocks(errors)
    if text is not None and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    return text, blocks, attachments


def _auth_test(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    ws = sandbox.workspace
    return {
        "url": ws.team.url,
        "team": ws.team.name,
        "user": ws.bot.name,
        "team_id": ws.team.id,
        "user_id": ws.bot.user_id,
        "bot_id": ws.bot.bot_id,
        "is_enterprise_install": False,
    }


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


def _post_message(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _writable(sandbox, args)
    text, blocks, attachments = _content(args)
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
        thread_ts=_str_arg(args, "thread_ts"),
        reply_broadcast=_bool_arg(args, "reply_broadcast"),
        metadata=metadata if isinstance(metadata, dict) else None,
    )
    return {
        "channel": channel.id,
        "ts": message.ts,
        "message": message_view(sandbox.workspace, channel, message),
    }


def _update(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _channel(sandbox, args)
    ts = _str_arg(args, "ts")
    message = channel.message(ts) if ts else None
    if message is None:
        raise ApiError("message_not_found")
    if message.bot_id != sandbox.workspace.bot.bot_id:
        raise ApiError("cant_update_message")
    if channel.is_archived:
        raise ApiError("is_archived")
    text, blocks, attachments = _content(args)
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


def _window(args: Mapping[str, Any]) -> Callable[[int], bool]:
    oldest = _ts_arg(args, "oldest", "invalid_ts_oldest")
    latest = _ts_arg(args, "latest", "invalid_ts_latest")
    inclusive = _bool_arg(args, "inclusive")
    low = oldest if oldest is not None else -1
    high = latest if latest is not None else 10**20

    def within(micros: int) -> bool:
        if inclusive:
            return low <= micros <= high
        return low < micros < high

    return within


def _history(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _readable(sandbox, args)
    limit = _int_arg(args, "limit", default=HISTORY_DEFAULT_LIMIT, low=1, high=HISTORY_MAX_LIMIT)
    within = _window(args)
    start = _next_ts_cursor(args)
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
            "next_cursor": _encode_cursor("next_ts", str(ts_micros(rest[0].ts))) if rest else ""
        },
    }


def _replies(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _readable(sandbox, args)
    ts = _str_arg(args, "ts")
    if ts is None:
        raise ApiError("invalid_arguments", detail="ts is required")
    found = channel.message(ts)
    if found is None:
        raise ApiError("thread_not_found")
    parent = channel.message(found.thread_ts) if found.is_reply and found.thread_ts else found
    if parent is None:
        raise ApiError("thread_not_found")
    limit = _int_arg(args, "limit", default=REPLIES_DEFAULT_LIMIT, low=1, high=1000)
    within = _window(args)
    start = _next_ts_cursor(args)
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
            "next_cursor": _encode_cursor("next_ts", str(ts_micros(rest[0].ts))) if rest else ""
        },
    }


def _list(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    types = (_str_arg(args, "types") or "public_channel").split(",")
    if "public_channel" not in [t.strip() for t in types]:
        return {"channels": [], "response_metadata": {"next_cursor": ""}}
    channels = [
        c
        for c in sandbox.workspace.channels.values()
        if not (_bool_arg(args, "exclude_archived") and c.is_archived)
    ]
    cursor = _str_arg(args, "cursor")
    if cursor is not None:
        after = _decode_cursor(cursor, "team")
        ids = [c.id for c in channels]
        if after not in ids:
            raise ApiError("invalid_cursor")
        channels = channels[ids.index(after) :]
    limit = _int_arg(args, "limit", default=LIST_DEFAULT_LIMIT, low=1, high=LIST_MAX_LIMIT)
    page, rest = channels[:limit], channels[limit:]
    return {
        "channels": [channel_view(sandbox.workspace, c) for c in page],
        "response_metadata": {"next_cursor": _encode_cursor("team", rest[0].id) if rest else ""},
    }


def _info(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"channel": channel_view(sandbox.workspace, _channel(sandbox, args))}


def _post_ephemeral(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    channel = _writable(sandbox, args)
    user = _str_arg(args, "user")
    if user is None or sandbox.workspace.user(user) is None:
        raise ApiError("user_not_found")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks, _ = _content(args)
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


def user_view(
    workspace: SlackWorkspace, user_id: str, *, include_locale: bool = False
) -> dict[str, Any] | None:
    """The user object of a person or of the app's bot user (``users.info``'s ``user``,
    ``users.list``'s ``members``), or None for an unknown id."""
    ws = workspace
    is_bot = user_id == ws.bot.user_id
    if is_bot:
        name, real_name, email = ws.bot.name, ws.bot.real_name, None
    else:
        person = ws.user(user_id)
        if person is None:
            return None
        name, real_name, email = person.name, person.real_name, person.email
    profile: dict[str, Any] = {
        "real_name": real_name,
        "display_name": name,
        "real_name_normalized": real_name,
        "display_name_normalized": name,
        "team": ws.team.id,
    }
    if email is not None:
        profile["email"] = email
    if is_bot:
        # A bot user's profile names its bot and app (the members of java-slack-sdk's
        # json-logs/samples/api/users.list.json).
        profile.update({"bot_id": ws.bot.bot_id, "api_app_id": ws.bot.app_id})
        profile["always_active"] = True
    user: dict[str, Any] = {
        "id": user_id,
        "team_id": ws.team.id,
        "name": name,
        "deleted": False,
        "real_name": real_name,
        "tz": "Europe/Berlin",
        "tz_label": "Central European Time",
        "tz_offset": 3600,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": 1_700_000_000,
    }
    if include_locale:
        user["locale"] = "en-US"
    return user


def _users_info(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    wanted = _str_arg(args, "user")
    user = (
        user_view(sandbox.workspace, wanted, include_locale=_bool_arg(args, "include_locale"))
        if wanted
        else None
    )
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user}


def _users_list(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    ws = sandbox.workspace
    ids = [*(u.id for u in ws.users), ws.bot.user_id]
    cursor = _str_arg(args, "cursor")
    if cursor is not None:
        after = _decode_cursor(cursor, "user")
        if after not in ids:
            raise ApiError("invalid_cursor")
        ids = ids[ids.index(after) :]
    # No limit (or 0) asks for everything; Slack still pages at its maximum of 1000.
    limit = _int_arg(args, "limit", default=USERS_MAX_LIMIT, low=1, high=USERS_MAX_LIMIT)
    page, rest = ids[:limit], ids[limit:]
    include_locale = _bool_arg(args, "include_locale")
    members = [user_view(ws, user_id, include_locale=include_locale) for user_id in page]
    return {
        "members": [m for m in members if m is not None],
        "cache_ts": int(sandbox.now()),
        "response_metadata": {"next_cursor": _encode_cursor("user", rest[0]) if rest else ""},
    }


Method = Callable[[SlackSandbox, Mapping[str, Any]], dict[str, Any]]

METHODS: Final[Mapping[str, Method]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "conversations.history": _history,
    "conversations.replies": _replies,
    "conversations.list": _list,
    "conversations.info": _info,
    "chat.postEphemeral": _post_ephemeral,
    "users.info": _users_info,
    "users.list": _users_list,
}
"""The modelled methods (all need the bot token); ``api.test`` needs none."""


def handle_method(
    sandbox: SlackSandbox, method: str, args: Mapping[str, Any], token: str | None
) -> ApiAnswer:
    """Answer Web API ``method`` called with ``args`` and ``token`` (faults aside)."""
    if method == "api.test":
        echoed = {k: v for k, v in args.items() if k != "token"}
        return ApiAnswer(200, {"ok": True, "args": echoed} if echoed else {"ok": True})
    handler = METHODS.get(method)
    if handler is None:
        return ApiAnswer(200, {"ok": False, "error": "unknown_method", "req_method": method})
    if token is None:
        return ApiAnswer(200, {"ok": False, "error": "not_authed"})
    if not hmac.compare_digest(token.encode(), sandbox.token.encode()):
        return ApiAnswer(200, {"ok": False, "error": "invalid_auth"})
    try:
        body = handler(sandbox, args)
    except ApiError as exc:
        return ApiAnswer(200, {"ok": False, "error": exc.code, **exc.extra})
    return ApiAnswer(200, {"ok": True, **body})


# -- response_url ------------------------------------------------------------------------


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
