"""The Slack connector's actions, over the Slack port.

``slack.post_message``, ``slack.update_message``, ``slack.request_approval``,
``slack.list_messages``, ``slack.list_users`` and ``slack.respond``; Slack's errors
become the connector API's typed errors here, with Slack's own error string kept as
``upstream_code`` (the Slack bot falls back to the response_url on ``not_in_channel``
/ ``channel_not_found``).
Served in-process by the engine (``dev``) or as ``dataworkflows serve connector slack``.

The field names are a contract with the Slack bot and with shipped workflows: add
optional fields, never rename.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec

from dataworkflows.connectors.slack.approval import (
    ApprovalInput,
    ApprovalPosted,
    approval_blocks,
)
from dataworkflows.connectors.slack.blocks import message_problem
from dataworkflows.connectors.slack.port import (
    PostedMessage,
    ResponseMessage,
    SlackMessage,
    SlackPort,
    SlackUser,
)
from dataworkflows.connectors.toolkit import RecentResults
from dataworkflows.contracts import ActionFailed
from dataworkflows.runtime.actions import ActionCall, ActionSet

__all__ = [
    "MessageList",
    "UserList",
    "UserSummary",
    "list_channel_messages",
    "list_workspace_users",
    "slack_actions",
]

T = TypeVar("T")

Channel = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=80,
        description="A channel id (C0123ABCD); chat.postMessage also takes a channel name",
    ),
]
Ts = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\d{1,12}(\.\d{1,6})?$", description="A message ts, e.g. 1764123456.000100"
    ),
]
Blocks = Annotated[list[dict[str, Any]], msgspec.Meta(description="Block Kit blocks (at most 50)")]


class PostMessageInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A message to post as the bot: ``text`` and/or ``blocks`` (one is required)."""

    channel: Channel
    text: str | None = None
    """Message text (mrkdwn); the notification and screen-reader text when blocks are set."""
    blocks: Blocks | None = None
    thread_ts: Ts | None = None
    """Reply in the thread of this message."""
    reply_broadcast: bool = False
    """With ``thread_ts``: show the reply in the channel too."""
    unfurl_links: bool | None = None


class UpdateMessageInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """New text and/or blocks for a message the bot posted."""

    channel: Channel
    ts: Ts
    text: str | None = None
    blocks: Blocks | None = None


class MessageRef(msgspec.Struct, kw_only=True):
    """Where the message is: its channel id and ts."""

    channel: str
    ts: str


class ListMessagesInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which channel, which time window (ts bounds, exclusive) and how many messages."""

    channel: Channel
    oldest: Ts | None = None
    latest: Ts | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 200
    """The most messages returned."""


class MessageList(msgspec.Struct, kw_only=True):
    """A channel's messages, newest first (thread replies are not included; a parent
    carries its ``reply_count``); ``has_more`` when the limit cut the list short."""

    channel: str
    messages: list[SlackMessage]
    count: int
    has_more: bool


class ListUsersInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which members of the workspace to list, and how many at most."""

    include_bots: bool = False
    """List bot users too (apps' bots and Slackbot)."""
    include_deleted: bool = False
    """List deactivated users too (old messages still name them)."""
    limit: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Stop after this many users (after filtering); None: every one."""


class UserSummary(msgspec.Struct, kw_only=True):
    """A member of the workspace: the id messages carry, and the names to show for it."""

    id: str
    name: str
    """The handle (``maya.patel``)."""
    real_name: str
    display_name: str
    """What Slack shows; may be empty (then show ``real_name``, then ``name``)."""
    is_bot: bool
    deleted: bool


class UserList(msgspec.Struct, kw_only=True):
    """Members of the workspace, in Slack's order."""

    users: list[UserSummary]
    count: int


class RespondInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A reply through a slash command's or interaction's ``response_url``."""

    response_url: Annotated[str, msgspec.Meta(min_length=8, max_length=2048)]
    text: str | None = None
    blocks: Blocks | None = None
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    replace_original: bool = False
    delete_original: bool = False
    thread_ts: Ts | None = None


class RespondOutput(msgspec.Struct, kw_only=True):
    """Slack accepted the response."""

    ok: bool


async def list_channel_messages(
    port: SlackPort,
    channel: str,
    *,
    limit: int = 200,
    oldest: str | None = None,
    latest: str | None = None,
    page_size: int = 200,
) -> MessageList:
    """The newest ``limit`` messages of ``channel`` in the window, following cursors."""
    messages: list[SlackMessage] = []
    has_more = False
    async for page in port.history_pages(
        channel, oldest=oldest, latest=latest, page_size=min(page_size, limit)
    ):
        room = limit - len(messages)
        messages.extend(page.messages[:room])
        if len(messages) >= limit:
            has_more = len(page.messages) > room or bool(page.next_cursor) or page.has_more
            break
    return MessageList(channel=channel, messages=messages, count=len(messages), has_more=has_more)


def _summary(user: SlackUser) -> UserSummary:
    return UserSummary(
        id=user.id,
        name=user.name,
        real_name=user.real_name,
        display_name=user.display_name,
        is_bot=user.is_bot,
        deleted=user.deleted,
    )


async def list_workspace_users(
    port: SlackPort,
    *,
    include_bots: bool = False,
    include_deleted: bool = False,
    limit: int | None = None,
    page_size: int = 200,
) -> UserList:
    """The workspace's users (people only, unless told), following cursors, stopping
    once ``limit`` users are listed."""
    users: list[UserSummary] = []
    async for page in port.user_pages(page_size=page_size):
        for user in page.users:
            if (user.is_bot and not include_bots) or (user.deleted and not include_deleted):
                continue
            users.append(_summary(user))
            if limit is not None and len(users) >= limit:
                return UserList(users=users, count=len(users))
    return UserList(users=users, count=len(users))


def _check(
    text: str | None, blocks: list[dict[str, Any]] | None, *, content_required: bool = True
) -> None:
    problem = message_problem(text, blocks, content_required=content_required)
    if problem is not None:
        raise ActionFailed.of("invalid_input", problem)


def slack_actions(port: SlackPort, *, page_size: int = 200) -> ActionSet:
    """The ``slack`` connector's actions over ``port``.

    ``page_size``: messages per ``conversations.history`` call and users per
    ``users.list`` call (Slack recommends at most 200).
    """
    slack = ActionSet(
        "slack",
        description="Messages in Slack channels, replies to commands, and the workspace's users.",
    )
    posted: RecentResults[PostedMessage] = RecentResults()
    responded: RecentResults[bool] = RecentResults()

    @slack.action(
        "post_message",
        effect="write",
        description="Post a message as the bot (text and/or Block Kit blocks; in a thread "
        "with `thread_ts`). Checked against Slack's limits first: at most 50 blocks, "
        "section text at most 3,000 characters, text at most 40,000.",
    )
    async def post_message(data: PostMessageInput, call: ActionCall) -> MessageRef:
        _check(data.text, data.blocks)
        message = await posted.once(
            call.idempotency_key,
            lambda: port.post_message(
                data.channel,
                text=data.text,
                blocks=data.blocks,
                thread_ts=data.thread_ts,
                reply_broadcast=data.reply_broadcast,
                unfurl_links=data.unfurl_links,
            ),
        )
        return MessageRef(channel=message.channel, ts=message.ts)

    @slack.action(
        "update_message",
        effect="write",
        description="Replace the text and/or blocks of a message the bot posted (chat.update).",
    )
    async def update_message(data: UpdateMessageInput, call: ActionCall) -> MessageRef:
        _check(data.text, data.blocks)
        message = await port.update_message(
            data.channel, data.ts, text=data.text, blocks=data.blocks
        )
        return MessageRef(channel=message.channel, ts=message.ts)

    @slack.action(
        "request_approval",
        effect="write",
        description="Ask for a decision: a message with Approve and Reject buttons that "
        "only `approvers` may use (others are told so, privately). The Slack bot sends "
        "the run the `signal` (default `approval`) with `{decision, by, by_name, at}`: "
        "follow with a `wait.signal` step, then `slack.update_message` to show the outcome.",
    )
    async def request_approval(data: ApprovalInput, call: ActionCall) -> ApprovalPosted:
        run_id = call.context.run_id if call.context is not None else None
        if not run_id:
            raise ActionFailed.of(
                "invalid_input", "request_approval works only as a step of a workflow run"
            )
        blocks = approval_blocks(data, run_id)
        done = await posted.once(
            call.idempotency_key,
            lambda: port.post_message(data.channel, text=data.text, blocks=blocks),
        )
        return ApprovalPosted(
            channel=done.channel,
            ts=done.ts,
            signal=data.signal,
            approvers=list(dict.fromkeys(data.approvers)),
        )

    @slack.action(
        "list_messages",
        effect="read",
        description="A channel's messages, newest first, between `oldest` and `latest` "
        "(message ts, exclusive), at most `limit` (1..1000); follows Slack's cursors. "
        "Thread replies are not listed; parents carry `reply_count`.",
    )
    async def list_messages(data: ListMessagesInput, call: ActionCall) -> MessageList:
        return await list_channel_messages(
            port,
            data.channel,
            limit=data.limit,
            oldest=data.oldest,
            latest=data.latest,
            page_size=page_size,
        )

    @slack.action(
        "list_users",
        effect="read",
        description="The workspace's users, to show names for the user ids messages carry "
        "(`U061000001` -> Maya Patel): `id`, `name` (the handle), `real_name`, "
        "`display_name` (may be empty), `is_bot`, `deleted`. People only unless "
        "`include_bots` / `include_deleted`; at most `limit` users (default: all). Follows "
        "Slack's cursors (users.list).",
    )
    async def list_users(data: ListUsersInput, call: ActionCall) -> UserList:
        return await list_workspace_users(
            port,
            include_bots=data.include_bots,
            include_deleted=data.include_deleted,
            limit=data.limit,
            page_size=page_size,
        )

    @slack.action(
        "respond",
        effect="write",
        description="Reply through a slash command's or button's `response_url` "
        "(https://hooks.slack.com/... only): ephemeral (default) or in_channel, or "
        "replace/delete the message the button was on. A response_url takes at most 5 "
        "messages within 30 minutes; a used-up or expired one is invalid_input with "
        "upstream_code used_url/expired_url.",
    )
    async def respond(data: RespondInput, call: ActionCall) -> RespondOutput:
        _check(data.text, data.blocks, content_required=not data.delete_original)
        if responded.get(call.idempotency_key):
            return RespondOutput(ok=True)
        message = ResponseMessage(
            text=data.text,
            blocks=data.blocks,
            response_type=data.response_type,
            replace_original=data.replace_original,
            delete_original=data.delete_original,
            thread_ts=data.thread_ts,
        )
        await port.respond(data.response_url, message)
        responded.put(call.idempotency_key, True)
        return RespondOutput(ok=True)

    return slack
