"""The Slack sandbox's Web API: which methods it models and how a call is answered.

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

The methods live in :mod:`.users` (``auth.test``, ``users.*``), :mod:`.chat` and
:mod:`.conversations`, on the shared pieces of :mod:`.api_base`; the response_url
endpoint is :mod:`.response_url`'s.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Final

from dataworkflows.sandboxes.slack.api_base import ApiAnswer, ApiError, Method
from dataworkflows.sandboxes.slack.chat import (
    chat_post_ephemeral,
    chat_post_message,
    chat_update,
)
from dataworkflows.sandboxes.slack.conversations import (
    conversations_history,
    conversations_info,
    conversations_list,
    conversations_replies,
)
from dataworkflows.sandboxes.slack.state import SlackSandbox
from dataworkflows.sandboxes.slack.users import auth_test, users_info, users_list

__all__ = ["METHODS", "handle_method"]


METHODS: Final[Mapping[str, Method]] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "conversations.list": conversations_list,
    "conversations.info": conversations_info,
    "chat.postEphemeral": chat_post_ephemeral,
    "users.info": users_info,
    "users.list": users_list,
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
