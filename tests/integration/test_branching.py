"""Branches and joins: the branch not taken stays off, the join runs after the one taken."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.engine import running_engine


async def statuses(harness: Any, run_id: Any) -> dict[str, str]:
    return {a.step_id: a.status for a in await harness.attempts(run_id)}


@pytest.mark.parametrize(
    ("inputs", "route", "ran", "skipped"),
    [
        ({"priority": "urgent"}, "escalated", {"escalate", "page_on_call"}, {"queue"}),
        (
            {"priority": "normal", "blocked": True},
            "escalated",
            {"escalate", "page_on_call"},
            {"queue"},
        ),
        ({"priority": "low", "blocked": True}, "queued", {"queue"}, {"escalate", "page_on_call"}),
        ({"priority": "normal"}, "queued", {"queue"}, {"escalate", "page_on_call"}),
    ],
)
async def test_the_shipped_triage_branches_and_joins(
    database_url: str, inputs: dict[str, Any], route: str, ran: set[str], skipped: set[str]
) -> None:
    """workflows/triage.yaml: one branch runs, the other is skipped whole, the join runs."""
    async with running_engine(database_url) as engine:
        run = await engine.run("triage", inputs)
        assert run.status == "succeeded", run.error
        assert run.output == {"route": route, "paged": "page_on_call" in ran}
        recorded = await statuses(engine, run.id)
    assert {s for s, status in recorded.items() if status == "skipped"} == skipped
    assert {s for s, status in recorded.items() if status == "succeeded"} == {
        "assess",
        "answer",
        *ran,
    }


CHAIN = """
name: skipped-chain
inputs: {go: {type: boolean}}
steps:
  - {id: start, uses: probe.record, needs: [], with: {key: "start-{{ run.id }}"}}
  - {id: gate, uses: probe.record, needs: [start], if: {all: ["inputs.go"]}, with: {key: "gate-{{ run.id }}"}}
  - {id: inner, uses: probe.record, needs: [gate], with: {key: "inner-{{ run.id }}"}}
  - {id: deeper, uses: probe.record, needs: [inner], with: {key: "deeper-{{ run.id }}"}}
  - {id: mixed, uses: probe.record, needs: [start, deeper], with: {key: "mixed-{{ run.id }}"}}
"""


async def test_a_skip_carries_down_a_branch_but_not_into_a_step_that_needs_another(
    database_url: str,
) -> None:
    """Steps needing only skipped steps are skipped, transitively, and not executed; a
    step that also needs a step that ran runs."""
    async with running_engine(database_url) as engine:
        await engine.register(CHAIN)
        off = await engine.run("skipped-chain", {"go": False})
        on = await engine.run("skipped-chain", {"go": True})
        off_steps = await statuses(engine, off.id)
        on_steps = await statuses(engine, on.id)
        called = {c.key for c in engine.probe.calls}
    assert off.status == on.status == "succeeded"
    assert off_steps == {
        "start": "succeeded",
        "gate": "skipped",
        "inner": "skipped",
        "deeper": "skipped",
        "mixed": "succeeded",
    }
    assert set(on_steps.values()) == {"succeeded"}
    assert {k for k in called if k.endswith(str(off.id))} == {f"start-{off.id}", f"mixed-{off.id}"}


async def test_a_malformed_structured_condition_is_refused_at_registration(
    database_url: str,
) -> None:
    """A bad `if:` mapping is a 422 naming the part of it that is wrong."""
    async with running_engine(database_url) as engine:
        answer = await engine.client.put(
            "/v1/workflows/bad-if",
            content=(
                "name: bad-if\n"
                "steps:\n"
                "  - id: a\n"
                "    uses: core.echo\n"
                "    if: {any: [true, {all: []}]}\n"
            ),
            headers={"Content-Type": "application/yaml"},
        )
    assert answer.status_code == 422, answer.text
    errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert "non-empty list" in errors["steps[0].if.any[1].all"]
