"""The event loop runner every component starts with."""

from __future__ import annotations

import gc

import pytest

from dataworkflows.runtime.aio import GC_YOUNG_THRESHOLD, run


def test_a_running_component_collects_young_garbage_rarely_and_restores_the_collector() -> None:
    """While a component runs, the collector waits for GC_YOUNG_THRESHOLD allocations;
    afterwards (here: the pytest process) it is back to what it was."""
    before = gc.get_threshold()

    async def seen() -> tuple[int, int, int]:
        return gc.get_threshold()

    during = run(seen())

    assert during == (GC_YOUNG_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before


def test_the_collector_is_restored_when_the_component_fails() -> None:
    """A component that raises leaves the process's collector as it found it."""
    before = gc.get_threshold()

    async def fails() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run(fails())

    assert gc.get_threshold() == before
