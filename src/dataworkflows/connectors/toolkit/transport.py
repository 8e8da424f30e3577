"""One resilient way to call an upstream: a circuit breaker plus stamina's retries.

Every connector's client sends its requests through an :class:`Upstream`. The client
turns what it got (an HTTP answer, an SDK exception, a network failure) into its
port's :class:`~dataworkflows.contracts.UpstreamError`; the ``Upstream`` does the rest
the same way for every vendor:

- an open breaker refuses the call at once (the vendor's "unavailable" error, never
  retried here: the engine retries the step later, durably);
- an unavailable upstream counts as a failure, any other answer (even a refusal) as a
  success: the upstream is healthy even when the request was not;
- rate limits and unavailability are retried with exponential backoff and jitter
  (stamina), waiting at least what the vendor asked for (``Retry-After``), with a little
  upward jitter (:data:`RETRY_AFTER_JITTER_S`);
- a wait longer than ``longest_wait_s`` goes back to the caller instead.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import stamina

from dataworkflows.contracts.upstream import RateLimited, Unavailable, UpstreamError
from dataworkflows.runtime.metrics import RATE_LIMIT_WAIT_SECONDS
from dataworkflows.runtime.resilience import CircuitBreaker, CircuitOpen

__all__ = ["Upstream"]

T = TypeVar("T")

RETRY_AFTER_JITTER_S = 0.25
"""At most this much is added to a vendor's ``Retry-After``, so that clients throttled
together do not all come back in the same instant."""


class Upstream:
    """One upstream host's breaker and retry policy.

    ``unavailable`` builds the vendor's own "unavailable" error (``MondayUnavailable``)
    for a call the open breaker refused. ``retry_on``, when given, narrows which
    transient errors are retried here (a vendor SDK may have retried some already).
    """

    def __init__(
        self,
        name: str,
        *,
        unavailable: Callable[[str], UpstreamError],
        attempts: int = 5,
        wait_initial: float = 0.1,
        wait_max: float = 5.0,
        wait_jitter: float = 1.0,
        longest_wait_s: float = 30.0,
        retry_on: Callable[[UpstreamError], bool] | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.breaker = breaker or CircuitBreaker(name)
        self._unavailable = unavailable
        self._attempts = attempts
        self._wait_initial = wait_initial
        self._wait_max = wait_max
        self._wait_jitter = wait_jitter
        self._longest_wait_s = longest_wait_s
        self._retry_on = retry_on

    async def call(self, operation: Callable[[], Awaitable[T]], *, retry: bool = True) -> T:
        """``operation`` under the breaker, retried while transient unless ``retry`` is
        False (a write whose lost answer must not be repeated blindly)."""
        # The first try goes outside stamina: its retry context is a graph of tenacity
        # objects with reference cycles, built even when the call succeeds, and only
        # the cyclic garbage collector frees them; under load its collections stop the
        # connector's loop for hundreds of milliseconds (bench/README.md, "Garbage
        # collection pauses"). After a transient failure stamina takes over, and its
        # first attempt replays that failure, so the policy (the wait, Retry-After,
        # the number of attempts, testing mode) is exactly stamina's.
        try:
            return await self.once(operation)
        except (RateLimited, Unavailable) as exc:
            if not retry:
                raise
            failed: BaseException | None = exc
        async for attempt in stamina.retry_context(
            on=self._backoff,
            attempts=self._attempts,
            timeout=None,
            wait_initial=self._wait_initial,
            wait_max=self._wait_max,
            wait_jitter=self._wait_jitter,
        ):
            with attempt:
                if failed is not None:
                    first, failed = failed, None
                    raise first
                return await self.once(operation)
        raise AssertionError("unreachable")  # pragma: no cover

    async def once(self, operation: Callable[[], Awaitable[T]]) -> T:
        """``operation`` once, under the breaker."""
        try:
            self.breaker.before_call()
        except CircuitOpen as exc:
            refused = self._unavailable(str(exc))
            refused.circuit_open = True
            raise refused from None
        try:
            result = await operation()
        except Unavailable:
            self.breaker.record_failure()
            raise
        except UpstreamError:
            # It answered, sensibly: the upstream is healthy even if the request was not.
            self.breaker.record_success()
            raise
        self.breaker.record_success()
        return result

    def _backoff(self, error: Exception) -> bool | float:
        """stamina's hook: whether to try again, and the least wait when the vendor said."""
        if not isinstance(error, RateLimited | Unavailable):
            return False
        if error.circuit_open or error.retryable is False:
            return False
        if self._retry_on is not None and not self._retry_on(error):
            return False
        if error.retry_after is None:
            return True
        # Long waits go back to the caller: the engine retries the step durably.
        if error.retry_after > self._longest_wait_s:
            return False
        # Retry-After is a minimum: jitter only upwards, a little.
        wait = error.retry_after + random.uniform(0.0, RETRY_AFTER_JITTER_S)  # noqa: S311
        RATE_LIMIT_WAIT_SECONDS.labels(self.breaker.name).inc(wait)
        return wait
