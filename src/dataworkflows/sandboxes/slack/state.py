"""The Slack sandbox's state: the workspace, minted response_urls, ephemeral messages,
injected faults and the logs tests read.

Everything here is in memory and owned by one :class:`SlackSandbox`; the Web API
(:mod:`.webapi`), the driver that plays Slack towards the bot
(:mod:`.driver`) and the HTTP app (:mod:`.app`) all work on it.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final, Literal

import httpx
import msgspec

from dataworkflows.sandboxes.controls import FaultQueue
from dataworkflows.sandboxes.slack.demo_data import ANCHOR, SlackWorkspace, format_ts

__all__ = [
    "ACK_DEADLINE_MS",
    "RESPONSE_URL_MAX_USES",
    "RESPONSE_URL_TTL_S",
    "VERIFICATION_TOKEN",
    "Delivery",
    "EphemeralMessage",
    "Fault",
    "FaultKind",
    "MintedUrl",
    "RecordedRequest",
    "ResponsePost",
    "SlackSandbox",
]

ACK_DEADLINE_MS: Final = 3000.0
"""Slack shows a command's ack only if it arrives within 3,000 ms."""
RESPONSE_URL_MAX_USES: Final = 5
RESPONSE_URL_TTL_S: Final = 30 * 60
VERIFICATION_TOKEN: Final = "sandboxVerificationToken0123"  # noqa: S105  (a public test value)
"""The app's (deprecated) verification token, sent as ``token`` in commands and
events as Slack does; it is not the bot token and grants nothing."""

FaultKind = Literal["ratelimited", "server_error", "slow", "invalid_auth"]
"""The failures the sandbox can produce on demand."""


