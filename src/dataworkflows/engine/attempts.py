"""A step's attempts: numbered, called with retries, each recorded before the next.

Calls the step's action until it succeeds or its retry policy gives up, waiting the
policy's backoff (at least what the connector asked for), timing out an attempt that
exceeds the step's timeout, and recording every attempt, redacted, through the journal.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from dataworkflows.contracts import ActionContext, ActionError, ActionFailed, ActionRequest
from dataworkflows.engine.connectors import ConnectorRegistry
from dataworkflows.engine.journal import Journal
from dataworkflows.engine.runs import PROGRESS_ROW_AFTER_S, InFlight, RunState, error, now
from dataworkflows.engine.store import StepAttempt, StepStatus
from dataworkflows.engine.validation import CompiledStep
from dataworkflows.runtime import tracing
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.redaction import Redactor

__all__ = ["StepAttempts"]

_log = get_logger(__name__)


class StepAttempts:
    """Makes, calls and records the attempts of steps."""

    def __init__(
        self,
        *,
        journal: Journal,
        connectors: ConnectorRegistry,
        redactor: Redactor,
        step_timeout_s: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.journal = journal
        self._connectors = connectors
        self._redact = redactor
        self._step_timeout_s = step_timeout_s
        self._sleep = sleep
        self._jitter = jitter

    async def record_failure(
        self,
        state: RunState,
        step: CompiledStep,
        iteration: int,
        failure: dict[str, Any],
        queued_at: datetime,
    ) -> None:
        """Record a failed attempt that never reached the connector (an expression)."""
        at = now()
        await self.journal.record(
            self.new(
                state,
                step,
                iteration,
                status="failed",
                queued_at=queued_at,
                started_at=at,
                finished_at=at,
                error=failure,
            )
        )

    def new(
        self,
        state: RunState,
        step: CompiledStep,
        iteration: int,
        *,
        status: StepStatus,
        queued_at: datetime,
        started_at: datetime,
        **fields: Any,
    ) -> StepAttempt:
        """The record of the step's next attempt (numbered here)."""
        return StepAttempt(
            run_id=state.id,
            step_id=step.id,
            iteration=iteration,
            attempt=self.number(state, step.id, iteration),
            action=step.action,
            status=status,
            queued_at=queued_at,
            started_at=started_at,
            **fields,
        )

    def number(self, state: RunState, step_id: str, iteration: int) -> int:
        """The next attempt number of (step, iteration) in this run (after any recorded)."""
        key = (step_id, iteration)
        number = state.next_attempt.get(key, 1)
        state.next_attempt[key] = number + 1
        return number

    async def _invoke(self, action: str, request: ActionRequest, iteration: int) -> Any:
        """The action's call; in a span of its own (one per step attempt) when traced."""
        if not tracing.active():
            return await self._connectors.invoke(action, request)
        assert request.context is not None
        attributes = {
            "dw.run_id": request.context.run_id,
            "dw.step": request.context.step_id,
            "dw.action": action,
            "dw.attempt": request.context.attempt,
            "dw.iteration": iteration,
        }
        with tracing.span(f"step {request.context.step_id}", attributes=attributes) as current:
            try:
                return await self._connectors.invoke(action, request)
            except ActionFailed as exc:
                # The code only: a message may quote what the vendor was sent.
                tracing.fail(current, exc.error.code)
                raise

    async def call(
        self,
        state: RunState,
        step: CompiledStep,
        iteration: int,
        arguments: Any,
        queued_at: datetime,
    ) -> tuple[Any, dict[str, Any] | None]:
        """Call the step's action until it succeeds or its retry policy gives up."""
        policy = step.retry
        timeout = step.timeout or self._step_timeout_s
        recorded_input = self._redact(arguments)
        request_input = arguments if isinstance(arguments, dict) else {"value": arguments}
        idempotency_key = f"{state.id_text}:{step.id}:{iteration}"
        key = (step.id, iteration)
        task = asyncio.current_task(self.journal.loop)
        assert task is not None
        tries = 0
        while True:
            tries += 1
            attempt = self.new(
                state,
                step,
                iteration,
                status="running",
                queued_at=queued_at,
                started_at=now(),
                input=recorded_input,
            )
            started = time.monotonic()
            flight = InFlight(
                attempt=attempt,
                task=task,
                deadline=started + timeout,
                progress_at=started + PROGRESS_ROW_AFTER_S,
            )
            state.in_flight[key] = flight
            output: Any = None
            failure: ActionError | None = None
            try:
                request = ActionRequest(
                    input=request_input,
                    idempotency_key=idempotency_key,
                    context=ActionContext(
                        run_id=state.id_text, step_id=step.id, attempt=attempt.attempt
                    ),
                )
                output = await self._invoke(step.action, request, iteration)
            except ActionFailed as exc:
                failure = exc.error
            except asyncio.CancelledError:
                if not flight.timed_out or state.stop_reason is not None:
                    raise
                task.uncancel()  # the watcher cancelled only this attempt
                failure = ActionError(
                    code="upstream_unavailable",
                    message=f"no answer within the step timeout of {timeout:g} s",
                    retryable=True,
                )
            except Exception as exc:
                _log.exception("connector raised", action=step.action, run_id=state.id_text)
                failure = ActionError(
                    code="upstream_error",
                    message=f"the connector failed unexpectedly ({type(exc).__name__})",
                    retryable=False,
                )
            # Not in a finally: an interrupted run leaves the attempt here, for _stopped().
            del state.in_flight[key]
            attempt.finished_at = now()
            if failure is None:
                attempt.status = "succeeded"
                attempt.output = self._redact(output)
                attempt.redacted = attempt.output is not output
                await self.journal.record(attempt)
                return output, None
            error_dict = error(failure.code, failure.message, retryable=failure.retryable)
            if failure.retry_after_s is not None:
                error_dict["retry_after_s"] = failure.retry_after_s
            attempt.status = "failed"
            attempt.error = self._redact(error_dict)
            await self.journal.record(attempt)
            if not failure.retryable or tries >= policy.attempts:
                return None, attempt.error
            delay = policy.delay(
                tries, jitter_fraction=self._jitter(), retry_after_s=failure.retry_after_s
            )
            self.journal.event(
                state.id,
                "step_retry",
                {
                    "step": step.id,
                    "iteration": iteration,
                    "attempt": attempt.attempt,
                    "delay_s": round(delay, 3),
                },
            )
            await self._sleep(delay)
            queued_at = now()
