"""What the Slack sandbox's driver (:mod:`.driver`) works with: the request bodies of
``POST /sandbox/send/*``, its error, the demo user and channel a request names, and
the signed POST to the bot that every delivery goes through (timed and logged as a
:class:`~.state.Delivery`).
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Final, Literal

import httpx
import msgspec

from dataworkflows.contracts.slack_signing import SIGNATURE_HEADER, signed_headers
from dataworkflows.sandboxes.slack.demo_data import (
    DEMO_USERS,
    PROJECT_CHANNEL_IDS,
    DemoChannel,
    DemoUser,
)
from dataworkflows.sandboxes.slack.state import Delivery, SlackSandbox

__all__ = [
    "USER_AGENT",
    "ActionDelivery",
    "CommandDelivery",
    "DriverError",
    "MentionDelivery",
    "VerificationDelivery",
    "post_to_bot",
    "requested_channel",
    "requested_user",
]

USER_AGENT: Final = "Slackbot 1.0 (+https://api.slack.com/robots)"

Timeout = Annotated[float, msgspec.Meta(gt=0, le=60)]


class DriverError(Exception):
    """A driver request the sandbox cannot carry out (unknown channel, message...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Signing(msgspec.Struct, kw_only=True):
    timestamp: int | None = None
    """Sign as if sent at this unix time (default: now)."""
    bad_signature: bool = False
    """Send a signature that does not match (the bot must refuse it)."""
    timeout_s: Timeout = 10.0
    """How long to wait for the bot (Slack itself gives up after 3 s)."""


class CommandDelivery(_Signing, forbid_unknown_fields=True, kw_only=True):
    """``POST /sandbox/send/command``: a slash command typed by ``user_id`` in ``channel_id``."""

    text: str = ""
    command: str = "/dw"
    user_id: str | None = None
    """Default: the first demo user (Maya Patel)."""
    channel_id: str | None = None
    """Default: ``#proj-apollo``. A ``D...`` id is a direct message."""


class MentionDelivery(_Signing, forbid_unknown_fields=True, kw_only=True):
    """``POST /sandbox/send/mention``: ``user`` writes ``<@BOT> text`` in ``channel``."""

    text: str = "status apollo"
    user: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    retry_num: Annotated[int, msgspec.Meta(ge=1, le=3)] | None = None
    """Mark the first delivery as this retry (``X-Slack-Retry-Num``)."""
    retry_reason: str = "http_timeout"
    redeliver: Annotated[int, msgspec.Meta(ge=0, le=3)] = 0
    """Send the same envelope this many more times, as Slack's retries."""


class VerificationDelivery(_Signing, forbid_unknown_fields=True, kw_only=True):
    """``POST /sandbox/send/url_verification``: the Events API's challenge."""

    challenge: str | None = None


class ActionDelivery(_Signing, forbid_unknown_fields=True, kw_only=True):
    """``POST /sandbox/send/action``: ``user_id`` clicks ``action_id`` on ``message_ts``."""

    action_id: str
    message_ts: str
    value: str | None = None
    """Default: the button's own ``value``."""
    user_id: str | None = None
    channel_id: str | None = None
    block_id: str | None = None


# -- helpers -----------------------------------------------------------------------------


def requested_user(sandbox: SlackSandbox, user_id: str | None) -> DemoUser:
    """The demo user ``user_id`` (default: the first); a 400 DriverError if unknown."""
    if user_id is None:
        return DEMO_USERS[0]
    user = sandbox.workspace.user(user_id)
    if user is None:
        known = ", ".join(f"{u.id} ({u.real_name})" for u in sandbox.workspace.users)
        raise DriverError(400, f"no user {user_id!r} in the demo workspace; users: {known}")
    return user


def requested_channel(sandbox: SlackSandbox, channel_id: str | None) -> DemoChannel:
    """The channel ``channel_id`` (default: ``#proj-apollo``); a 404 DriverError if unknown."""
    channel = sandbox.workspace.channel(channel_id or PROJECT_CHANNEL_IDS["apollo"])
    if channel is None:
        known = ", ".join(f"{c.id} (#{c.name})" for c in sandbox.workspace.channels.values())
        raise DriverError(
            404, f"no channel {channel_id!r} in the demo workspace; channels: {known}"
        )
    return channel


async def post_to_bot(
    sandbox: SlackSandbox,
    kind: Literal["command", "event", "url_verification", "action"],
    path: str,
    body: bytes,
    *,
    content_type: str,
    signing: _Signing,
    retry: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """Sign and POST ``body`` to the bot; what came back, timed."""
    url = f"{sandbox.bot_url}{path}"
    headers = {
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        **signed_headers(sandbox.signing_secret, body, timestamp=signing.timestamp),
    }
    if signing.bad_signature:
        headers[SIGNATURE_HEADER] = "v0=" + "0" * 64
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry[0])
        headers["X-Slack-Retry-Reason"] = retry[1]
    started = time.perf_counter()
    status: int | None = None
    text = ""
    response_type: str | None = None
    no_retry = False
    error: str | None = None
    try:
        response = await sandbox.bot_client().post(
            url, content=body, headers=headers, timeout=signing.timeout_s
        )
        status, text = response.status_code, response.text
        response_type = response.headers.get("content-type")
        no_retry = response.headers.get("x-slack-no-retry") == "1"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: the bot at {url} did not answer"
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    sandbox.deliveries.append(
        Delivery(
            kind=kind,
            url=url,
            retry_num=retry[0] if retry else None,
            status=status,
            body=text,
            elapsed_ms=elapsed_ms,
            error=error,
        )
    )
    return {
        "status": status,
        "body": text,
        "content_type": response_type,
        "elapsed_ms": elapsed_ms,
        "within_deadline": status is not None and elapsed_ms <= sandbox.ack_deadline_ms,
        "no_retry": no_retry,
        "error": error,
    }
