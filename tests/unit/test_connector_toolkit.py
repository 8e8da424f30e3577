"""The connector toolkit: one error mapping, one resilient transport, one write cache and
one set of sandbox controls, as every connector relies on them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
import stamina
from litestar.testing import TestClient
from stamina.instrumentation import RetryDetails

from dataworkflows.connectors.toolkit import RecentResults, Upstream, upstream
from dataworkflows.connectors.toolkit.transport import RETRY_AFTER_JITTER_S
from dataworkflows.contracts import ActionFailed, ActionRequest
from dataworkflows.contracts.upstream import UpstreamError
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.app import create_app
from dataworkflows.runtime.resilience import CircuitBreaker
from dataworkflows.sandboxes.controls import sandbox_controls


class VendorError(UpstreamError):
    """A vendor's base error, as a port declares it."""


class VendorUnavailable(VendorError, upstream.Unavailable):
    """The vendor is down."""


class VendorRateLimited(VendorError, upstream.RateLimited):
    """The vendor throttles."""


class VendorDailyLimit(VendorError, upstream.RateLimited):
    """A limit no retry helps with."""

    retryable = False


class VendorNotFound(VendorError, upstream.NotFound):
    """Nothing there."""


@pytest.fixture
def retries() -> Iterator[None]:
    """stamina's testing mode with up to 3 attempts (no real waiting)."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(True)


def _failing_action(error: Exception) -> ActionSet:
    actions = ActionSet("vendor")

    @actions.action("read", effect="read", description="Fails with the given error.")
    async def read(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
        raise error

    return actions


@pytest.mark.parametrize(
    ("error", "code", "retryable", "retry_after"),
    [
        (VendorError("odd answer", code="weird"), "upstream_error", False, None),
        (upstream.AuthFailed("token refused", code="invalid_auth"), "auth_failed", False, None),
        (VendorNotFound("no such board", code="404"), "not_found", False, None),
        (upstream.Invalid("bad column", code="ColumnValueException"), "invalid_input", False, None),
        (
            VendorRateLimited("slow down", code="ratelimited", retry_after=7),
            "rate_limited",
            True,
            7,
        ),
        (VendorDailyLimit("spent for today", code="DAILY"), "rate_limited", False, None),
        (VendorUnavailable("HTTP 503", code=None, retry_after=2), "upstream_unavailable", True, 2),
    ],
)
async def test_any_upstream_error_becomes_the_connector_apis_typed_error(
    error: UpstreamError, code: str, retryable: bool, retry_after: float | None
) -> None:
    """Whatever a handler lets escape is mapped once, with code, retryability, wait and the
    vendor's own code."""
    with pytest.raises(ActionFailed) as caught:
        await _failing_action(error).invoke("read", ActionRequest(input={}))
    assert caught.value.error.code == code
    assert caught.value.error.retryable is retryable
    assert caught.value.error.retry_after_s == retry_after
    assert caught.value.error.upstream_code == error.code
    assert caught.value.error.message == error.message


@dataclass
class Script:
    """An upstream call that fails with each queued error, then answers."""

    errors: list[Exception]
    calls: int = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


def _upstream(breaker: CircuitBreaker | None = None, **kwargs: Any) -> Upstream:
    return Upstream("vendor", unavailable=VendorUnavailable, breaker=breaker, **kwargs)


async def test_transient_failures_are_retried(retries: None) -> None:
    """Unavailable and rate-limited answers are tried again; then the answer comes back."""
    script = Script([VendorUnavailable("down"), VendorRateLimited("slow", retry_after=0.01)])
    assert await _upstream().call(script) == "answer"
    assert script.calls == 3


async def test_successful_calls_leave_no_garbage_for_the_cycle_collector() -> None:
    """A call that succeeds makes no reference cycles, so no collector pause stops the
    connector's other calls."""
    upstream = _upstream()
    assert await upstream.call(Script([])) == "answer"
    gc.collect()
    gc.disable()  # nothing is collected until we look
    try:
        for _ in range(20):
            assert await upstream.call(Script([])) == "answer"
        assert gc.collect() == 0
    finally:
        gc.enable()


async def test_a_retry_after_the_first_failure_waits_what_the_vendor_asked() -> None:
    """The first try goes outside stamina, yet its failure still gets stamina's policy:
    one retry, after at least the vendor's Retry-After."""
    details: list[RetryDetails] = []
    hooks = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([details.append])
    stamina.set_testing(False)
    try:
        script = Script([VendorRateLimited("slow", retry_after=0.05)])
        assert await _upstream().call(script) == "answer"
    finally:
        stamina.set_testing(True)
        stamina.instrumentation.set_on_retry_hooks(hooks)
    assert script.calls == 2
    assert [d.retry_num for d in details] == [1]
    assert 0.05 <= details[0].wait_for <= 0.05 + RETRY_AFTER_JITTER_S
    assert isinstance(details[0].caused_by, VendorRateLimited)


