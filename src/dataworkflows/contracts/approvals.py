"""Approvals from Slack buttons: what the Slack connector posts and the bot reads back.

``slack.request_approval`` posts a message with Approve and Reject buttons whose
``value`` is an :class:`ApprovalRef` (the run, the signal its ``wait.signal`` step waits
for, and who may decide). Slack signs the click it sends the bot, and a button's value
is what the bot posted, so the bot can trust the reference: it checks the clicker
against ``approvers`` and sends the run the signal with a :class:`Decision`.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

__all__ = [
    "APPROVAL_BLOCK",
    "APPROVE_ACTION",
    "MAX_APPROVERS",
    "REJECT_ACTION",
    "ApprovalRef",
    "Decision",
    "decode_ref",
]

APPROVE_ACTION: Final = "dw_approve"
REJECT_ACTION: Final = "dw_reject"
APPROVAL_BLOCK: Final = "dw_approval"
MAX_APPROVERS: Final = 50
"""A button's value holds at most 2,000 characters: this many ids fit with room."""
SLACK_USER_ID: Final = r"^[UW][A-Z0-9]{2,20}$"


class ApprovalRef(msgspec.Struct, frozen=True, kw_only=True):
    """A button's value: which run waits for which signal, and who may send it."""

    run: str
    signal: str
    approvers: Annotated[
        list[Annotated[str, msgspec.Meta(pattern=SLACK_USER_ID)]],
        msgspec.Meta(min_length=1, max_length=MAX_APPROVERS),
    ]


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The signal's payload: the decision, who made it and when."""

    decision: Literal["approved", "rejected"]
    by: str
    """The Slack user id of the approver who clicked."""
    by_name: str
    at: str
    """When they clicked (RFC 3339, UTC)."""


def decode_ref(value: str) -> ApprovalRef | None:
    """A button value as an :class:`ApprovalRef`, or None when it is not one."""
    try:
        return msgspec.json.decode(value, type=ApprovalRef)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
