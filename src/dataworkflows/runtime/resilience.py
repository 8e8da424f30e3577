"""A circuit breaker for connectors' upstream calls.

Retries (stamina) handle a failure that passes; the breaker handles an upstream that
keeps failing: after ``failure_threshold`` consecutive failures it opens and calls
fail at once for ``reset_after_s``, sparing the upstream and the caller's time. Then
one trial call is let through (half-open); its success closes the breaker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Literal

from dataworkflows.runtime.metrics import BREAKER_STATE

__all__ = ["CircuitBreaker", "CircuitOpen"]

State = Literal["closed", "open", "half_open"]
_STATE_VALUES: Final[dict[State, float]] = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


class CircuitOpen(Exception):
    """The breaker is open: the upstream failed repeatedly; no call was made."""


class CircuitBreaker:
    """Counts consecutive failures of one upstream and opens when they pile up."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._threshold = failure_threshold
        self._reset_after = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        # The gauge reads the state when scraped (the newest breaker of a name wins).
        BREAKER_STATE.labels(name).set_function(lambda: _STATE_VALUES[self.state])

    @property
    def state(self) -> State:
        """``closed`` (calls flow), ``open`` (calls refused) or ``half_open`` (one trial)."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._reset_after:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Raise :class:`CircuitOpen` unless a call may be made now."""
        state = self.state
        if state == "open" or (state == "half_open" and self._trial_running):
            assert self._opened_at is not None
            wait = max(0.0, self._reset_after - (self._clock() - self._opened_at))
            raise CircuitOpen(
                f"{self.name} failed {self._failures} times in a row; not calling it for "
                f"another {wait:.0f} s"
            )
        if state == "half_open":
            self._trial_running = True

    def record_success(self) -> None:
        """The call worked: close the breaker."""
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        """The upstream failed (not the caller's mistake): count it, maybe open."""
        self._failures += 1
        self._trial_running = False
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()

    def problem(self) -> str | None:
        """For ``/readyz``: why calls are refused, or None."""
        if self.state == "closed":
            return None
        return f"{self.name} circuit {self.state} after {self._failures} consecutive failures"
