"""The circuit breaker opens on repeated upstream failures and recovers after a pause."""

from __future__ import annotations

import pytest

from dataworkflows.runtime.resilience import CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_refuses_calls() -> None:
    """After `failure_threshold` failures in a row, calls are refused without trying."""
    clock = Clock()
    breaker = CircuitBreaker("up", failure_threshold=3, reset_after_s=10, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen, match="3 times in a row"):
        breaker.before_call()
    assert breaker.problem() == "up circuit open after 3 consecutive failures"


def test_a_success_resets_the_count() -> None:
    """Failures must be consecutive: one success starts the count again."""
    breaker = CircuitBreaker("up", failure_threshold=2, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_half_open_lets_one_trial_through() -> None:
    """After the pause one call may try; success closes, failure reopens."""
    clock = Clock()
    breaker = CircuitBreaker("up", failure_threshold=1, reset_after_s=10, clock=clock)
    breaker.record_failure()
    clock.now = 10.0
    assert breaker.state == "half_open"
    breaker.before_call()
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # only one trial at a time
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now = 20.0
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.problem() is None