@pytest.mark.parametrize(
    "error",
    [VendorNotFound("gone"), VendorDailyLimit("spent"), VendorError("odd")],
    ids=["refusal", "not-retryable-limit", "unknown"],
)
async def test_errors_no_retry_helps_with_are_not_retried(
    retries: None, error: UpstreamError
) -> None:
    """A refusal or a limit marked not retryable reaches the caller after one call."""
    script = Script([error])
    with pytest.raises(type(error)):
        await _upstream().call(script)
    assert script.calls == 1


async def test_a_write_is_not_repeated_when_told(retries: None) -> None:
    """retry=False: one attempt, whatever the failure."""
    script = Script([VendorUnavailable("lost answer")])
    with pytest.raises(VendorUnavailable):
        await _upstream().call(script, retry=False)
    assert script.calls == 1


def test_the_wait_is_at_least_what_the_vendor_asked_for() -> None:
    """Retry-After is honoured with a little upward jitter; without it, stamina's backoff;
    a wait beyond the longest goes back to the caller."""
    upstream = _upstream(longest_wait_s=30)
    for _ in range(50):
        wait = upstream._backoff(VendorRateLimited("slow", retry_after=7))
        assert isinstance(wait, float)
        assert 7 <= wait <= 7 + RETRY_AFTER_JITTER_S
    assert upstream._backoff(VendorUnavailable("down")) is True
    assert upstream._backoff(VendorRateLimited("slow", retry_after=31)) is False


async def test_an_upstream_that_keeps_failing_opens_the_breaker(retries: None) -> None:
    """Consecutive unavailable answers open the breaker; then no call is made, and the
    refusal (the vendor's own unavailable error) is not retried."""
    breaker = CircuitBreaker("vendor", failure_threshold=2)
    upstream = _upstream(breaker)
    script = Script([VendorUnavailable("down")] * 5)
    with pytest.raises(VendorUnavailable):
        await upstream.call(script)
    assert script.calls == 2
    assert breaker.state == "open"
    with pytest.raises(VendorUnavailable) as caught:
        await upstream.call(script)
    assert caught.value.circuit_open
    assert script.calls == 2


async def test_a_refusal_counts_as_a_healthy_upstream() -> None:
    """An upstream that answers, even with an error, resets the failure count."""
    breaker = CircuitBreaker("vendor", failure_threshold=2)
    upstream = _upstream(breaker)
    for error in (VendorUnavailable("down"), VendorNotFound("gone"), VendorUnavailable("down")):
        with pytest.raises(UpstreamError):
            await upstream.once(Script([error]))
    assert breaker.state == "closed"


def test_recent_results_are_reused_only_for_the_same_key_and_input() -> None:
    """A retried write gets the first result; another input under the key does not."""
    written: RecentResults[str] = RecentResults(size=2)
    written.put("k1", "page 1", b"input-a")
    assert written.get("k1", b"input-a") == "page 1"
    assert written.get("k1", b"input-b") is None
    assert written.get(None) is None
    written.put(None, "nothing")
    written.put("k2", "page 2")
    written.put("k3", "page 3")
    assert written.get("k1", b"input-a") is None  # the oldest went first
    assert written.get("k3") == "page 3"


class Fault(msgspec.Struct, forbid_unknown_fields=True):
    """A sandbox's fault."""

    kind: str
    times: int = 1


@dataclass
class State:
    """A sandbox's state, as the controls see it."""

    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=lambda: [{"path": "/v2"}])
    resets: int = 0

    def inject(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    def reset(self) -> None:
        self.resets += 1
        self.faults.clear()


def test_the_sandbox_controls_queue_faults_list_requests_and_reset() -> None:
    """Every sandbox's /sandbox/faults, /sandbox/requests and /sandbox/reset behave alike."""
    state = State()
    app = create_app(component="test-sandbox", route_handlers=sandbox_controls(state, Fault))
    with TestClient(app) as client:
        assert client.post("/sandbox/faults", json={"kind": "rate_limited"}).status_code == 204
        assert state.faults == [Fault(kind="rate_limited")]
        refused = client.post("/sandbox/faults", json={"kind": "x", "bogus": 1})
        assert refused.status_code == 400
        assert "bogus" in refused.text
        assert client.get("/sandbox/requests").json() == [{"path": "/v2"}]
        assert client.delete("/sandbox/faults").status_code == 204
        assert state.faults == []
        assert client.post("/sandbox/reset").status_code == 204
        assert state.resets == 1
