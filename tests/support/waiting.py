"""Waiting for something another process does (tests poll what they do not own)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    probe: Callable[[], T | None], *, timeout: float = 60.0, what: str, every: float = 0.2
) -> T:
    """Poll ``probe`` every ``every`` seconds until it returns something; fail naming
    ``what`` if it never does within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
