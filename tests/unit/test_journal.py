"""The journal's batching: nothing pending is ever stranded, one bad record fails alone."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest

from dataworkflows.engine.journal import MAX_BATCH, Journal, RecordRefused
from dataworkflows.engine.store import RunFinish, StepAttempt


class RecordingStore:
    """Just the journal's part of the store: remembers every batch."""

    def __init__(self, refuse_step: str | None = None) -> None:
        self.batches: list[tuple[int, int, int]] = []
        self.events: list[dict[str, Any]] = []
        self.steps: list[str] = []
        self.refuse_step = refuse_step

    async def write_batch(
        self,
        *,
        engine: str,
        attempts: Sequence[StepAttempt],
        finishes: Sequence[RunFinish],
        events: Sequence[dict[str, Any]],
    ) -> set[UUID]:
        if self.refuse_step and any(a.step_id == self.refuse_step for a in attempts):
            raise psycopg.DataError("invalid input syntax")
        self.batches.append((len(attempts), len(finishes), len(events)))
        self.events.extend(events)
        self.steps.extend(a.step_id for a in attempts)
        return set()


def attempt(step: str) -> StepAttempt:
    now = datetime.now(UTC)
    return StepAttempt(
        run_id=uuid.uuid4(),
        step_id=step,
        iteration=-1,
        attempt=1,
        action="x.y",
        status="succeeded",
        queued_at=now,
        started_at=now,
        finished_at=now,
    )


async def test_more_events_than_a_batch_are_all_written() -> None:
    """Events beyond one batch's size go in later batches instead of waiting forever."""
    store = RecordingStore()
    journal = Journal(store, engine_id="e")  # type: ignore[arg-type]
    journal.start()
    for n in range(MAX_BATCH + 500):
        journal.event(uuid.uuid4(), "step_retry", {"n": n})
    await journal.record(attempt("last"))
    await journal.close()
    assert len(store.events) == MAX_BATCH + 500
    assert all(sum(b) <= MAX_BATCH for b in store.batches)


async def test_a_refused_record_fails_alone() -> None:
    """When the database refuses one record, the others of its batch are still written."""
    store = RecordingStore(refuse_step="bad")
    journal = Journal(store, engine_id="e")  # type: ignore[arg-type]
    journal.start()
    good = [attempt(f"good-{n}") for n in range(5)]
    bad = attempt("bad")
    import asyncio

    results = await asyncio.gather(
        *(journal.record(a) for a in [*good[:2], bad, *good[2:]]), return_exceptions=True
    )
    await journal.close()
    assert isinstance(results[2], RecordRefused)
    assert [r for i, r in enumerate(results) if i != 2] == [None] * 5
    assert sorted(store.steps) == sorted(a.step_id for a in good)


async def test_committed_batches_leave_no_garbage_for_the_cycle_collector() -> None:
    """Recording steps makes no reference cycles, so no collector pause stops the runs."""
    store = RecordingStore()
    journal = Journal(store, engine_id="e")  # type: ignore[arg-type]
    journal.start()
    await journal.record(attempt("warm-up"))
    gc.collect()
    gc.disable()  # nothing is collected until we look
    try:
        for n in range(20):
            await journal.record(attempt(f"s{n}"))
        assert len(store.batches) == 21
        assert gc.collect() == 0
    finally:
        gc.enable()
        await journal.close()


@pytest.mark.parametrize("text", ["nul \x00 inside", "plain"])
def test_nul_characters_never_reach_postgresql(text: str) -> None:
    """Values with NUL characters are encoded without them (PostgreSQL's JSON refuses NUL)."""
    from dataworkflows.engine.postgres_store import _text

    encoded = _text({"note": text, "list": [text]})
    assert encoded is not None
    assert "\\u0000" not in encoded
    assert ("\ufffd" in encoded) == ("\x00" in text)
