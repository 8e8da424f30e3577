"""`dataworkflows logs` names a run by its id or the start of it, as people copy them;
`runs` lists as many runs as asked for, a page of the API at a time."""

from __future__ import annotations

import io
from typing import Any
from uuid import UUID

import pytest

from dataworkflows.cli_runs import (
    EXIT_USAGE,
    CliProblem,
    attempt_line,
    list_runs,
    resolve_run_id,
)

RUNS = [
    "56aa47d5-4baf-4fc2-b8a9-54411ef04be0",
    "56ab0000-0000-4000-8000-000000000000",
    "c3362818-4ca1-4c1c-9eef-17abe1502d85",
]


class Engine:
    """The engine's `GET /v1/runs?q=` as the API answers it: the runs whose id starts
    with q, or whose text has it, newest first, a page at a time."""

    def __init__(self, runs: list[str], *, texts: dict[str, str] | None = None) -> None:
        self.runs = runs
        self.texts = texts or {}
        self.calls: list[dict[str, Any]] = []

    def call(self, method: str, path: str, *, params: dict[str, Any]) -> dict[str, Any]:
        assert (method, path) == ("GET", "/v1/runs")
        self.calls.append(dict(params))
        q = params["q"]
        matching = [r for r in self.runs if r.startswith(q) or q in self.texts.get(r, "")]
        start = int(params.get("cursor", 0))
        page = matching[start : start + params["limit"]]
        more = start + params["limit"] < len(matching)
        return {
            "runs": [{"id": r} for r in page],
            "next_cursor": str(start + params["limit"]) if more else None,
        }


def test_a_whole_id_is_taken_as_it_is_without_asking_the_engine() -> None:
    """A full id (any case) needs no lookup."""
    engine = Engine(RUNS)
    assert resolve_run_id(engine, RUNS[2].upper()) == RUNS[2]  # type: ignore[arg-type]
    assert engine.calls == []


def test_the_start_of_one_runs_id_names_that_run() -> None:
    """A prefix that only one run's id has names it, even when other runs' text has it."""
    engine = Engine(RUNS, texts={RUNS[2]: "board 56aa47 moved"})
    assert resolve_run_id(engine, "56aa47") == RUNS[0]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("56a", "the start of several runs' ids"),
        ("ffff", "no run whose id starts with ffff"),
        ("run-1!", "is not a run id"),
        ("", "is not a run id"),
    ],
    ids=["ambiguous", "unknown", "not-hex", "empty"],
)
def test_what_names_no_single_run_is_a_usage_error(text: str, said: str) -> None:
    """Ambiguous, unknown or malformed: one line saying which, exit status 2."""
    with pytest.raises(CliProblem) as problem:
        resolve_run_id(Engine(RUNS), text)  # type: ignore[arg-type]
    assert said in str(problem.value)
    assert problem.value.status == EXIT_USAGE


def test_runs_whose_text_has_the_prefix_do_not_hide_the_one_whose_id_has_it() -> None:
    """The id's run is found past pages of runs that only mention the prefix."""
    older = "0abc0000-0000-4000-8000-000000000000"
    mentions = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(1, 451)]
    engine = Engine([*mentions, older], texts=dict.fromkeys(mentions, "see 0abc"))
    assert resolve_run_id(engine, "0abc") == older  # type: ignore[arg-type]
    assert len(engine.calls) == 3


class RunPages:
    """The engine's `GET /v1/runs` paging as the API does it: at most 200 runs a page
    (a larger limit is a 400), and a cursor while more are left."""

    def __init__(self, count: int) -> None:
        self.ids = [str(UUID(int=n)) for n in range(count, 0, -1)]
        self.limits: list[int] = []

    def call(self, method: str, path: str, *, params: dict[str, Any]) -> dict[str, Any]:
        assert (method, path) == ("GET", "/v1/runs")
        if not 1 <= params["limit"] <= 200:
            raise CliProblem("limit: Expected `int` <= 200", EXIT_USAGE)
        self.limits.append(params["limit"])
        start = int(params.get("cursor", 0))
        end = start + params["limit"]
        runs = [
            {
                "id": run_id,
                "workflow": "greet",
                "status": "succeeded",
                "created_at": "2026-12-04T10:00:00Z",
                "duration_ms": 12.0,
            }
            for run_id in self.ids[start:end]
        ]
        return {"runs": runs, "next_cursor": str(end) if end < len(self.ids) else None}


@pytest.mark.parametrize(("limit", "existing", "shown"), [(450, 1000, 450), (450, 300, 300)])
def test_runs_lists_more_than_one_page_when_asked(limit: int, existing: int, shown: int) -> None:
    """`runs --limit 450` reads the API's pages of 200 until it has 450 runs, newest
    first, or until there are no more."""
    engine = RunPages(existing)
    out = io.StringIO()
    assert list_runs(engine, workflow=None, status=None, limit=limit, out=out) == 0  # type: ignore[arg-type]
    lines = out.getvalue().splitlines()[1:]
    assert [line.split()[0] for line in lines] == engine.ids[:shown]
    assert all(page <= 200 for page in engine.limits)


def attempt(step: str, status: str, ms: float, number: int = 1) -> dict[str, Any]:
    """A step attempt as `GET /v1/runs/{id}` lists it."""
    return {
        "step_id": step,
        "iteration": -1,
        "attempt": number,
        "action": "wait.signal",
        "status": status,
        "duration_ms": ms,
        "error": None,
    }


def test_logs_show_a_wait_as_waiting_while_it_lasts_and_as_waited_after() -> None:
    """A step that waited reads "waiting for <signal>" while its run waits and "waited"
    once the run went on; skipped and waiting steps show no duration, long ones read as
    minutes."""
    waiting_run = {"status": "waiting", "waiting_for": "approval"}
    ended_run = {"status": "succeeded", "waiting_for": None}
    assert attempt_line(attempt("decision", "waiting", 0), waiting_run) == (
        "  … decision  wait.signal  waiting for approval"
    )
    assert attempt_line(attempt("decision", "waiting", 0), ended_run) == (
        "  … decision  wait.signal  waited"
    )
    assert attempt_line(attempt("decision", "succeeded", 202_844, 2), ended_run) == (
        "  ✓ decision (attempt 2)  wait.signal 3 min 23 s"
    )
    assert attempt_line(attempt("sync", "skipped", 0), ended_run) == "  - sync  wait.signal"
