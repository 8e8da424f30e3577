"""Approve and Reject buttons (posted by ``slack.request_approval``): a click by one of
the request's approvers becomes the signal its run waits for; anyone else is told,
privately, that the decision is not theirs. The run itself then updates the message
with the outcome, so the message shows it whichever way the wait ended."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

import msgspec

from dataworkflows.contracts.approvals import APPROVE_ACTION, ApprovalRef, Decision
from dataworkflows.runtime.logging import get_logger
from dataworkflows.slackbot.engine_client import Engine, EngineRefused
from dataworkflows.slackbot.messages import Message, note_message

__all__ = ["decide"]

_log = get_logger(__name__)
_GONE: Final = frozenset({404, 409})
"""The engine's answers for a run that no longer waits (deleted, or ended)."""


async def decide(
    engine: Engine,
    ref: ApprovalRef,
    *,
    action_id: str,
    user: str,
    user_name: str,
    clock: Callable[[], float] = time.time,
) -> Message | None:
    """Send the run the decision of ``user``; what to tell them privately (None: nothing,
    the run's own message update shows the outcome)."""
    if user not in ref.approvers:
        who = ", ".join(f"<@{approver}>" for approver in ref.approvers)
        _log.info("approval click refused", run_id=ref.run, user=user)
        return note_message(f"🔒 Only {who} can decide this request; your click was not counted.")
    decision = Decision(
        decision="approved" if action_id == APPROVE_ACTION else "rejected",
        by=user,
        by_name=user_name,
        at=datetime.fromtimestamp(clock(), UTC).isoformat(timespec="seconds"),
    )
    try:
        await engine.send_signal(ref.run, ref.signal, msgspec.to_builtins(decision))
    except EngineRefused as exc:
        if exc.status not in _GONE:
            raise
        return note_message(
            "👉 This request is no longer waiting: it was decided, timed out or cancelled."
        )
    _log.info("approval decided", run_id=ref.run, decision=decision.decision, user=user)
    return None
