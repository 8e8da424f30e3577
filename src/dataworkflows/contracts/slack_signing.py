"""Slack's request signing, for who signs (the Slack sandbox) and who checks (the bot).

``X-Slack-Signature = "v0=" + hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" +
raw body))`` over the raw bytes (../shared/reference/slack.md; Slack's "Verifying
requests from Slack").

Written here rather than taken from ``slack_sdk.signature.SignatureVerifier``: that
one decodes the body as UTF-8 and parses the timestamp with ``int()``, so a forged
request with a non-numeric timestamp or non-UTF-8 bytes raises instead of being
refused. This one never raises: every malformed input is simply not valid.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Final

__all__ = [
    "MAX_AGE_S",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SlackSignature",
    "sign_request",
    "signed_headers",
]

TIMESTAMP_HEADER: Final = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER: Final = "X-Slack-Signature"

MAX_AGE_S: Final = 300
"""Requests older (or further in the future) than this are replays: refused."""

_TIMESTAMP_RE: Final = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE_RE: Final = re.compile(r"^v0=[0-9a-f]{64}$")


class SlackSignature:
    """Signs and checks Slack requests with one app's signing secret.

    ``clock`` returns the current Unix time in seconds (tests pass a fixed one).
    """

    def __init__(self, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        if not secret:
            raise ValueError("the signing secret must not be empty")
        self._key = secret.encode()
        self._clock = clock

    def sign(self, body: bytes, timestamp: str) -> str:
        """The ``X-Slack-Signature`` value Slack sends for ``body`` at ``timestamp``."""
        base = b"v0:" + timestamp.encode() + b":" + body
        return "v0=" + hmac.new(self._key, base, hashlib.sha256).hexdigest()

    def problem(self, body: bytes, *, timestamp: str | None, signature: str | None) -> str | None:
        """None when the request is signed with our secret and fresh, else why not.

        The reason (``missing``, ``malformed``, ``stale``, ``mismatch``) is for logs; it
        never contains the secret or the expected signature.
        """
        if not timestamp or not signature:
            return "missing"
        timestamp, signature = timestamp.strip(), signature.strip()
        if not _TIMESTAMP_RE.match(timestamp) or not _SIGNATURE_RE.match(signature):
            return "malformed"
        if abs(self._clock() - int(timestamp)) > MAX_AGE_S:
            return "stale"
        # Constant time: the comparison must not tell a forger how much of it was right.
        if not hmac.compare_digest(self.sign(body, timestamp).encode(), signature.encode()):
            return "mismatch"
        return None

    def verify(self, body: bytes, *, timestamp: str | None, signature: str | None) -> bool:
        """Whether the request is signed with our secret and fresh."""
        return self.problem(body, timestamp=timestamp, signature=signature) is None


def sign_request(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The ``X-Slack-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    raw = body.encode() if isinstance(body, str) else body
    return SlackSignature(secret).sign(raw, str(timestamp))


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` for ``body`` (now by default)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign_request(secret, stamp, body)}
