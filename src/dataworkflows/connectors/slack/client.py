"""The real Slack adapter: the Web API through slack-sdk's ``AsyncWebClient``, and
response_urls through httpx.

Wire rules (../shared/reference/slack.md): every Web API call goes to
``{base_url}{method}`` with ``Authorization: Bearer <token>``; writes send
``application/json; charset=utf-8`` bodies, ``conversations.history`` and
``users.list`` send GET query parameters (as slack-sdk does); errors are HTTP 200
``{"ok": false, "error": ...}`` except rate limits (HTTP 429 ``ratelimited`` with an
integer ``Retry-After``).

Retries are ours, not slack-sdk's: the client is built with ``retry_handlers=[]`` and
every call runs under stamina, like the other connectors. That gives one policy for
the whole product (exponential backoff with jitter for 5xx and network errors, a
wait of at least ``Retry-After`` for 429, long waits handed back to the engine), a
circuit breaker, and stamina's testing mode in tests. (slack-sdk's opt-in
``AsyncRateLimitErrorRetryHandler`` sleeps ``int(Retry-After) + random()`` however long
that is, with no way to hand a long wait back to the engine and no testing mode.)

Non-idempotent writes are retried too (a 5xx or a dropped connection may hide a
message that was posted): Slack has no idempotency keys, so the service dedupes
per step idempotency key and this client accepts the small duplicate risk rather
than losing a report.

Error messages never contain the token: slack-sdk's exceptions print the request
(and sometimes its headers), so their text is never reused; messages are built here.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final

import aiohttp
import httpx
import msgspec
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from dataworkflows.connectors.slack.port import (
    HOOKS_ORIGIN,
    AuthIdentity,
    HistoryPage,
    PostedMessage,
    ResponseMessage,
    SlackAuthError,
    SlackError,
    SlackInvalidRequest,
    SlackMessage,
    SlackNotFound,
    SlackRateLimited,
    SlackResponseUrlGone,
    SlackUnavailable,
    SlackUser,
    UserPage,
    origin_of,
    response_url_problem,
)
from dataworkflows.connectors.toolkit.transport import Upstream
from dataworkflows.runtime.resilience import CircuitBreaker

__all__ = ["DEFAULT_API_URL", "MAX_HISTORY_PAGE", "MAX_USERS_PAGE", "SlackClient", "error_for"]

DEFAULT_API_URL: Final = "https://slack.com/api/"
MAX_HISTORY_PAGE: Final = 999
"""``conversations.history`` returns at most 999 messages per call."""
MAX_USERS_PAGE: Final = 1000
"""Slack's pagination guide: "The limit parameter maximum is 1000" (it recommends
100-200 per call)."""
SLACKBOT_USER_ID: Final = "USLACKBOT"
"""Slackbot: listed by ``users.list`` with ``is_bot: false``, but not a person."""

AUTH_ERRORS: Final = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "not_allowed_token_type",
        "no_permission",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)
NOT_FOUND_ERRORS: Final = frozenset({"channel_not_found", "message_not_found", "thread_not_found"})
INVALID_ERRORS: Final = frozenset(
    {
        "not_in_channel",
        "is_archived",
        "no_text",
        "msg_too_long",
        "msg_blocks_too_long",
        "invalid_blocks",
        "invalid_blocks_format",
        "cant_update_message",
        "edit_window_closed",
        "too_many_attachments",
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_array_arg",
        "invalid_charset",
        "invalid_form_data",
        "invalid_json",
        "json_not_object",
        "invalid_cursor",
        "limit_required",
        "invalid_ts_latest",
        "invalid_ts_oldest",
        "invalid_metadata_format",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "cannot_reply_to_message",
        # response_url errors (the incoming-webhook family)
        "invalid_payload",
        "channel_is_archived",
        "action_prohibited",
    }
)
TRANSIENT_ERRORS: Final = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
GONE_ERRORS: Final = frozenset({"used_url", "expired_url"})
DEFAULT_RETRY_AFTER_S: Final = 5.0
"""Wait when a 429 carries no usable ``Retry-After`` (Slack always sends one)."""


def error_for(code: str, what: str) -> SlackError:
    """The typed error for Slack error string ``code`` (``what`` says which call)."""
    message = f"Slack refused {what}: {code}"
    if code == "ratelimited":
        return SlackRateLimited(message, retry_after=DEFAULT_RETRY_AFTER_S, code=code)
    if code in AUTH_ERRORS:
        return SlackAuthError(message, code=code)
    if code in NOT_FOUND_ERRORS:
        return SlackNotFound(message, code=code)
    if code in GONE_ERRORS:
        return SlackResponseUrlGone(
            f"{message} (a response_url takes 5 messages within 30 minutes)", code=code
        )
    if code in INVALID_ERRORS:
        return SlackInvalidRequest(message, code=code)
    if code in TRANSIENT_ERRORS:
        return SlackUnavailable(message, code=code)
    return SlackError(message, code=code)


def _retry_after(headers: Mapping[str, str] | None) -> float:
    raw = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if raw is not None and raw.strip().isdigit():
        return float(raw.strip())
    return DEFAULT_RETRY_AFTER_S


def _message(raw: Mapping[str, Any]) -> SlackMessage:
    return SlackMessage(
        ts=str(raw.get("ts", "")),
        user=raw.get("user"),
        bot_id=raw.get("bot_id"),
        text=str(raw.get("text") or ""),
        thread_ts=raw.get("thread_ts"),
        reply_count=int(raw.get("reply_count") or 0),
        subtype=raw.get("subtype"),
    )


def _user(raw: Mapping[str, Any]) -> SlackUser:
    profile = raw.get("profile") or {}
    user_id = str(raw.get("id", ""))
    tz = raw.get("tz")
    return SlackUser(
        id=user_id,
        name=str(raw.get("name") or ""),
        real_name=str(raw.get("real_name") or profile.get("real_name") or ""),
        display_name=str(profile.get("display_name") or ""),
        is_bot=bool(raw.get("is_bot")) or user_id == SLACKBOT_USER_ID,
        deleted=bool(raw.get("deleted")),
        tz=tz if isinstance(tz, str) and tz else None,
    )


class SlackClient:
    """:class:`~dataworkflows.connectors.slack.port.SlackPort` over Slack's Web API.

    ``session`` is an aiohttp session to reuse (its timeout applies; without one
    slack-sdk opens one per call with ``timeout_s``); ``http`` posts to response_urls.
    """

    def __init__(
        self,
        *,
        token: str,
        http: httpx.AsyncClient,
        base_url: str = DEFAULT_API_URL,
        session: aiohttp.ClientSession | None = None,
        timeout_s: int = 30,
        max_wait_s: float = 30.0,
        attempts: int = 5,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._http = http
        # The token lives in the SDK client only (its Authorization header).
        self._web = AsyncWebClient(
            token=token,
            base_url=self.base_url,
            session=session,
            timeout=timeout_s,
            retry_handlers=[],
        )
        self._api = Upstream(
            "slack.com",
            unavailable=SlackUnavailable,
            attempts=attempts,
            wait_max=max_wait_s,
            longest_wait_s=max_wait_s,
            breaker=breaker,
        )
        # response_urls live on another host (hooks.slack.com): its own breaker, so that
        # a failing one does not stop the Web API, nor the other way round.
        self._hooks = Upstream(
            "hooks.slack.com",
            unavailable=SlackUnavailable,
            attempts=attempts,
            wait_max=max_wait_s,
            longest_wait_s=max_wait_s,
        )
        self.breaker = self._api.breaker
        self.hooks_breaker = self._hooks.breaker
        api_origin = origin_of(self.base_url)
        self._response_origins = {HOOKS_ORIGIN, *([api_origin] if api_origin else [])}

    # The port -----------------------------------------------------------------------

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
        body: dict[str, Any] = {"channel": channel}
        if text is not None:
            body["text"] = text
        if blocks is not None:
            body["blocks"] = blocks
        if thread_ts is not None:
            body["thread_ts"] = thread_ts
            body["reply_broadcast"] = reply_broadcast
        if unfurl_links is not None:
            body["unfurl_links"] = unfurl_links
        # api_call rather than chat_postMessage: the latter warns (UserWarning) on a
        # blocks-only message, which is a legitimate message.
        data = await self._call(
            "chat.postMessage", lambda: self._web.api_call("chat.postMessage", json=body)
        )
        return PostedMessage(channel=str(data.get("channel", channel)), ts=str(data["ts"]))

    async def update_message(
        self,
        channel: str,
        ts: str,
        *,
        text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> PostedMessage:
        body: dict[str, Any] = {"channel": channel, "ts": ts}
        if text is not None:
            body["text"] = text
        if blocks is not None:
            body["blocks"] = blocks
        data = await self._call("chat.update", lambda: self._web.api_call("chat.update", json=body))
        return PostedMessage(channel=str(data.get("channel", channel)), ts=str(data.get("ts", ts)))

    async def history_pages(
        self,
        channel: str,
        *,
        oldest: str | None = None,
        latest: str | None = None,
        page_size: int = 200,
    ) -> AsyncIterator[HistoryPage]:
        limit = max(1, min(page_size, MAX_HISTORY_PAGE))
        cursor: str | None = None
        while True:
            data = await self._call(
                "conversations.history",
                functools.partial(
                    self._web.conversations_history,
                    channel=channel,
                    cursor=cursor,
                    limit=limit,
                    oldest=oldest,
                    latest=latest,
                ),
            )
            metadata = data.get("response_metadata") or {}
            cursor = metadata.get("next_cursor") or None
            yield HistoryPage(
                messages=[_message(m) for m in data.get("messages") or []],
                has_more=bool(data.get("has_more")),
                next_cursor=cursor,
            )
            if not cursor:
                return

    async def user_pages(self, *, page_size: int = 200) -> AsyncIterator[UserPage]:
        limit = max(1, min(page_size, MAX_USERS_PAGE))
        cursor: str | None = None
        while True:
            data = await self._call(
                "users.list",
                functools.partial(self._web.users_list, cursor=cursor, limit=limit),
            )
            metadata = data.get("response_metadata") or {}
            cursor = metadata.get("next_cursor") or None
            yield UserPage(
                users=[_user(u) for u in data.get("members") or [] if isinstance(u, dict)],
                next_cursor=cursor,
            )
            if not cursor:
                return

    async def respond(self, response_url: str, message: ResponseMessage) -> None:
        problem = response_url_problem(response_url, self._response_origins)
        if problem is not None:
            raise SlackInvalidRequest(problem, code=None)
        body = message.payload()
        await self._hooks.call(lambda: self._respond_once(response_url, body))

    async def auth_test(self) -> AuthIdentity:
        data = await self._call("auth.test", self._web.auth_test)
        return AuthIdentity(
            team_id=str(data.get("team_id", "")),
            user_id=str(data.get("user_id", "")),
            bot_id=data.get("bot_id"),
            team=data.get("team"),
            user=data.get("user"),
            url=data.get("url"),
        )

    # Transport ----------------------------------------------------------------------

    async def _call(self, method: str, send: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
        """One Web API method (retried while transient); its body, or the typed error."""
        return await self._api.call(lambda: self._once(method, send))

    async def _once(self, method: str, send: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
        try:
            response = await send()
        except SlackApiError as exc:
            raise _api_error(method, exc.response) from None
        except TimeoutError:
            raise SlackUnavailable(f"Slack did not answer {method} in time") from None
        except aiohttp.ClientError as exc:
            raise SlackUnavailable(
                f"Slack is unreachable for {method} ({type(exc).__name__})"
            ) from None
        except (AttributeError, TypeError, ValueError):
            # slack-sdk chokes on a 200 answer that is not a JSON object (a proxy page).
            raise SlackUnavailable(
                f"Slack answered {method} with something that is not a Web API response"
            ) from None
        data = response.data
        if not isinstance(data, dict):
            raise SlackError(f"Slack answered {method} without a JSON object")
        return data

    async def _respond_once(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            # Never follow redirects: the allowed origin was checked, a redirect is not.
            response = await self._http.post(
                url, content=msgspec.json.encode(body), headers=_JSON, follow_redirects=False
            )
        except httpx.TimeoutException:
            raise SlackUnavailable("the response_url did not answer in time") from None
        except httpx.TransportError as exc:
            raise SlackUnavailable(
                f"the response_url is unreachable ({type(exc).__name__})"
            ) from None
        status = response.status_code
        code = _webhook_code(response)
        if status == 429:
            raise SlackRateLimited(
                "Slack rate-limited the response_url",
                retry_after=_retry_after(response.headers),
                code=code or "ratelimited",
            )
        if status >= 500:
            raise SlackUnavailable(f"the response_url answered HTTP {status}", code=code)
        # A redirect is not a delivery either (and is not followed, see above).
        if status >= 300 or (code is not None and code != "ok"):
            raise error_for(code or f"http_{status}", "the response_url message")
        return {"ok": True}


_JSON: Final = {"Content-Type": "application/json; charset=utf-8"}


def _webhook_code(response: httpx.Response) -> str | None:
    """The answer of a response_url: ``{"ok": ..., "error": ...}`` or a bare word
    (``ok``, ``used_url``...) as Slack's webhooks answer; None when neither."""
    text = response.text.strip()
    if not text:
        return None
    try:
        body = msgspec.json.decode(text)
    except msgspec.DecodeError:
        word = text.split()[0] if len(text) < 200 else ""
        return word if word.replace("_", "").isalnum() else None
    if isinstance(body, dict):
        if body.get("ok") is True:
            return "ok"
        error = body.get("error")
        return str(error) if isinstance(error, str) else None
    return None


def _api_error(method: str, response: Any) -> SlackError:
    """The typed error for a Web API answer slack-sdk refused (not 200 + ok)."""
    # An AsyncSlackResponse, or an aiohttp response when the body was not JSON.
    status = int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)
    headers = getattr(response, "headers", None)
    data = getattr(response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    if status == 429 or code == "ratelimited":
        return SlackRateLimited(
            f"Slack rate-limited {method}",
            retry_after=_retry_after(headers),
            code="ratelimited",
        )
    if status >= 500 or status == 0:
        return SlackUnavailable(
            f"Slack answered {method} with HTTP {status}",
            code=code if isinstance(code, str) else None,
        )
    if isinstance(code, str):
        return error_for(code, method)
    if status != 200:
        # A 4xx without Slack's body: a wrong base URL or a proxy refusing us.
        return SlackError(f"Slack answered {method} with HTTP {status}")
    return SlackError(f"Slack answered {method} with ok=false and no error")
