"""The Outlook connector's actions over a fake port: inputs, paging, errors, sending once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from dataworkflows.connectors.outlook.fake import FakeOutlook, demo_events, demo_messages
from dataworkflows.connectors.outlook.port import (
    EventWindow,
    MessageQuery,
    OutlookAuthError,
    OutlookError,
    OutlookInvalidInput,
    OutlookNotFound,
    OutlookOutcomeUnknown,
    OutlookRateLimited,
    OutlookUnavailable,
)
from dataworkflows.connectors.outlook.service import outlook_actions
from dataworkflows.contracts import ActionContext, ActionFailed, ActionRequest
from dataworkflows.runtime.actions import ActionSet

MAYA = "maya.patel@example.com"


@pytest.fixture
def fake() -> FakeOutlook:
    outlook = FakeOutlook()
    outlook.add_messages(MAYA, "inbox", demo_messages(23))
    outlook.add_messages(MAYA, "sentitems", demo_messages(2))
    outlook.add_events(MAYA, demo_events(10))
    return outlook


@pytest.fixture
def actions(fake: FakeOutlook) -> ActionSet:
    return outlook_actions(fake, default_mailbox=MAYA)


def request(data: dict[str, object], *, key: str | None = None, attempt: int = 1) -> ActionRequest:
    context = ActionContext(run_id="run-1", step_id="mail", attempt=attempt)
    return ActionRequest(input=data, idempotency_key=key, context=context)


MAIL = {"to": ["jonas.berg@example.com"], "subject": "Status", "body": "All green."}


def test_the_catalog_names_three_actions_with_their_effects(actions: ActionSet) -> None:
    """The catalog lists list_messages, list_events (reads) and send_mail (a write)."""
    catalog = actions.catalog()
    effects = {a.name: a.effect for a in catalog.actions}
    assert effects == {
        "outlook.list_messages": "read",
        "outlook.list_events": "read",
        "outlook.send_mail": "write",
    }
    listing = next(a for a in catalog.actions if a.name == "outlook.list_messages")
    message_schema = listing.output_schema["$defs"]["Message"]["properties"]
    assert "from" in message_schema
    assert "sender" not in message_schema


async def test_list_messages_follows_pages_up_to_the_limit(
    actions: ActionSet, fake: FakeOutlook
) -> None:
    """Pages are followed until `limit`; `truncated` says more existed."""
    output = await actions.invoke(
        "list_messages", request({"folder": "inbox", "limit": 12, "page_size": 5})
    )
    assert output["count"] == 12
    assert output["truncated"] is True
    assert [m["id"] for m in output["messages"]] == [f"msg-{n:05d}" for n in range(12)]
    assert output["messages"][0]["from"] == {
        "name": "Maya Patel",
        "address": "maya.patel@example.com",
    }
    assert fake.calls == ["message_pages"]


async def test_list_messages_returns_everything_below_the_limit(actions: ActionSet) -> None:
    """A listing shorter than `limit` is complete: not truncated."""
    output = await actions.invoke("list_messages", request({"folder": "inbox", "limit": 100}))
    assert output["count"] == 23
    assert output["truncated"] is False


async def test_a_small_limit_asks_for_one_more_item_than_it_returns(
    actions: ActionSet, fake: FakeOutlook
) -> None:
    """With limit 3 the page size is 4: one request tells whether more exist."""
    output = await actions.invoke("list_messages", request({"folder": "inbox", "limit": 3}))
    assert output["truncated"] is True
    mailbox, query = fake.queries[0]
    assert mailbox == MAYA
    assert isinstance(query, MessageQuery)
    assert query.page_size == 4


async def test_filter_search_and_order_are_passed_on(fake: FakeOutlook) -> None:
    """The OData options and the mailbox reach the port as given (Graph evaluates them)."""
    await outlook_actions(fake, default_mailbox="jonas.berg@example.com").invoke(
        "list_messages",
        request(
            {
                "mailbox": MAYA,
                "folder": "Inbox",
                "filter": "isRead eq false",
                "order_by": ["receivedDateTime desc"],
            }
        ),
    )
    mailbox, query = fake.queries[0]
    assert mailbox == MAYA
    assert query == MessageQuery(
        folder="Inbox",
        filter="isRead eq false",
        order_by=["receivedDateTime desc"],
        page_size=50,
    )


async def test_without_a_mailbox_or_default_the_input_is_invalid(fake: FakeOutlook) -> None:
    """No mailbox and no OUTLOOK_MAILBOX: invalid_input naming the variable."""
    with pytest.raises(ActionFailed) as caught:
        await outlook_actions(fake).invoke("list_messages", request({}))
    assert caught.value.error.code == "invalid_input"
    assert "OUTLOOK_MAILBOX" in caught.value.error.message


@pytest.mark.parametrize(
    "data",
    [
        {"folder": "inbox", "top": 5},
        {"limit": 0},
        {"page_size": 1001},
        {"mailbox": "a/b"},
    ],
)
async def test_bad_list_input_is_refused(actions: ActionSet, data: dict[str, object]) -> None:
    """Unknown fields and out-of-range values are invalid_input before any call."""
    with pytest.raises(ActionFailed) as caught:
        await actions.invoke("list_messages", request(data))
    assert caught.value.error.code == "invalid_input"


async def test_list_events_gives_the_window_and_normalised_events(
    actions: ActionSet, fake: FakeOutlook
) -> None:
    """Events overlapping the window come back by start, with their times and zone."""
    output = await actions.invoke(
        "list_events",
        request(
            {
                "start": "2026-11-24T00:00:00Z",
                "end": "2026-11-27T00:00:00",
                "time_zone": "Europe/Berlin",
            }
        ),
    )
    assert [e["subject"] for e in output["events"]] == ["Standup 1", "Standup 2", "Standup 3"]
    assert output["events"][0]["start"] == {
        "date_time": "2026-11-24T09:30:00",
        "time_zone": "UTC",
    }
    _, window = fake.queries[0]
    assert isinstance(window, EventWindow)
    assert window.time_zone == "Europe/Berlin"
    assert window.start == datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    "data",
    [
        {"start": "2026-11-24T00:00:00Z"},
        {"start": "2026-11-24T00:00:00Z", "end": "2026-11-24T00:00:00Z"},
        {"start": "2026-11-25T00:00:00Z", "end": "2026-11-24T00:00:00Z"},
        {"start": "next week", "end": "2026-11-24T00:00:00Z"},
    ],
)
async def test_a_window_without_both_ends_in_order_is_refused(
    actions: ActionSet, fake: FakeOutlook, data: dict[str, object]
) -> None:
    """start and end are required ISO-8601 times, end after start."""
    with pytest.raises(ActionFailed) as caught:
        await actions.invoke("list_events", request(data))
    assert caught.value.error.code == "invalid_input"
    assert fake.calls == []


async def test_send_mail_sends_once(actions: ActionSet, fake: FakeOutlook) -> None:
    """A mail is handed to Graph with its key; the output says it was sent."""
    output = await actions.invoke(
        "send_mail", request({**MAIL, "cc": ["aiko.tanaka@example.com"]}, key="r:s:0")
    )
    assert output == {
        "mailbox": MAYA,
        "status": "sent",
        "recipients": 2,
        "sent_message_id": None,
    }
    assert len(fake.sent) == 1
    assert fake.sent[0].idempotency_key == "r:s:0"
    assert fake.sent[0].mail.to == ["jonas.berg@example.com"]


async def test_a_repeated_key_is_not_sent_again(actions: ActionSet, fake: FakeOutlook) -> None:
    """The same idempotency key a second time answers already_sent without calling Graph."""
    await actions.invoke("send_mail", request(MAIL, key="r:s:0"))
    again = await actions.invoke("send_mail", request(MAIL, key="r:s:0", attempt=2))
    assert again["status"] == "already_sent"
    assert len(fake.sent) == 1
    assert fake.calls == ["send_mail"]


async def test_a_lost_answer_is_resolved_from_sent_items(
    actions: ActionSet, fake: FakeOutlook
) -> None:
    """A send whose answer was lost is found in Sent Items on retry, not sent twice."""
    fake.fail_after_send = OutlookOutcomeUnknown("timed out", status=504)
    with pytest.raises(ActionFailed) as caught:
        await actions.invoke("send_mail", request(MAIL, key="r:s:0"))
    assert caught.value.error.code == "upstream_unavailable"
    assert caught.value.error.retryable
    again = await actions.invoke("send_mail", request(MAIL, key="r:s:0", attempt=2))
    assert again["status"] == "already_sent"
    assert again["sent_message_id"] == "sent-1"
    assert len(fake.sent) == 1


async def test_a_retry_after_a_restart_checks_sent_items(fake: FakeOutlook) -> None:
    """Attempt 2 in a new process (nothing in memory) finds the first attempt's copy."""
    await outlook_actions(fake, default_mailbox=MAYA).invoke(
        "send_mail", request(MAIL, key="r:s:0")
    )
    restarted = outlook_actions(fake, default_mailbox=MAYA)
    again = await restarted.invoke("send_mail", request(MAIL, key="r:s:0", attempt=2))
    assert again["status"] == "already_sent"
    assert fake.calls == ["send_mail", "find_sent_mail"]


