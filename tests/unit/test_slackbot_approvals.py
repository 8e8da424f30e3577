"""Approve/Reject clicks: only the request's approvers decide, and what they decide
(who, when) is what the waiting run receives."""

from __future__ import annotations

from typing import Any

import pytest

from dataworkflows.contracts.approvals import APPROVE_ACTION, REJECT_ACTION, ApprovalRef
from dataworkflows.slackbot.approvals import decide
from dataworkflows.slackbot.engine_client import EngineRefused

RUN = "3f2b0c4e-0000-4000-8000-000000000001"
REF = ApprovalRef(run=RUN, signal="approval", approvers=["U07MAYA001", "U07LEE0002"])
NOW = 1_800_000_000.0


class SignalledEngine:
    """An engine that records signals, or refuses them with ``refuse``."""

    def __init__(self, refuse: int | None = None) -> None:
        self.signals: list[tuple[str, str, Any]] = []
        self.refuse = refuse

    async def send_signal(self, run_id: str, name: str, payload: Any) -> str:
        if self.refuse is not None:
            raise EngineRefused(self.refuse, "no", [])
        self.signals.append((run_id, name, payload))
        return "queued"


async def click(engine: SignalledEngine, user: str, action: str = APPROVE_ACTION) -> Any:
    return await decide(
        engine,  # type: ignore[arg-type]
        REF,
        action_id=action,
        user=user,
        user_name="someone",
        clock=lambda: NOW,
    )


async def test_a_stranger_is_told_privately_and_nothing_is_sent() -> None:
    """A click by someone not listed sends no signal; the reply names the approvers."""
    engine = SignalledEngine()
    told = await click(engine, "U07STRANGER")
    assert engine.signals == []
    assert "<@U07MAYA001>" in told.text
    assert "<@U07LEE0002>" in told.text


@pytest.mark.parametrize(
    ("action", "decision"), [(APPROVE_ACTION, "approved"), (REJECT_ACTION, "rejected")]
)
async def test_an_approver_s_click_is_the_run_s_signal(action: str, decision: str) -> None:
    """The run gets the decision, who made it and when (UTC)."""
    engine = SignalledEngine()
    assert await click(engine, "U07LEE0002", action) is None
    assert engine.signals == [
        (
            RUN,
            "approval",
            {
                "decision": decision,
                "by": "U07LEE0002",
                "by_name": "someone",
                "at": "2027-01-15T08:00:00+00:00",
            },
        )
    ]


async def test_a_run_that_no_longer_waits_is_explained() -> None:
    """Clicking on a request already decided (the run ended: 409) or gone (404)."""
    for status in (409, 404):
        told = await click(SignalledEngine(refuse=status), "U07MAYA001")
        assert "no longer waiting" in told.text


async def test_other_refusals_reach_the_bot_s_error_handling() -> None:
    """A 422 (a bad signal name) is not hidden as 'no longer waiting'."""
    with pytest.raises(EngineRefused):
        await click(SignalledEngine(refuse=422), "U07MAYA001")
