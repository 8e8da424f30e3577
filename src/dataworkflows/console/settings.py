"""The standalone console's settings (``serve console``).

Inside the engine the console needs none: it signs people in with the engine's
``DW_API_KEYS`` and reads the engine's own services.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from dataworkflows.runtime.settings import SECRET, env, parse_http_url, parse_token

__all__ = ["ConsoleSettings"]


class ConsoleSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the standalone console finds the engine, and the key it calls it with."""

    engine_url: Annotated[
        str, env("DW_ENGINE_URL", parse_http_url, "the engine's API as the console reaches it")
    ] = "http://127.0.0.1:8080"
    engine_api_key: Annotated[
        str | None,
        env(
            "DW_ENGINE_API_KEY",
            parse_token,
            "the API key the console (and the bot) send to the engine",
        ),
        SECRET,
    ] = None
