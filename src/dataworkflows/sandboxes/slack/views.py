"""Messages and channels as the Slack Web API shows them (``conversations.history``
and ``replies``, ``chat.*`` answers, ``conversations.list`` and ``info``), and as the
sandbox's driver and controls show them.
"""

from __future__ import annotations

from typing import Any, Final

from dataworkflows.sandboxes.slack.demo_data import DemoChannel, DemoMessage, SlackWorkspace

__all__ = ["channel_view", "message_view"]


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
    """A conversation object (``conversations.list``/``info``): a public channel's, or a
    direct message's (shorter, with the person's ``user`` id and no name)."""
    team = workspace.team.id
    if channel.is_im:
        return {
            "id": channel.id,
            "created": channel.created,
            "is_archived": False,
            "is_im": True,
            "is_org_shared": False,
            "context_team_id": team,
            "updated": channel.created * 1000,
            "user": channel.user,
            "is_user_deleted": False,
            "priority": 0,
        }
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
