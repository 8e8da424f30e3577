"""The shipped monday-to-tracker-confirmed says how its approval ended, in Slack."""

from __future__ import annotations

from typing import Any

import pytest

from dataworkflows.engine.definitions import parse_definition
from dataworkflows.engine.expressions import compile_value, evaluate
from dataworkflows.runtime.resources import bundled_dir

DEFINITION = parse_definition(
    (bundled_dir("workflows") / "monday-to-tracker-confirmed.yaml").read_text()
)
OUTCOME = next(step for step in DEFINITION.steps if step.id == "outcome")


def outcome_text(payload: dict[str, Any]) -> str:
    """The outcome step's text after the decision step's ``payload``."""
    context = {
        "inputs": {"board_id": "5012345601"},
        "steps": {"items": {"output": {"count": 29}}, "decision": {"output": {"payload": payload}}},
    }
    text = evaluate(compile_value(OUTCOME.with_["text"]), context)
    assert isinstance(text, str)
    return text


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        (
            {"decision": "approved", "by": "U061000001", "at": "10:02"},
            "✅ Approved by <@U061000001>",
        ),
        (
            {"decision": "rejected", "by": "U061000002", "at": "10:03"},
            "❌ Rejected by <@U061000002>",
        ),
        ({"decision": "timed_out"}, "⌛ No decision in time:"),
        (
            {"decision": "approve"},
            '❓ Not understood (the decision was "approve", not approved or rejected):',
        ),
    ],
)
def test_the_outcome_names_the_decision_or_what_was_not_understood(
    payload: dict[str, Any], said: str
) -> None:
    """Approved, rejected and timed out read as such; a signal sent over the API with
    another decision is shown as not understood, not as "no decision in time"."""
    text = outcome_text(payload)
    assert text.startswith(said), text
    assert text.endswith("sync of 29 items of Monday board 5012345601.")
