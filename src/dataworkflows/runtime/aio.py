"""Running the event loop: uvloop where it is installed, asyncio's own otherwise.

uvloop runs the same asyncio code with a loop written in C; the engine spends much
of each step in loop machinery (futures, callbacks, sockets), so it matters there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion in a new event loop (uvloop when available)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop has no Windows wheels
        return asyncio.run(main)
    return uvloop.run(main)
