"""The console's sign-in: a signed, HTTP-only, SameSite session cookie, and a CSRF token
for every form.

Signing in takes one of the engine's API keys (``DW_API_KEYS``). The cookie holds
when it expires and which key it was made with (a hash, never the key), signed with
HMAC-SHA256 under a key derived from all the API keys: every engine of a deployment
accepts it, and it stops working when its key is taken out of ``DW_API_KEYS``. A
form's CSRF token is an HMAC of the session, so a page of another site cannot forge
one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Final

import msgspec

from dataworkflows.engine.api import key_accepted

__all__ = ["COOKIE", "SESSION_S", "Sessions"]

COOKIE: Final = "dw_session"
SESSION_S: Final = 12 * 3600


class _Claims(msgspec.Struct, frozen=True):
    key: str
    """The first 16 hex digits of the signing-in key's SHA-256."""
    exp: int


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class Sessions:
    """Makes and checks session cookies and CSRF tokens for ``api_keys``."""

    def __init__(self, api_keys: Sequence[str]) -> None:
        self._keys = [k.encode() for k in api_keys]
        self._fingerprints = {_fingerprint(k) for k in api_keys}
        material = b"\0".join(sorted(self._keys))
        self._secret = hashlib.sha256(b"dataworkflows-console-v1\0" + material).digest()

    def key_matches(self, given: str) -> bool:
        """Whether ``given`` is one of the API keys (as the API's guard checks it)."""
        return key_accepted(given, self._keys)

    def issue(self, key: str, now: float | None = None) -> str:
        """A cookie value for a session signed in with ``key``."""
        claims = _Claims(key=_fingerprint(key), exp=int((now or time.time()) + SESSION_S))
        payload = base64.urlsafe_b64encode(msgspec.json.encode(claims)).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def valid(self, cookie: str | None, now: float | None = None) -> bool:
        """Whether ``cookie`` is a session this deployment issued, not expired, whose key
        is still accepted."""
        if not cookie or cookie.count(".") != 1:
            return False
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return False
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            claims = msgspec.json.decode(raw, type=_Claims)
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
            return False
        return claims.exp > (now or time.time()) and claims.key in self._fingerprints

    def csrf(self, cookie: str) -> str:
        """The CSRF token of the session ``cookie`` (a form field)."""
        return hmac.new(self._secret, b"csrf\0" + cookie.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        """Whether a form's ``token`` belongs to the session ``cookie``."""
        if not cookie or not token:
            return False
        return hmac.compare_digest(token, self.csrf(cookie))

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
