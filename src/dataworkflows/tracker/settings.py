"""The mock Task Tracker's settings (``serve tracker``, and ``dev``'s stand-in)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from dataworkflows.runtime.settings import (
    SECRET,
    env,
    float_between,
    parse_identifier,
    parse_secret,
    parse_token,
)

__all__ = ["TrackerSettings"]


class TrackerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The one account the tracker accepts, and how it signs tokens."""

    username: Annotated[
        str | None, env("TRACKER_USERNAME", parse_identifier, "the account the tracker accepts")
    ] = None
    password: Annotated[
        str | None, env("TRACKER_PASSWORD", parse_secret, "that account's password"), SECRET
    ] = None
    jwt_secret: Annotated[
        str | None,
        env("TRACKER_JWT_SECRET", parse_token, "the token signing key (default: random)"),
        SECRET,
    ] = None
    token_ttl: Annotated[
        float,
        env("TRACKER_TOKEN_TTL", float_between(5.0, 7 * 86_400.0), "seconds a token stays valid"),
    ] = 3600.0
