"""Who is who in the Slack sandbox: ``auth.test`` (the bot token's identity),
``users.info`` and ``users.list``, and the user object they show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dataworkflows.sandboxes.slack.api_base import (
    ApiError,
    bool_arg,
    decode_cursor,
    encode_cursor,
    int_arg,
    str_arg,
)
from dataworkflows.sandboxes.slack.demo_data import SlackWorkspace
from dataworkflows.sandboxes.slack.state import SlackSandbox

__all__ = ["auth_test", "user_view", "users_info", "users_list"]

USERS_MAX_LIMIT: Final = 1000


def auth_test(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``auth.test``: the workspace and bot user the token belongs to."""
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


def users_info(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``users.info``: one person or the bot user."""
    wanted = str_arg(args, "user")
    user = (
        user_view(sandbox.workspace, wanted, include_locale=bool_arg(args, "include_locale"))
        if wanted
        else None
    )
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user}


def users_list(sandbox: SlackSandbox, args: Mapping[str, Any]) -> dict[str, Any]:
    """``users.list``: every demo person, then the bot user."""
    ws = sandbox.workspace
    ids = [*(u.id for u in ws.users), ws.bot.user_id]
    cursor = str_arg(args, "cursor")
    if cursor is not None:
        after = decode_cursor(cursor, "user")
        if after not in ids:
            raise ApiError("invalid_cursor")
        ids = ids[ids.index(after) :]
    # No limit (or 0) asks for everything; Slack still pages at its maximum of 1000.
    limit = int_arg(args, "limit", default=USERS_MAX_LIMIT, low=1, high=USERS_MAX_LIMIT)
    page, rest = ids[:limit], ids[limit:]
    include_locale = bool_arg(args, "include_locale")
    members = [user_view(ws, user_id, include_locale=include_locale) for user_id in page]
    return {
        "members": [m for m in members if m is not None],
        "cache_ts": int(sandbox.now()),
        "response_metadata": {"next_cursor": encode_cursor("user", rest[0]) if rest else ""},
    }