async def test_a_first_attempt_does_not_search_sent_items(
    actions: ActionSet, fake: FakeOutlook
) -> None:
    """Attempt 1 of a key never seen sends at once: no extra request."""
    await actions.invoke("send_mail", request(MAIL, key="r:s:1"))
    assert fake.calls == ["send_mail"]


async def test_without_a_sent_copy_a_retry_sends_again(fake: FakeOutlook) -> None:
    """save_to_sent_items false leaves nothing to find: a retry sends (at least once)."""
    data = {**MAIL, "save_to_sent_items": False}
    await outlook_actions(fake, default_mailbox=MAYA).invoke("send_mail", request(data, key="k"))
    restarted = outlook_actions(fake, default_mailbox=MAYA)
    again = await restarted.invoke("send_mail", request(data, key="k", attempt=2))
    assert again["status"] == "sent"
    assert len(fake.sent) == 2
    assert "find_sent_mail" not in fake.calls


async def test_when_sent_items_cannot_be_read_the_retry_sends(fake: FakeOutlook) -> None:
    """An app without Mail.Read cannot check; the retry sends rather than failing forever."""
    actions = outlook_actions(fake, default_mailbox=MAYA)
    fake.fail_next = [OutlookAuthError("forbidden", code="ErrorAccessDenied", status=403)]
    output = await actions.invoke("send_mail", request(MAIL, key="k", attempt=3))
    assert output["status"] == "sent"
    assert fake.calls == ["find_sent_mail", "send_mail"]


