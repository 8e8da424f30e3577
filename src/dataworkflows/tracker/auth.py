"""The Task Tracker's one account and the HS256 tokens it logs in with.

Nothing here knows HTTP: :mod:`dataworkflows.tracker.api` turns
:class:`TokenExpired` and :class:`TokenInvalid` into 401 answers.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from typing import Any, Final

import jwt
import msgspec

__all__ = [
    "ALGORITHM",
    "Account",
    "IssuedToken",
    "TokenAuthority",
    "TokenClaims",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
]

ALGORITHM: Final = "HS256"
MAX_TOKEN_LENGTH: Final = 4096
_REQUIRED_CLAIMS: Final = ("sub", "iat", "exp", "jti")


def _digest(value: str) -> bytes:
    # Equal-length digests, so compare_digest's time reveals neither content nor length.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


class Account:
    """The username and password the tracker accepts (compared in constant time)."""

    def __init__(self, *, username: str, password: str) -> None:
        if not username or not password:
            raise ValueError("the tracker needs a non-empty username and password")
        self.username = username
        self._username = _digest(username)
        self._password = _digest(password)

    def __repr__(self) -> str:
        return f"Account(username={self.username!r}, password='***')"

    def matches(self, username: str, password: str) -> bool:
        """True when both are right; the time taken does not say which one was wrong."""
        username_ok = hmac.compare_digest(_digest(username), self._username)
        password_ok = hmac.compare_digest(_digest(password), self._password)
        return username_ok & password_ok


class TokenClaims(msgspec.Struct, frozen=True, kw_only=True):
    """What a valid token says: who, when issued, when it expires (epoch seconds), its id."""

    sub: str
    iat: int
    exp: int
    jti: str


class IssuedToken(msgspec.Struct, frozen=True, kw_only=True):
    """A signed token and how long it stays valid."""

    token: str
    expires_in: int
    """Whole seconds from issue to expiry."""
    claims: TokenClaims


class TokenError(Exception):
    """A token that does not grant access; the subclass says why."""


class TokenExpired(TokenError):
    """The token was genuine but its ``exp`` has passed."""


class TokenInvalid(TokenError):
    """Not a token of ours: malformed, forged, wrongly signed or another algorithm."""


class TokenAuthority:
    """Issues and verifies HS256 JWTs with claims ``sub``, ``iat``, ``exp`` and ``jti``.

    The HMAC key is SHA-256 of ``secret``: a full-length key whatever the secret's
    length (settings allow 16 characters; RFC 7518 wants 32 bytes for HS256). Expiry is
    judged by ``clock`` (epoch seconds), never by PyJWT's own reading of the time, so
    tests can move time forward.
    """

    def __init__(
        self, *, secret: str, ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise ValueError("the tracker needs a non-empty JWT secret")
        if not (math.isfinite(ttl_s) and ttl_s >= 1):
            raise ValueError("the token lifetime must be at least one second")
        self._key = hashlib.sha256(
            b"dataworkflows.tracker.jwt\x00" + secret.encode("utf-8", "surrogatepass")
        ).digest()
        self._ttl_s = ttl_s
        self._clock = clock

    def __repr__(self) -> str:
        return f"TokenAuthority(ttl_s={self._ttl_s!r})"

    def issue(self, subject: str) -> IssuedToken:
        """A new token for ``subject``, valid for the configured lifetime from now."""
        now = self._clock()
        iat = math.floor(now)
        exp = math.floor(now + self._ttl_s)
        claims = TokenClaims(sub=subject, iat=iat, exp=exp, jti=secrets.token_urlsafe(16))
        token = jwt.encode(msgspec.structs.asdict(claims), self._key, algorithm=ALGORITHM)
        return IssuedToken(token=token, expires_in=exp - iat, claims=claims)

    def verify(self, token: str) -> TokenClaims:
        """The claims of a genuine, unexpired token.

        :class:`TokenExpired` when it is genuine but expired, else :class:`TokenInvalid`.
        """
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenInvalid("empty or oversized token")
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],  # only ours: "none" and RS/ES confusion are refused
                options={
                    "require": list(_REQUIRED_CLAIMS),
                    "verify_exp": False,  # judged below against self._clock
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            claims = msgspec.convert(payload, TokenClaims)
        except (jwt.PyJWTError, msgspec.ValidationError, ValueError) as exc:
            raise TokenInvalid(type(exc).__name__) from None
        if self._clock() >= claims.exp:
            raise TokenExpired("token expired")
        return claims
