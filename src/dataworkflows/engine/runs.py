"""A run as the engine executes it: its state, its stop reasons, its attempts in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal
from uuid import UUID

from dataworkflows.engine.journal import Journal
from dataworkflows.engine.store import StepAttempt, StepAttemptRecord
from dataworkflows.engine.validation import CompiledWorkflow

__all__ = [
    "PROGRESS_ROW_AFTER_S",
    "InFlight",
    "RunState",
    "StepFailed",
    "StopReason",
    "error",
    "now",
    "step_view",
    "watch_attempts",
]

StopReason = Literal["cancelled", "deadline", "shutdown", "lost"]

PROGRESS_ROW_AFTER_S: Final = 1.0
"""A step running longer than this gets a 'running' row, so it shows while it runs."""
WATCH_INTERVAL_S: Final = 0.1
"""How often attempts are checked for their timeout (so it may fire this much late)."""


class StepFailed(Exception):
    """A step failed for good (retries exhausted or not retryable)."""

    def __init__(self, step_id: str, error: dict[str, Any]) -> None:
        super().__init__(f"step {step_id} failed: {error.get('message')}")
        self.step_id = step_id
        self.error = error


@dataclass(slots=True)
class InFlight:
    """An attempt waiting for its connector, watched for its timeout and progress."""

    attempt: StepAttempt
    task: asyncio.Task[Any]
    deadline: float
    progress_at: float
    progress_written: bool = False
    timed_out: bool = False


@dataclass(slots=True)
class RunState:
    """One run being executed here: its definition, context and recorded attempts."""

    id: UUID
    workflow: CompiledWorkflow
    inputs: dict[str, Any]
    context: dict[str, Any]
    recorded: dict[tuple[str, int], StepAttemptRecord] = field(default_factory=dict)
    next_attempt: dict[tuple[str, int], int] = field(default_factory=dict)
    stop_reason: StopReason | None = None
    task: asyncio.Task[None] | None = None
    in_flight: dict[tuple[str, int], InFlight] = field(default_factory=dict)
    id_text: str = ""
    trace_parent: Any = None
    """The trace context its span continues (the request that started it), if any."""
    began: float = field(default_factory=time.monotonic)
    """When this engine began (or resumed) executing it (``time.monotonic()``)."""

    def __post_init__(self) -> None:
        self.id_text = str(self.id)

    @classmethod
    def new(cls, run_id: UUID, workflow: CompiledWorkflow, inputs: dict[str, Any]) -> RunState:
        """A run about to start (or resume) with ``inputs``."""
        return cls(
            id=run_id,
            workflow=workflow,
            inputs=inputs,
            context={
                "inputs": inputs,
                "steps": {},
                "run": {"id": str(run_id), "workflow": workflow.name, "version": workflow.version},
            },
        )


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """An error record: its code, message and any details."""
    return {"code": code, "message": message, **extra}


async def watch_attempts(runs: Mapping[UUID, RunState], journal: Journal) -> None:
    """Time out attempts and write progress rows for long ones, until cancelled.

    One scan every WATCH_INTERVAL_S instead of two timers per attempt: at thousands
    of steps per second the timers cost more than the scan.
    """
    while True:
        await asyncio.sleep(WATCH_INTERVAL_S)
        now = time.monotonic()
        for state in runs.values():
            for flight in state.in_flight.values():
                if not flight.progress_written and now >= flight.progress_at:
                    flight.progress_written = True
                    journal.record_later(_copy(flight.attempt))
                if not flight.timed_out and now >= flight.deadline:
                    flight.timed_out = True
                    flight.task.cancel()


def _copy(attempt: StepAttempt) -> StepAttempt:
    # The progress row is a snapshot: the attempt object itself changes when it ends.
    return StepAttempt(
        run_id=attempt.run_id,
        step_id=attempt.step_id,
        iteration=attempt.iteration,
        attempt=attempt.attempt,
        action=attempt.action,
        status="running",
        queued_at=attempt.queued_at,
        started_at=attempt.started_at,
        input=attempt.input,
    )


def step_view(status: str, output: Any, error: Mapping[str, Any] | None) -> dict[str, Any]:
    """What later expressions see of a step: ``steps.<id>.status``, ``.output``,
    ``.error`` and ``.errors`` (a foreach step's failed items)."""
    errors = list(error.get("items", [])) if error else []
    return {"status": status, "output": output, "error": error, "errors": errors}
