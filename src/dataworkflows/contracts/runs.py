"""What the engine's API clients (the CLI, the console) share about naming runs."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["RUN_ID_START"]

RUN_ID_START: Final = re.compile(r"[0-9a-f][0-9a-f-]{0,35}")
"""The start of a run id in lower case, as people copy ids short (like a git commit);
``GET /v1/runs?q=`` matches it against the start of every run's id. Use ``fullmatch``."""
