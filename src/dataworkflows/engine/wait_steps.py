"""Running ``wait.signal`` and ``wait.until`` steps (see :mod:`.waiting`).

The interpreter hands a wait step here with its evaluated ``with``. The step's first
``waiting`` attempt records when the wait began (a timeout or a duration counts from
it, across any number of suspensions); its outcome is the attempt after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from dataworkflows.engine.attempts import StepAttempts
from dataworkflows.engine.journal import Journal
from dataworkflows.engine.runs import RunState, StepFailed
from dataworkflows.engine.runs import error as _error
from dataworkflows.engine.runs import now as _now
from dataworkflows.engine.runs import step_view as _step_view
from dataworkflows.engine.store import EngineStore
from dataworkflows.engine.validation import CompiledStep
from dataworkflows.engine.waiting import (
    SignalOutput,
    Suspended,
    UntilOutput,
    WaitSignal,
    WaitUntil,
    duration_s,
    wake_time,
)
from dataworkflows.runtime.redaction import Redactor

__all__ = ["WaitSteps"]


class _WaitFailed(Exception):
    """A wait step ended in failure (its timeout, with ``on_timeout: fail``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WaitSteps:
    """Decides, records and suspends wait steps."""

    def __init__(
        self, *, store: EngineStore, journal: Journal, calls: StepAttempts, redactor: Redactor
    ) -> None:
        self._store = store
        self.journal = journal
        self._calls = calls
        self._redact = redactor

    async def outcome(self, state: RunState, step: CompiledStep, arguments: Any) -> dict[str, Any]:
        """The step's view when its signal or its time has come; else it records that it
        waits and raises :class:`Suspended`. :class:`StepFailed` when it fails the run."""
        before = state.recorded.get((step.id, -1))
        began = before.started_at if before is not None and before.status == "waiting" else None
        now = _now()
        start = began or now
        try:
            if step.action == "wait.signal":
                data = msgspec.convert(arguments, WaitSignal, strict=False)
                timeout = duration_s(data.timeout, "timeout")
                wake_at = start + timedelta(seconds=timeout) if timeout is not None else None
                signal = await self._store.take_signal(state.id, data.signal, step.id)
                if signal is not None:
                    output: Any = SignalOutput(
                        signal=data.signal,
                        payload=signal.payload,
                        sent_at=signal.sent_at,
                        timed_out=False,
                    )
                elif wake_at is not None and now >= wake_at:
                    if data.on_timeout == "fail":
                        raise _WaitFailed(
                            "timed_out", f"no {data.signal!r} signal within {data.timeout}"
                        )
                    output = SignalOutput(
                        signal=data.signal, payload=data.default, sent_at=None, timed_out=True
                    )
                else:
                    await self._record_waiting(state, step, arguments, began, now)
                    raise Suspended(wake_at, data.signal)
            else:
                until = wake_time(msgspec.convert(arguments, WaitUntil, strict=False), start)
                if now < until:
                    await self._record_waiting(state, step, arguments, began, now)
                    raise Suspended(until, None)
                output = UntilOutput(until=until, woke_at=now)
        except (msgspec.ValidationError, ValueError) as exc:
            error = _error("invalid_input", f"with: {exc}")
        except _WaitFailed as exc:
            error = _error(exc.code, exc.message)
        else:
            result = msgspec.to_builtins(output)
            await self.journal.record(
                self._calls.new(
                    state,
                    step,
                    -1,
                    status="succeeded",
                    queued_at=start,
                    started_at=start,
                    finished_at=_now(),
                    input=self._redact(arguments),
                    output=self._redact(result),
                )
            )
            return _step_view("succeeded", result, None)
        await self._calls.record_failure(state, step, -1, error, start)
        if step.on_error == "fail":
            raise StepFailed(step.id, error)
        return _step_view("failed", None, error)

    async def _record_waiting(
        self,
        state: RunState,
        step: CompiledStep,
        arguments: Any,
        began: datetime | None,
        now: datetime,
    ) -> None:
        """Record that the step began waiting (once: a resume that must wait on keeps
        the first record, whose start times the wait)."""
        if began is not None:
            return
        await self.journal.record(
            self._calls.new(
                state,
                step,
                -1,
                status="waiting",
                queued_at=now,
                started_at=now,
                finished_at=now,
                input=self._redact(arguments),
            )
        )
