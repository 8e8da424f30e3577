"""What the engine's API clients (the CLI, the console, the Slack bot) share about
naming runs and showing them."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["RUN_ID_START", "format_duration"]

RUN_ID_START: Final = re.compile(r"[0-9a-f][0-9a-f-]{0,35}")
"""The start of a run id in lower case, as people copy ids short (like a git commit);
``GET /v1/runs?q=`` matches it against the start of every run's id. Use ``fullmatch``."""


def format_duration(ms: float | None) -> str:
    """How long a run or step took, as people read it: ``850 ms``, ``3.2 s``,
    ``2 min 5 s``, ``1 h 3 min`` (``?`` when unknown)."""
    if ms is None:
        return "?"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
