"""How the bot talks to Slack: only through the Slack connector's actions.

:class:`SlackReplies` is the port; its adapters call the connector's ``post_message``,
``update_message`` and ``respond`` actions either over the internal connector API
(:class:`ConnectorReplies`, a separate connector process) or in this process
(:class:`ActionSetReplies`, the connector's :class:`ActionSet` handed in by the
composition root). Failures are the connector's typed
:class:`~dataworkflows.contracts.ActionFailed`, whose ``upstream_code`` is Slack's own
error string (``not_in_channel``, ``channel_not_found``...). :class:`PatientReplies`
wraps either one and tries rate-limited calls again after the wait Slack asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Literal, Protocol

import httpx
import msgspec

from dataworkflows.contracts import (
    ActionErrorEnvelope,
    ActionFailed,
    ActionRequest,
    ActionResult,
)
from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.logging import get_logger

__all__ = [
    "ActionReplies",
    "ActionSetReplies",
    "Block",
    "ConnectorReplies",
    "PatientReplies",
    "ResponseType",
    "SlackReplies",
]

Block = dict[str, Any]
"""A Block Kit block, as JSON."""
ResponseType = Literal["ephemeral", "in_channel"]

_log = get_logger(__name__)


class SlackReplies(Protocol):
    """Port: what the bot asks Slack to show. Raises :class:`ActionFailed` on failure."""

    async def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: Sequence[Block] | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Post a message (in ``thread_ts``'s thread when given); its ``ts``."""
        ...

    async def update_message(
        self, channel: str, ts: str, *, text: str, blocks: Sequence[Block] | None = None
    ) -> None:
        """Replace the text and blocks of a message the bot posted."""
        ...

    async def respond(
        self,
        response_url: str,
        *,
        text: str,
        blocks: Sequence[Block] | None = None,
        response_type: ResponseType = "ephemeral",
        replace_original: bool = False,
    ) -> None:
        """Answer through a slash command's or a button's ``response_url``."""
        ...


def _post_input(
    channel: str, text: str, blocks: Sequence[Block] | None, thread_ts: str | None
) -> dict[str, Any]:
    data: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False}
    if blocks is not None:
        data["blocks"] = list(blocks)
    if thread_ts:
        data["thread_ts"] = thread_ts
    return data


def _update_input(
    channel: str, ts: str, text: str, blocks: Sequence[Block] | None
) -> dict[str, Any]:
    # An update without blocks would keep the old ones (a stale Retry button): send [].
    return {"channel": channel, "ts": ts, "text": text, "blocks": list(blocks or [])}


def _respond_input(
    response_url: str,
    text: str,
    blocks: Sequence[Block] | None,
    response_type: ResponseType,
    replace_original: bool,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "response_url": response_url,
        "text": text,
        "response_type": response_type,
        "replace_original": replace_original,
    }
    if blocks is not None:
        data["blocks"] = list(blocks)
    return data


def _ts(output: dict[str, Any]) -> str:
    ts = output.get("ts")
    if not isinstance(ts, str) or not ts:
        raise ActionFailed.of("upstream_error", "slack.post_message answered without a ts")
    return ts


class ActionReplies:
    """The three replies over :meth:`call_action`, which each adapter implements."""

    async def call_action(self, action: str, data: dict[str, Any]) -> dict[str, Any]:
        """The Slack connector's ``action`` on input ``data``: its output, or
        :class:`ActionFailed`."""
        raise NotImplementedError

    async def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: Sequence[Block] | None = None,
        thread_ts: str | None = None,
    ) -> str:
        return _ts(
            await self.call_action("post_message", _post_input(channel, text, blocks, thread_ts))
        )

    async def update_message(
        self, channel: str, ts: str, *, text: str, blocks: Sequence[Block] | None = None
    ) -> None:
        await self.call_action("update_message", _update_input(channel, ts, text, blocks))

    async def respond(
        self,
        response_url: str,
        *,
        text: str,
        blocks: Sequence[Block] | None = None,
        response_type: ResponseType = "ephemeral",
        replace_original: bool = False,
    ) -> None:
        await self.call_action(
            "respond",
            _respond_input(response_url, text, blocks, response_type, replace_original),
        )


class ActionSetReplies(ActionReplies):
    """:class:`SlackReplies` through the Slack connector's actions in this process."""

    def __init__(self, actions: ActionSet) -> None:
        self._actions = actions

    async def call_action(self, action: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self._actions.invoke(action, ActionRequest(input=data))


_encoder: Final = msgspec.json.Encoder()
_result: Final = msgspec.json.Decoder(ActionResult)
_error: Final = msgspec.json.Decoder(ActionErrorEnvelope)


class ConnectorReplies(ActionReplies):
    """:class:`SlackReplies` through a Slack connector process (internal connector API)."""

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, service_token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {service_token}",
            "Content-Type": "application/json",
        }

    async def call_action(self, action: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(
                f"{self._base}/v1/actions/{action}",
                content=_encoder.encode(ActionRequest(input=data)),
                headers=self._headers,
            )
        except httpx.TransportError as exc:
            raise ActionFailed.of(
                "upstream_unavailable",
                f"the Slack connector at {self._base} does not answer ({type(exc).__name__})",
            ) from None
        if response.status_code == 200:
            try:
                return _result.decode(response.content).output
            except msgspec.DecodeError:
                raise ActionFailed.of(
                    "upstream_error", "the Slack connector sent a malformed result"
                ) from None
        try:
            envelope = _error.decode(response.content)
        except msgspec.DecodeError:
            pass
        else:
            raise ActionFailed(envelope.error)
        if response.status_code in (401, 403):
            raise ActionFailed.of(
                "auth_failed",
                "the Slack connector refused the service token (check DW_SERVICE_TOKEN)",
                retryable=False,
            )
        retryable = response.status_code in (429, 502, 503, 504)
        raise ActionFailed.of(
            "upstream_unavailable" if retryable else "upstream_error",
            f"the Slack connector answered HTTP {response.status_code}",
            retryable=retryable,
        )

    async def check(self) -> str | None:
        """None when the connector answers and accepts the token, else what is wrong."""
        try:
            response = await self._http.get(f"{self._base}/v1/actions", headers=self._headers)
        except httpx.TransportError as exc:
            return f"the Slack connector at {self._base} does not answer ({type(exc).__name__})"
        if response.status_code in (401, 403):
            return "the Slack connector refused DW_SERVICE_TOKEN"
        if response.status_code != 200:
            return f"the Slack connector answered HTTP {response.status_code}"
        return None


class PatientReplies(ActionReplies):
    """:class:`SlackReplies` that tries retryable failures again (up to ``attempts``).

    Waits what the connector says (``retry_after_s``, Slack's ``Retry-After``), or 1, 2,
    4... seconds, never more than ``max_wait_s`` at a time.
    """

    def __init__(
        self,
        inner: ActionReplies,
        *,
        attempts: int = 4,
        max_wait_s: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._inner = inner
        self._attempts = max(1, attempts)
        self._max_wait_s = max_wait_s
        self._sleep = sleep

    async def call_action(self, action: str, data: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._inner.call_action(action, data)
            except ActionFailed as failed:
                error = failed.error
                if not error.retryable or attempt == self._attempts:
                    raise
                wait = error.retry_after_s if error.retry_after_s else 2.0 ** (attempt - 1)
                wait = min(max(wait, 0.0), self._max_wait_s)
                _log.info("slack call retried", call=action, code=error.code, wait_s=wait)
                await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
