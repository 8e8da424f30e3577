"""The Slack port: what the connector needs from Slack, in its own types.

The Web API client (:mod:`.client`) and the in-memory fake (:mod:`.fake`) implement
:class:`SlackPort`; the connector's actions (:mod:`.service`) see only this module.
Errors are this module's own hierarchy, so nothing above sees slack-sdk, aiohttp or
httpx exceptions. ``code`` on every error is Slack's own error string
(``channel_not_found``, ``not_in_channel``, ``used_url``...) when Slack gave one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, Final, Literal, Protocol

import httpx
import msgspec

from dataworkflows.contracts import upstream

__all__ = [
    "HOOKS_ORIGIN",
    "AuthIdentity",
    "HistoryPage",
    "PostedMessage",
    "ResponseMessage",
    "SlackAuthError",
    "SlackError",
    "SlackInvalidRequest",
    "SlackMessage",
    "SlackNotFound",
    "SlackPort",
    "SlackRateLimited",
    "SlackResponseUrlGone",
    "SlackUnavailable",
    "SlackUser",
    "UserPage",
    "origin_of",
    "response_url_problem",
]

HOOKS_ORIGIN: Final = ("https", "hooks.slack.com", 443)
"""Where Slack's response_urls live (``https://hooks.slack.com/commands/...``)."""


class SlackMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a conversation, reduced to what workflows read."""

    ts: str
    """Slack's id of the message in its channel (``"1764123456.000100"``)."""
    user: str | None = None
    bot_id: str | None = None
    text: str = ""
    thread_ts: str | None = None
    """The thread's parent ts: on a parent (equal to ``ts``) and on replies."""
    reply_count: int = 0
    subtype: str | None = None


class PostedMessage(msgspec.Struct, frozen=True, kw_only=True):
    """Where a posted or updated message is: its channel id and ts."""

    channel: str
    ts: str


class HistoryPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of ``conversations.history`` (newest first, as Slack returns it)."""

    messages: list[SlackMessage]
    has_more: bool
    next_cursor: str | None = None
    """Empty or None: this was the last page."""


class SlackUser(msgspec.Struct, frozen=True, kw_only=True):
    """A member of the workspace (a ``users.list`` / ``users.info`` user object),
    reduced to what workflows read."""

    id: str
    """Slack's user id (``U061000001``), what messages carry as ``user``."""
    name: str = ""
    """The handle (``maya.patel``)."""
    real_name: str = ""
    display_name: str = ""
    """``profile.display_name``: may be empty (people need not set one)."""
    is_bot: bool = False
    """A bot user (apps' bots, and Slackbot ``USLACKBOT``)."""
    deleted: bool = False
    """Deactivated: still listed by ``users.list``, still the author of old messages."""
    tz: str | None = None
    """IANA time zone (``Europe/Berlin``), when Slack gives one."""


class UserPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of ``users.list`` (Slack lists users in no particular order)."""

    users: list[SlackUser]
    next_cursor: str | None = None
    """Empty or None: this was the last page."""


class AuthIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """Who the token belongs to (``auth.test``)."""

    team_id: str
    user_id: str
    bot_id: str | None = None
    team: str | None = None
    user: str | None = None
    url: str | None = None


class ResponseMessage(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A message posted to a ``response_url`` (Slack's documented fields)."""

    text: str | None = None
    blocks: list[dict[str, Any]] | None = None
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    replace_original: bool = False
    delete_original: bool = False
    thread_ts: str | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON body: both flags always sent, since Slack's default for them has
        changed over the years and differs between commands and interactive messages."""
        body: dict[str, Any] = msgspec.to_builtins(self)
        body["response_type"] = self.response_type
        body["replace_original"] = self.replace_original
        body["delete_original"] = self.delete_original
        return body


class SlackError(upstream.UpstreamError):
    """Slack refused or failed a request; ``code`` is Slack's error string if any."""


class SlackAuthError(SlackError, upstream.AuthFailed):
    """The token is missing, invalid, revoked, or lacks a scope (``invalid_auth``...)."""


class SlackRateLimited(SlackError, upstream.RateLimited):
    """HTTP 429 ``ratelimited``: try again after ``retry_after`` seconds."""

    retry_after: float

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code, retry_after=retry_after)


class SlackNotFound(SlackError, upstream.NotFound):
    """The channel, message or thread does not exist (or is not visible to the token)."""


class SlackInvalidRequest(SlackError, upstream.Invalid):
    """Slack refused the request's content or target (``not_in_channel``, ``is_archived``,
    ``no_text``, ``msg_too_long``, ``invalid_blocks``, ``cant_update_message``...)."""


class SlackResponseUrlGone(SlackError, upstream.Invalid):
    """A response_url that is used up (5 uses) or expired (30 minutes): never retry."""


class SlackUnavailable(SlackError, upstream.Unavailable):
    """Slack did not answer usefully (5xx, network, timeout, circuit open): transient."""


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, or None when it has none."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.scheme, parsed.host.lower(), port


def response_url_problem(
    url: str, allowed: Iterable[tuple[str, str, int]] = (HOOKS_ORIGIN,)
) -> str | None:
    """Why ``url`` must not be posted to, or None when it is one of Slack's.

    Only ``allowed`` origins pass (``https://hooks.slack.com`` and the configured Web
    API's, so a sandbox works): a response_url arrives from outside, and posting
    wherever it points would let anyone aim our requests at internal services (SSRF).
    The URL is parsed by httpx, the library that sends the request, so that the
    host checked is the host called; user info and odd characters are refused outright.
    """
    if any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in url):
        return "response_url: must be a plain URL (no spaces, control characters or '\\')"
    origin = origin_of(url)
    if origin is None:
        return "response_url: must be an http(s) URL with a host"
    if httpx.URL(url).userinfo:
        return "response_url: must not carry user information"
    if origin not in set(allowed):
        scheme, host, port = origin
        return (
            f"response_url: {scheme}://{host}:{port} is not Slack; response_urls must be "
            "https://hooks.slack.com/... (or on the configured Slack API host)"
        )
    return None


class SlackPort(Protocol):
    """Port: the Slack operations the connector uses."""

    async def post_message(
        self,
        channel: str,
        *,
        text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        unfurl_links: bool | None = None,
    ) -> PostedMessage:
        """``chat.postMessage``: post as the bot; the posted message's channel and ts."""
        ...

    async def update_message(
        self,
        channel: str,
        ts: str,
        *,
        text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> PostedMessage:
        """``chat.update``: change a message the bot posted."""
        ...

    def history_pages(
        self,
        channel: str,
        *,
        oldest: str | None = None,
        latest: str | None = None,
        page_size: int = 200,
    ) -> AsyncIterator[HistoryPage]:
        """``conversations.history``, one page at a time (newest first), following
        ``next_cursor`` until Slack says there is no more."""
        ...

    def user_pages(self, *, page_size: int = 200) -> AsyncIterator[UserPage]:
        """``users.list``, one page at a time (deleted users and bots included, as Slack
        lists them), following ``next_cursor`` until Slack says there is no more."""
        ...

    async def respond(self, response_url: str, message: ResponseMessage) -> None:
        """POST ``message`` to a slash command's or interaction's ``response_url``.

        Raises :class:`SlackInvalidRequest` for a URL that is not Slack's (nothing is
        sent) and :class:`SlackResponseUrlGone` for one used up or expired.
        """
        ...

    async def auth_test(self) -> AuthIdentity:
        """``auth.test``: who the token is (a cheap authenticated call)."""
        ...
