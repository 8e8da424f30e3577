"""Steps that wait: for a named signal, or until a time, holding nothing meanwhile.

``uses: wait.signal`` with ``with: {signal: approval, timeout: 2d, default: {...}}``
waits for ``POST /v1/runs/{id}/signals/approval``; its output is
``{signal, payload, sent_at, timed_out}``. After ``timeout`` it goes on with
``default`` as the payload (``timed_out: true``), or fails with ``on_timeout: fail``.
``uses: wait.until`` with ``with: {until: <time>}`` or ``{duration: 1h}`` waits for
that time; its output is ``{until, woke_at}``.

A waiting run leaves the engine: its step records a ``waiting`` attempt, and the run
is handed back to the database as ``waiting`` (no task, no executor slot, no
connection). A signal it waits for, or its time (the :class:`Waker` of any engine),
queues it again; the engine that claims it replays the recorded steps and the wait
step finds its signal (taken once, by that step) or that its time has come. Signals
sent before the run waits for them are kept for it. An engine restart loses nothing:
the state is all in the database.

The run's own ``timeout`` counts the time it waits: give a workflow that waits for
people a timeout that fits, or none.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

import msgspec

from dataworkflows.contracts import ActionFailed
from dataworkflows.engine.definitions import parse_duration
from dataworkflows.engine.store import EngineStore
from dataworkflows.engine.wake_loop import WakeLoop
from dataworkflows.runtime.actions import ActionCall, ActionSet

__all__ = [
    "SIGNAL_NAME_PATTERN",
    "WAIT_ACTIONS",
    "SignalOutput",
    "Suspended",
    "UntilOutput",
    "WaitSignal",
    "WaitUntil",
    "Waker",
    "wait_actions",
]

SIGNAL_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
WAIT_ACTIONS: Final = frozenset({"wait.signal", "wait.until"})
POLL_S: Final = 30.0
MIN_SLEEP_S: Final = 0.05
WAKE_BATCH: Final = 1000

SignalName = Annotated[str, msgspec.Meta(pattern=SIGNAL_NAME_PATTERN)]


class WaitSignal(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``wait.signal``: the signal to wait for, and for how long."""

    signal: SignalName
    """Its name: ``POST /v1/runs/{id}/signals/<name>`` sends it."""
    timeout: float | str | None = None
    """How long to wait (seconds, or '30m', '2d'...); none: for ever."""
    default: Any = None
    """The payload after a timeout."""
    on_timeout: Literal["continue", "fail"] = "continue"
    """After a timeout: go on with ``default``, or fail the step."""


class SignalOutput(msgspec.Struct, kw_only=True):
    """The signal that came (or the default after a timeout)."""

    signal: str
    payload: Any
    sent_at: datetime | None
    timed_out: bool


class WaitUntil(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``wait.until``: a time, or how long from when the step began."""

    until: datetime | None = None
    """An RFC 3339 time (with its offset)."""
    duration: float | str | None = None
    """Seconds, or '30m', '2d'... from when the step began waiting."""


class UntilOutput(msgspec.Struct, kw_only=True):
    """When the wait ended."""

    until: datetime
    woke_at: datetime


class Suspended(Exception):
    """A step waits: hand the run back until ``wake_at`` or ``signal``."""

    def __init__(self, wake_at: datetime | None, signal: str | None) -> None:
        super().__init__(f"waiting for {signal or 'a time'}")
        self.wake_at = wake_at
        self.signal = signal


def duration_s(value: float | str | None, field: str) -> float | None:
    """Seconds from a wait's ``timeout``/``duration``; ``ValueError`` naming ``field``."""
    if value is None:
        return None
    seconds = parse_duration(value, field=field)
    if seconds <= 0:
        raise ValueError(f"{field} must be more than 0")
    return seconds


def wait_actions() -> ActionSet:
    """The ``wait`` connector's catalog: the engine runs these steps itself."""
    waits = ActionSet("wait")

    @waits.action(
        "signal",
        effect="read",
        description="Waits for POST /v1/runs/{id}/signals/<signal> (holding nothing while "
        "it waits); answers with its payload, or `default` after `timeout`.",
    )
    async def signal(data: WaitSignal, call: ActionCall) -> SignalOutput:
        raise ActionFailed.of("invalid_input", "wait.signal works only as a workflow step")

    @waits.action(
        "until",
        effect="read",
        description="Waits until a time (`until`) or for a `duration`, holding nothing "
        "while it waits.",
    )
    async def until(data: WaitUntil, call: ActionCall) -> UntilOutput:
        raise ActionFailed.of("invalid_input", "wait.until works only as a workflow step")

    return waits


def wake_time(data: WaitUntil, began: datetime) -> datetime:
    """When a ``wait.until`` step is over; ``ValueError`` when it says neither or both."""
    if (data.until is None) == (data.duration is None):
        raise ValueError("give exactly one of until and duration")
    if data.until is not None:
        if data.until.tzinfo is None:
            raise ValueError("until needs a time zone offset (e.g. 2026-12-07T09:00:00Z)")
        return data.until.astimezone(UTC)
    seconds = duration_s(data.duration, "duration")
    assert seconds is not None
    return began + timedelta(seconds=seconds)


class Waker(WakeLoop):
    """Queues waiting runs whose time has come, sleeping until the next one (any
    engine's suspension wakes every engine's waker), until stopped."""

    failure = "waiting runs not woken"

    def __init__(
        self,
        store: EngineStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_s: float = POLL_S,
    ) -> None:
        # At least a moment between turns: a due run another engine is waking (locked,
        # so skipped here) must not make this loop spin.
        super().__init__(clock=clock, poll_s=poll_s, min_sleep_s=MIN_SLEEP_S)
        self._store = store

    async def turn(self) -> datetime | None:
        """Queue every waiting run that is due; when the next one is."""
        while await self._store.wake_runs(WAKE_BATCH) == WAKE_BATCH:
            pass
        return await self._store.next_wake()