class Fault(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A failure for the next ``times`` matching requests.

    ``method`` limits it to one Web API method (``chat.postMessage``), or to posts to
    response_urls with ``"response_url"``; without it, any Web API call matches (and
    response_url posts do not). ``retry_after`` is the ``Retry-After`` of
    ``ratelimited`` (integer seconds, as Slack sends); ``status`` the HTTP status of
    ``server_error`` (500 answers Slack's JSON, 503 a proxy's HTML page); ``delay_s``
    how long ``slow`` waits before answering normally.
    """

    kind: FaultKind
    times: Annotated[int, msgspec.Meta(ge=1)] = 1
    retry_after: Annotated[int, msgspec.Meta(ge=0)] = 2
    method: str | None = None
    status: Literal[500, 502, 503] = 500
    delay_s: Annotated[float, msgspec.Meta(ge=0, le=120)] = 1.0


class RecordedRequest(msgspec.Struct, frozen=True):
    """One request to the Web API or a response_url, as received (token masked)."""

    kind: Literal["api", "response_url"]
    method: str
    """The Web API method (``chat.postMessage``), or the response_url's path."""
    http_method: str
    content_type: str | None
    auth: Literal["header", "form", "none"]
    """Where the token came from (its value is never recorded)."""
    params: dict[str, Any]
    """Arguments (query and body merged; any ``token`` replaced by ``***``)."""
    status: int
    error: str | None
    """Slack's error string when the answer was one."""
    at: float
    """``time.monotonic()`` when the request arrived."""


class ResponsePost(msgspec.Struct, frozen=True):
    """One POST to a minted response_url and what it did."""

    at: float
    """Sandbox time (unix seconds)."""
    status: int
    error: str | None
    body: Any
    effect: str | None = None
    """``in_channel:<ts>``, ``ephemeral:<ts>``, ``replaced:<ts>``, ``deleted:<ts>``."""


@dataclass(slots=True)
class MintedUrl:
    """A response_url the sandbox handed out with a slash command or an action."""

    id: str
    secret: str
    kind: Literal["commands", "actions"]
    url: str
    team_id: str
    channel_id: str
    user_id: str
    created_at: float
    source_ts: str | None = None
    """For actions: the message the button was on."""
    source_ephemeral: bool = False
    last_target: tuple[Literal["history", "ephemeral"], str] | None = None
    """What "the original" is for replace/delete: the action's message, or the last
    message posted through this URL."""
    uses: int = 0
    posts: list[ResponsePost] = field(default_factory=list)

    def view(self, now: float) -> dict[str, Any]:
        """The test-readable record of this URL."""
        return {
            "id": self.id,
            "url": self.url,
            "kind": self.kind,
            "channel_id": self.channel_id,
            "user_id": self.user_id,
            "source_ts": self.source_ts,
            "uses": self.uses,
            "max_uses": RESPONSE_URL_MAX_USES,
            "expires_in_s": max(0.0, self.created_at + RESPONSE_URL_TTL_S - now),
            "posts": [msgspec.to_builtins(p) for p in self.posts],
        }


@dataclass(slots=True)
class EphemeralMessage:
    """A message only ``user`` sees in ``channel`` (never in the channel's history)."""

    ts: str
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None
    source: Literal["ack", "response_url", "api"]
    response_url_id: str | None = None
    deleted: bool = False
    replaced: int = 0

    def view(self) -> dict[str, Any]:
        """The test-readable record."""
        return {
            "ts": self.ts,
            "channel": self.channel,
            "user": self.user,
            "text": self.text,
            "blocks": self.blocks,
            "source": self.source,
            "response_url_id": self.response_url_id,
            "deleted": self.deleted,
            "replaced": self.replaced,
        }


class Delivery(msgspec.Struct, frozen=True):
    """One request the sandbox sent to the bot, and how the bot answered."""

    kind: Literal["command", "event", "url_verification", "action"]
    url: str
    retry_num: int | None
    status: int | None
    body: str
    elapsed_ms: float
    error: str | None = None


_ALNUM: Final = string.ascii_letters + string.digits


def random_id(length: int, alphabet: str = _ALNUM) -> str:
    """A random string (ids and secrets the sandbox mints)."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


class SlackSandbox:
    """State of one Slack sandbox.

    ``token`` is the bot token the Web API accepts; ``signing_secret`` signs what the
    driver sends the bot at ``bot_url``; ``public_url`` is where others reach this
    sandbox (minted response_urls point there). ``clock`` (unix seconds) dates new
    messages and ages response_urls; tests pass one, or move time with
    :meth:`advance`.
    """

    def __init__(
        self,
        *,
        token: str,
        signing_secret: str,
        bot_url: str,
        public_url: str,
        seed: int = 7,
        anchor: datetime = ANCHOR,
        clock: Callable[[], float] = time.time,
        verification_token: str = VERIFICATION_TOKEN,
    ) -> None:
        if not token or not signing_secret:
            raise ValueError("the Slack sandbox needs a bot token and a signing secret")
        self.token = token
        self.signing_secret = signing_secret
        self.bot_url = bot_url.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.seed = seed
        self.anchor = anchor
        """The instant the demo history is seeded before (kept across resets)."""
        self.clock = clock
        self.verification_token = verification_token
        self.offset_s = 0.0
        self.ack_deadline_ms = ACK_DEADLINE_MS
        """How long Slack waits for the bot's ack (tests may shorten it)."""
        self.workspace = SlackWorkspace.seeded(seed, anchor=anchor)
        self.requests: list[RecordedRequest] = []
        self.deliveries: list[Delivery] = []
        self.response_urls: dict[str, MintedUrl] = {}
        self.ephemeral: list[EphemeralMessage] = []
        self._faults: FaultQueue[Fault] = FaultQueue()
        self._last_micros = self.workspace.latest_ts_micros()
        self._http: httpx.AsyncClient | None = None

    def bot_client(self) -> httpx.AsyncClient:
        """The HTTP client deliveries to the bot go through (opened on first use)."""
        if self._http is None:
            # trust_env=False: the bot is local to the sandbox; no proxy from the environment.
            self._http = httpx.AsyncClient(trust_env=False)
        return self._http

    async def aclose(self) -> None:
        """Close the client to the bot (the app's shutdown)."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- time and ids -----------------------------------------------------------------

    def now(self) -> float:
        """Sandbox time: the clock plus whatever :meth:`advance` added."""
        return self.clock() + self.offset_s

    def advance(self, seconds: float) -> None:
        """Move sandbox time forward (to expire response_urls without waiting)."""
        self.offset_s += seconds

    def next_ts(self) -> str:
        """A new message ts: now, and after every ts issued or seeded (unique, increasing)."""
        micros = max(int(self.now() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return format_ts(micros)

    def trigger_id(self) -> str:
        """A trigger_id shaped like Slack's (``<digits>.<digits>.<hex>``)."""
        return (
            f"{random_id(13, string.digits)}.{random_id(12, string.digits)}."
            f"{random_id(32, string.hexdigits.lower()[:16])}"
        )

    def mint_response_url(
        self,
        kind: Literal["commands", "actions"],
        *,
        channel_id: str,
        user_id: str,
        source_ts: str | None = None,
        source_ephemeral: bool = False,
    ) -> MintedUrl:
        """A new response_url, shaped like ``https://hooks.slack.com/commands/T/123/secret``."""
        team = self.workspace.team.id
        url_id = random_id(13, string.digits)
        secret = random_id(24)
        minted = MintedUrl(
            id=url_id,
            secret=secret,
            kind=kind,
            url=f"{self.public_url}/{kind}/{team}/{url_id}/{secret}",
            team_id=team,
            channel_id=channel_id,
            user_id=user_id,
            created_at=self.now(),
            source_ts=source_ts,
            source_ephemeral=source_ephemeral,
            last_target=(
                ("ephemeral" if source_ephemeral else "history", source_ts) if source_ts else None
            ),
        )
        self.response_urls[url_id] = minted
        return minted

    # -- faults -----------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next ``fault.times`` matching requests."""
        self._faults.add(fault, fault.times)

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._faults.clear()

    def take_fault(self, method: str) -> Fault | None:
        """The first queued fault that matches ``method`` (counting one use), if any."""

        def applies(fault: Fault) -> bool:
            return fault.method == method if fault.method else method != "response_url"

        return self._faults.take(applies)

    # -- reset ------------------------------------------------------------------------

    def reset(self) -> None:
        """Reseed the workspace; forget faults, logs, response_urls and ephemeral messages.

        Sandbox time keeps going forward, so that ts issued after a reset still
        increase.
        """
        self.workspace = SlackWorkspace.seeded(self.seed, anchor=self.anchor)
        self.requests.clear()
        self.deliveries.clear()
        self.response_urls.clear()
        self.ephemeral.clear()
        self._faults.clear()
        self._last_micros = max(self._last_micros, self.workspace.latest_ts_micros())
