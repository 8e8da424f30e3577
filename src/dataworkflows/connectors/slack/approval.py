"""``slack.request_approval``: a message with Approve and Reject buttons.

The buttons carry an :class:`~dataworkflows.contracts.approvals.ApprovalRef` (the run,
the signal its ``wait.signal`` step waits for, the approvers); the Slack bot turns a
click by an approver into that signal. The workflow then updates the message with
the outcome (``slack.update_message``), so the outcome is shown however the wait
ended (a decision, or its timeout).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from dataworkflows.contracts.approvals import (
    APPROVAL_BLOCK,
    APPROVE_ACTION,
    MAX_APPROVERS,
    REJECT_ACTION,
    SLACK_USER_ID,
    ApprovalRef,
)

__all__ = ["ApprovalInput", "ApprovalPosted", "approval_blocks"]

SECTION_TEXT_MAX = 3000


class ApprovalInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What to ask, where, and who may answer."""

    channel: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=80,
            description="A channel id, or a user id to ask in a direct message",
        ),
    ]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=SECTION_TEXT_MAX)]
    """The question (mrkdwn)."""
    approvers: Annotated[
        list[Annotated[str, msgspec.Meta(pattern=SLACK_USER_ID)]],
        msgspec.Meta(min_length=1, max_length=MAX_APPROVERS),
    ]
    """Slack user ids whose click counts; anyone else is told so, privately."""
    signal: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")] = "approval"
    """The signal the run's ``wait.signal`` step waits for."""
    approve_label: Annotated[str, msgspec.Meta(min_length=1, max_length=30)] = "Approve"
    reject_label: Annotated[str, msgspec.Meta(min_length=1, max_length=30)] = "Reject"


class ApprovalPosted(msgspec.Struct, kw_only=True):
    """Where the question is (to update it with the outcome) and who may answer."""

    channel: str
    ts: str
    signal: str
    approvers: list[str]


def approval_blocks(data: ApprovalInput, run_id: str) -> list[dict[str, Any]]:
    """The message: the question, who decides, and the two buttons."""
    ref = ApprovalRef(run=run_id, signal=data.signal, approvers=list(dict.fromkeys(data.approvers)))
    value = msgspec.json.encode(ref).decode()
    who = ", ".join(f"<@{user}>" for user in ref.approvers)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": data.text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Decided by: {who}"}]},
        {
            "type": "actions",
            "block_id": APPROVAL_BLOCK,
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE_ACTION,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": data.approve_label},
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": REJECT_ACTION,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": data.reject_label},
                    "value": value,
                },
            ],
        },
    ]
