"""Reading credentials out of request headers, the same way in every component."""

from __future__ import annotations

__all__ = ["bearer_token"]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None.

    The scheme is case-insensitive and the spaces around the token are not part of
    it (RFC 6750 section 2.1, RFC 9110 section 11.1). None for a missing or blank
    header, another scheme, or a scheme with no token.
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
