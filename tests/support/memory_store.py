"""An in-memory stand-in for the engine store's journal side, for fast executor tests.

It keeps step attempts, run results and events as the PostgreSQL store's
``dw.write_batch`` does: an attempt row is keyed by (run, step, iteration, attempt) and
its end replaces its start; a record for a run another engine holds is refused (the
batch answers that run as lost). The executor's resume and retry rules run against it
in milliseconds; the same rules run against PostgreSQL in the integration tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from dataworkflows.engine.store import RunFinish, StepAttempt, StepAttemptRecord


@dataclass
class MemoryEngineStore:
    """What the journal and the step interpreter need of an engine store."""

    owners: dict[UUID, str] = field(default_factory=dict)
    """The engine holding each run; records from any other engine are refused."""
    attempts: dict[tuple[UUID, str, int, int], StepAttempt] = field(default_factory=dict)
    finishes: dict[UUID, RunFinish] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    batches: int = 0

    def hold(self, run_id: UUID, engine: str) -> None:
        """Give ``run_id`` to ``engine`` (as a claim would)."""
        self.owners[run_id] = engine

    def seed(self, attempt: StepAttempt) -> None:
        """Record an attempt as an earlier engine left it (for resume tests)."""
        self.attempts[_key(attempt)] = attempt

    async def write_batch(
        self,
        *,
        engine: str,
        attempts: Sequence[StepAttempt],
        finishes: Sequence[RunFinish],
        events: Sequence[dict[str, Any]],
    ) -> set[UUID]:
        """Record what ``engine`` still holds; the runs it does not."""
        self.batches += 1
        lost: set[UUID] = set()
        for attempt in attempts:
            if self.owners.get(attempt.run_id) != engine:
                lost.add(attempt.run_id)
                continue
            self.attempts[_key(attempt)] = _snapshot(attempt)
        for finish in finishes:
            if self.owners.get(finish.id) != engine:
                lost.add(finish.id)
                continue
            self.finishes[finish.id] = finish
        self.events.extend(e for e in events if self.owners.get(e["run_id"]) == engine)
        return lost

    async def get_step_attempts(self, run_id: UUID) -> list[StepAttemptRecord]:
        """Every recorded attempt of the run, as the store reads them back."""
        return [
            StepAttemptRecord(
                step_id=a.step_id,
                iteration=a.iteration,
                attempt=a.attempt,
                action=a.action,
                aggregate=a.aggregate,
                redacted=a.redacted,
                status=a.status,
                input=a.input,
                output=a.output,
                error=a.error,
                queued_at=a.queued_at,
                started_at=a.started_at,
                finished_at=a.finished_at,
            )
            for key, a in sorted(self.attempts.items(), key=lambda item: item[0][1:])
            if key[0] == run_id
        ]

    def calls_of(self, run_id: UUID, step_id: str) -> list[StepAttempt]:
        """The recorded attempts of one step of a run, in order."""
        return [
            a
            for key, a in sorted(self.attempts.items(), key=lambda item: item[0][1:])
            if key[0] == run_id and a.step_id == step_id
        ]


def _key(attempt: StepAttempt) -> tuple[UUID, str, int, int]:
    return (attempt.run_id, attempt.step_id, attempt.iteration, attempt.attempt)


def _snapshot(attempt: StepAttempt) -> StepAttempt:
    # The executor reuses its attempt objects; the store keeps what was written.
    return StepAttempt(
        run_id=attempt.run_id,
        step_id=attempt.step_id,
        iteration=attempt.iteration,
        attempt=attempt.attempt,
        action=attempt.action,
        status=attempt.status,
        queued_at=attempt.queued_at,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        aggregate=attempt.aggregate,
        redacted=attempt.redacted,
        input=attempt.input,
        output=attempt.output,
        error=attempt.error,
    )
