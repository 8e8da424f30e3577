"""Running the event loop: uvloop where it is installed, asyncio's own otherwise.

uvloop runs the same asyncio code with a loop written in C; the engine spends much
of each step in loop machinery (futures, callbacks, sockets), so it matters there.

While the loop runs, the cyclic garbage collector looks at young objects every
:data:`GC_YOUNG_THRESHOLD` allocations instead of CPython's 700. A busy engine holds
thousands of runs, each with futures, tasks and timers that outlive a few hundred
allocations; at the default every collection of the young generations walked them
again and pushed them on into the old one, whose full collections then walked the
whole heap. Profiles of W1 at 1,000 runs in flight (bench/README.md) put the
collector at a quarter of the engine's CPU; at 50,000 it was 3%, and 200,000 did
better again in five alternating pairs (about 9% more steps/s, 11 MiB more memory).
Memory freed by reference counting (nearly all of it) is unaffected; only garbage in
reference cycles waits longer to be found.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

__all__ = ["GC_YOUNG_THRESHOLD", "run"]

T = TypeVar("T")

GC_YOUNG_THRESHOLD: Final = 200_000
"""Allocations (less deallocations) of container objects between collections of the
youngest generation, while :func:`run` runs (CPython's default is 700)."""


@contextmanager
def _server_gc() -> Iterator[None]:
    """The collector tuned for a long-running server, restored afterwards."""
    previous = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion in a new event loop (uvloop when available)."""
    with _server_gc():
        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop has no Windows wheels
            return asyncio.run(main)
        return uvloop.run(main)
