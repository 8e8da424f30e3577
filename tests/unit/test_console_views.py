"""What the console computes from the API's documents: a run's timeline (waits and
attempts on one axis) and the pages a run's steps touched."""

from __future__ import annotations

from typing import Any

from dataworkflows.console.runs import timeline, touched

T0 = "2026-12-03T10:00:00+00:00"


def _at(ms: int) -> str:
    return f"2026-12-03T10:00:{ms // 1000:02d}.{ms % 1000:03d}000+00:00"


def _attempt(queued: int, started: int, finished: int | None, status: str) -> dict[str, Any]:
    return {
        "queued_at": _at(queued),
        "started_at": _at(started),
        "finished_at": None if finished is None else _at(finished),
        "status": status,
    }


def test_a_retry_shows_its_backoff_wait_then_its_attempt() -> None:
    """A failed attempt, a 300 ms backoff, then the retry: each placed in percent of
    the run's span, with the wait before the retry in ms."""
    run = {"created_at": T0, "started_at": T0, "finished_at": _at(1000)}
    steps = [_attempt(0, 0, 200, "failed"), _attempt(200, 500, 1000, "succeeded")]
    first, retry = timeline(run, steps)
    assert (first["run_x"], first["run_w"], first["wait_w"]) == (0.0, 20.0, 0.0)
    assert (retry["wait_x"], retry["wait_w"]) == (20.0, 30.0)
    assert (retry["run_x"], retry["run_w"]) == (50.0, 50.0)
    assert round(retry["waited_ms"]) == 300


def test_a_running_attempt_reaches_now_and_bars_stay_on_the_axis() -> None:
    """An unfinished run's last attempt runs to now; nothing falls outside 0-100%."""
    run = {"created_at": T0, "started_at": T0, "finished_at": None}
    (bar,) = timeline(run, [_attempt(0, 10, None, "running")])
    assert bar["run_x"] >= 0
    assert bar["run_x"] + bar["run_w"] <= 100.01
    assert timeline(run, []) == []


def test_touched_pages_come_from_succeeded_outputs_once_and_only_http() -> None:
    """Each http(s) url/permalink in a succeeded step's output, once, with its step;
    a javascript: link and a failed step's output are left out."""
    steps = [
        {"step_id": "task", "status": "succeeded", "output": {"task": {"url": "https://t/1"}}},
        {"step_id": "post", "status": "succeeded", "output": {"permalink": "https://s/p1"}},
        {"step_id": "again", "status": "succeeded", "output": [{"url": "https://t/1"}]},
        {"step_id": "bad", "status": "succeeded", "output": {"url": "javascript:alert(1)"}},
        {"step_id": "lost", "status": "failed", "output": {"url": "https://t/2"}},
    ]
    assert touched(steps) == [
        {"url": "https://t/1", "step": "task"},
        {"url": "https://s/p1", "step": "post"},
    ]