@pytest.mark.parametrize(
    "data",
    [
        {**MAIL, "to": []},
        {**MAIL, "to": ["not an address"]},
        {**MAIL, "content_type": "markdown"},
        {**MAIL, "priority": "high"},
        {"to": ["a@example.com"], "body": "no subject"},
    ],
)
async def test_bad_mail_input_is_refused(
    actions: ActionSet, fake: FakeOutlook, data: dict[str, object]
) -> None:
    """Recipients must be addresses, content_type text or html, no unknown fields."""
    with pytest.raises(ActionFailed) as caught:
        await actions.invoke("send_mail", request(data))
    assert caught.value.error.code == "invalid_input"
    assert fake.sent == []


@pytest.mark.parametrize(
    ("error", "code", "retryable", "retry_after"),
    [
        (
            OutlookAuthError("refused", code="InvalidAuthenticationToken"),
            "auth_failed",
            False,
            None,
        ),
        (OutlookNotFound("no user", code="ErrorInvalidUser"), "not_found", False, None),
        (OutlookInvalidInput("bad", code="InefficientFilter"), "invalid_input", False, None),
        (
            OutlookRateLimited("slow down", retry_after=7.0, code="TooManyRequests"),
            "rate_limited",
            True,
            7.0,
        ),
        (
            OutlookUnavailable("down", code="ServiceUnavailable", retry_after=3.0),
            "upstream_unavailable",
            True,
            3.0,
        ),
        (OutlookError("odd", code="Weird"), "upstream_error", False, None),
    ],
)
async def test_graph_errors_become_typed_action_errors(
    actions: ActionSet,
    fake: FakeOutlook,
    error: OutlookError,
    code: str,
    retryable: bool,
    retry_after: float | None,
) -> None:
    """Each port error maps to its connector API code, keeping Graph's code as upstream_code."""
    fake.fail_next = [error]
    with pytest.raises(ActionFailed) as caught:
        await actions.invoke("list_messages", request({}))
    assert caught.value.error.code == code
    assert caught.value.error.retryable is retryable
    assert caught.value.error.retry_after_s == retry_after
    assert caught.value.error.upstream_code == error.code


def test_importing_the_component_does_not_import_msgraph() -> None:
    """The CLI, the engine and the component load without msgraph-sdk or azure-identity."""
    code = (
        "import sys\n"
        "import dataworkflows.cli, dataworkflows.composition.engine\n"
        "import dataworkflows.connectors.outlook.component\n"
        "import dataworkflows.sandboxes.outlook.app\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('msgraph', 'msgraph_core', 'kiota_http', 'azure'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
