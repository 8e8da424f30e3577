"""The real Outlook client (msgraph-sdk) against the Outlook sandbox process over HTTP:
tokens, paging, calendarView, sendMail, throttling waits, every error path."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import stamina

from dataworkflows.connectors.outlook.client import OutlookClient
from dataworkflows.connectors.outlook.component import connector_parts, outlook_client
from dataworkflows.connectors.outlook.port import EventWindow, MessageQuery
from dataworkflows.connectors.outlook.service import outlook_actions
from dataworkflows.contracts import ActionContext, ActionError, ActionFailed, ActionRequest
from dataworkflows.runtime.actions import ActionSet
from tests.support.net import free_port
from tests.support.outlook import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_ID,
    OutlookSandboxControl,
    outlook_sandbox_process,
)

MAYA = "maya.patel@example.com"
JONAS = "jonas.berg@example.com"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutlookSandboxControl]:
    with outlook_sandbox_process(tmp_path_factory.mktemp("outlook")) as control:
        yield control


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox: OutlookSandboxControl) -> None:
    """Every test starts from the seeded tenant (anchored on 2026-11-02), with no faults."""
    sandbox.reset()


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may resolve another host (login.microsoftonline.com, graph.microsoft.com)."""
    resolve = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", b"127.0.0.1"):
            raise AssertionError(f"a test tried to reach {host!r}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
def retries() -> Iterator[None]:
    """stamina's testing mode with up to 3 attempts (reads retried, no real waiting)."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(True)


@pytest.fixture
async def client(sandbox: OutlookSandboxControl) -> AsyncIterator[OutlookClient]:
    async with outlook_client(sandbox.settings(), retry_base_delay_s=0) as built:
        yield built


@pytest.fixture
def actions(client: OutlookClient) -> ActionSet:
    return outlook_actions(client, default_mailbox=MAYA)


def call(data: dict[str, Any], *, key: str | None = None, attempt: int = 1) -> ActionRequest:
    context = ActionContext(run_id="run-1", step_id="step", attempt=attempt)
    return ActionRequest(input=data, idempotency_key=key, context=context)


async def failure(actions: ActionSet, action: str, data: dict[str, Any]) -> ActionError:
    """The typed error of a call that must fail; its message never holds a credential."""
    with pytest.raises(ActionFailed) as caught:
        await actions.invoke(action, call(data))
    error = caught.value.error
    assert CLIENT_SECRET not in error.message
    assert "eyJ" not in error.message  # no JWT (access token) either
    return error


MAIL = {"to": [JONAS], "subject": "Sprint report", "body": "All green this week."}


# -- tokens ------------------------------------------------------------------------------


async def test_one_token_serves_many_requests(
    sandbox: OutlookSandboxControl, actions: ActionSet
) -> None:
    """The client-credentials form is posted once; every Graph request carries the bearer."""
    for _ in range(3):
        await actions.invoke("list_messages", call({"limit": 5}))
    [token] = sandbox.token_requests()
    assert token["path"] == f"/{TENANT_ID}/oauth2/v2.0/token"
    assert token["form"] == {
        "client_id": CLIENT_ID,
        "scope": "https://graph.microsoft.com/.default",
        "client_secret": "***",
        "grant_type": "client_credentials",
    }
    api = sandbox.api_requests()
    assert len(api) == 3
    assert all(r["authorization"] == "Bearer ***" and r["status"] == 200 for r in api)


async def test_a_token_is_renewed_before_it_expires(
    sandbox: OutlookSandboxControl, actions: ActionSet
) -> None:
    """A 2-second token is used, then renewed before expiry: no request fails with 401."""
    sandbox.reset(token_ttl_s=2)
    await actions.invoke("list_messages", call({"limit": 1}))
    await asyncio.sleep(1.6)
    await actions.invoke("list_messages", call({"limit": 1}))
    assert len(sandbox.token_requests()) == 2
    assert [r["status"] for r in sandbox.api_requests()] == [200, 200]


async def test_readiness_gets_a_token_and_reports_refusals(sandbox: OutlookSandboxControl) -> None:
    """/readyz's check is ready with good credentials; a refused one says why, secret-free."""
    async with connector_parts(sandbox.settings()) as parts:
        check = parts.readiness["graph"]
        assert await check() is None
        assert [a.name for a in parts.actions.catalog().actions] == [
            "outlook.list_messages",
            "outlook.list_events",
            "outlook.send_mail",
        ]
    async with connector_parts(sandbox.settings(client_secret="wrong-secret")) as parts:
        problem = await parts.readiness["graph"]()
    assert problem is not None
    assert "invalid_client" in problem
    assert "wrong-secret" not in problem


# -- reading -----------------------------------------------------------------------------


async def test_paging_follows_next_links_across_pages(
    sandbox: OutlookSandboxControl, actions: ActionSet
) -> None:
    """Pages of 5 give the same messages, in the same order, as one page of 1000."""
    paged = await actions.invoke(
        "list_messages", call({"folder": "inbox", "page_size": 5, "limit": 1000})
    )
    whole = await actions.invoke(
        "list_messages", call({"folder": "inbox", "page_size": 1000, "limit": 1000})
    )
    ids = [m["id"] for m in paged["messages"]]
    assert ids == [m["id"] for m in whole["messages"]]
    assert len(ids) == len(set(ids)) > 15
    assert paged["truncated"] is False
    requests = sandbox.api_requests()[:-1]
    assert len(requests) == -(-len(ids) // 5)
    assert [r["query"].get("$skip") for r in requests] == [None] + [
        str(5 * n) for n in range(1, len(requests))
    ]


async def test_messages_are_normalised(actions: ActionSet) -> None:
    """Each message: id, subject, from, to, times, preview, link, flags, conversation."""
    output = await actions.invoke("list_messages", call({"folder": "inbox", "limit": 20}))
    message = output["messages"][0]
    assert set(message) == {
        "id",
        "subject",
        "from",
        "to",
        "cc",
        "received_at",
        "sent_at",
        "preview",
        "web_link",
        "has_attachments",
        "importance",
        "is_read",
        "conversation_id",
    }
    assert "@" in message["from"]["address"]
    assert message["received_at"].endswith("Z")
    assert message["importance"] in ("low", "normal", "high")
    received = [m["received_at"] for m in output["messages"]]
    assert received == sorted(received, reverse=True)


async def test_filter_order_and_search_reach_graph(actions: ActionSet) -> None:
    """A filter with its ordering property first, and a search, select what they say."""
    unread = await actions.invoke(
        "list_messages",
        call(
            {
                "filter": "receivedDateTime ge 2026-10-01T00:00:00Z and isRead eq false",
                "order_by": ["receivedDateTime asc"],
                "limit": 500,
            }
        ),
    )
    assert unread["messages"]
    assert all(m["is_read"] is False for m in unread["messages"])
    received = [m["received_at"] for m in unread["messages"]]
    assert received == sorted(received)
    found = await actions.invoke("list_messages", call({"search": "weekly status", "limit": 50}))
    assert found["messages"]
    assert all("weekly status" in m["subject"].lower() for m in found["messages"])


async def test_calendar_view_gives_the_windows_events(actions: ActionSet) -> None:
    """A week: recurring standups as occurrences of one series, every event inside the window."""
    output = await actions.invoke(
        "list_events",
        call({"start": "2026-11-02T00:00:00Z", "end": "2026-11-09T00:00:00Z", "page_size": 4}),
    )
    events = output["events"]
    standups = [e for e in events if e["subject"] == "Apollo Website Relaunch daily standup"]
    assert len(standups) == 5
    assert len({e["series_master_id"] for e in standups}) == 1
    assert all(e["online_meeting_url"].startswith("https://teams.microsoft.com/") for e in standups)
    for event in events:
        assert event["end"]["date_time"] >= "2026-11-02T00:00:00"
        assert event["start"]["date_time"] < "2026-11-09T00:00:00"
        assert event["start"]["time_zone"] == "UTC"
    starts = [e["start"]["date_time"] for e in events]
    assert starts == sorted(starts)
    assert any(e["attendees"] and e["organizer"] for e in events)


async def test_calendar_view_in_another_time_zone(actions: ActionSet) -> None:
    """time_zone asks Graph for local times (Prefer: outlook.timezone), on every page."""
    window = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}
    utc = await actions.invoke("list_events", call(window))
    berlin = await actions.invoke(
        "list_events", call({**window, "time_zone": "Europe/Berlin", "page_size": 2})
    )
    assert [e["id"] for e in berlin["events"]] == [e["id"] for e in utc["events"]]
    for local, plain in zip(berlin["events"], utc["events"], strict=True):
        assert local["start"]["time_zone"] == "Europe/Berlin"
        assert (
            int(local["start"]["date_time"][11:13]) == int(plain["start"]["date_time"][11:13]) + 1
        )


async def test_calendar_view_without_a_window_is_refused(client: OutlookClient) -> None:
    """Graph's 400 ErrorInvalidParameter for a missing window reaches the SDK as ODataError."""
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    with pytest.raises(ODataError) as caught:
        await client.graph.users.by_user_id(MAYA).calendar_view.get()
    assert caught.value.response_status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "ErrorInvalidParameter"


async def test_the_port_pages_events_by_the_requested_size(client: OutlookClient) -> None:
    """event_pages yields pages of at most page_size, following $skiptoken links."""
    from datetime import UTC, datetime

    window = EventWindow(
        start=datetime(2026, 11, 2, tzinfo=UTC), end=datetime(2026, 11, 16, tzinfo=UTC), page_size=4
    )
    pages = [page async for page in client.event_pages(MAYA, window)]
    assert len(pages) >= 3
    assert all(0 < len(p) <= 4 for p in pages)


async def test_the_port_lists_a_folder_by_well_known_name(client: OutlookClient) -> None:
    """message_pages of sentitems gives Maya's sent mail, from her."""
    pages = [p async for p in client.message_pages(MAYA, MessageQuery(folder="SentItems"))]
    sent = [m for page in pages for m in page]
    assert sent
    assert {m.sender.address for m in sent if m.sender} == {MAYA}


# -- sending -----------------------------------------------------------------------------


async def test_send_mail_goes_out_as_the_sdk_sends_it(
    sandbox: OutlookSandboxControl, actions: ActionSet
) -> None:
    """sendMail with the SDK's casing is accepted; the mail lands in the recipient's inbox."""
    output = await actions.invoke(
        "send_mail", call({**MAIL, "content_type": "html", "importance": "high"}, key="r1:s:0")
    )
    assert output == {"mailbox": MAYA, "status": "sent", "recipients": 1, "sent_message_id": None}
    [sent] = sandbox.sent()
    assert set(sent["raw"]) == {"Message", "SaveToSentItems"}
    assert sent["raw"]["Message"]["@odata.type"] == "#microsoft.graph.message"
    assert (sent["content_type"], sent["importance"]) == ("html", "high")
    assert list(sent["extended_properties"].values()) == ["r1:s:0"]
    inbox = await actions.invoke(
        "list_messages",
        call({"mailbox": JONAS, "folder": "inbox", "filter": "subject eq 'Sprint report'"}),
    )
    assert [m["from"]["address"] for m in inbox["messages"]] == [MAYA]


async def test_a_lost_answer_does_not_send_twice(
    sandbox: OutlookSandboxControl, actions: ActionSet
) -> None:
    """A 504 after Graph sent the mail is not repeated; the step's retry finds it in Sent Items."""
    sandbox.fault("gateway_timeout", after_processing=True, retry_after=None)
    with pytest.raises(ActionFailed) as caught:
        await actions.invoke("send_mail", call(MAIL, key="r2:s:0"))
    assert caught.value.error.code == "upstream_unavailable"
    assert caught.value.error.retryable
    posts = [r for r in sandbox.api_requests() if r["method"] == "POST"]
    assert [r["status"] for r in posts] == [504]
    again = await actions.invoke("send_mail", call(MAIL, key="r2:s:0", attempt=2))
    assert again["status"] == "already_sent"
    assert again["sent_message_id"]
    assert len(sandbox.sent()) == 1


async def test_a_throttled_send_is_retried_and_sent_once(
    sandbox: OutlookSandboxControl, actions: ActionSet
) -> None:
    """429 on sendMail means not accepted: the SDK waits Retry-After and sends once."""
    sandbox.fault("throttled", retry_after=1)
    output = await actions.invoke("send_mail", call(MAIL, key="r3:s:0"))
    assert output["status"] == "sent"
    posts = [r for r in sandbox.api_requests() if r["method"] == "POST"]
    assert [r["status"] for r in posts] == [429, 202]
    assert len(sandbox.sent()) == 1


# -- throttling and outages --------------------------------------------------------------


async def test_retry_after_is_really_waited(
    sandbox: OutlookSandboxControl, actions: ActionSet
) -> None:
    """After a 429 with Retry-After: 1 the retry comes at least a second later, marked."""
    sandbox.fault("throttled", retry_after=1)
    started = time.monotonic()
    output = await actions.invoke("list_messages", call({"limit": 3}))
    elapsed = time.monotonic() - started
    assert output["count"] == 3
    first, second = sandbox.api_requests()
    assert (first["status"], second["status"]) == (429, 200)
    assert second["at"] - first["at"] >= 1.0
    assert elapsed >= 1.0
    assert second["retry_attempt"] == "1"


@pytest.mark.parametrize(("kind", "retry_after"), [("unavailable", None), ("gateway_timeout", 1)])
async def test_503_and_504_are_retried_by_the_sdk(
    sandbox: OutlookSandboxControl, actions: ActionSet, kind: str, retry_after: int | None
) -> None:
    """A 503 (backing off without Retry-After) or 504 on a read is retried, then works."""
    sandbox.fault(kind, retry_after=retry_after)
    output = await actions.invoke("list_messages", call({"limit": 2}))
    assert output["count"] == 2
    assert [r["status"] for r in sandbox.api_requests()][-1] == 200
    assert len(sandbox.api_requests()) == 2


async def test_exhausted_retries_report_the_wait(sandbox: OutlookSandboxControl) -> None:
    """Still throttled after the SDK's retries: rate_limited, retryable, with Retry-After."""
    async with outlook_client(sandbox.settings(), retry_base_delay_s=0, max_retries=1) as impatient:
        sandbox.fault("throttled", times=5, retry_after=1)
        error = await failure(outlook_actions(impatient, default_mailbox=MAYA), "list_messages", {})
    assert error.code == "rate_limited"
    assert error.retryable
    assert error.retry_after_s == 1.0
    assert error.upstream_code == "TooManyRequests"
    assert len(sandbox.api_requests()) == 2


@pytest.mark.parametrize(
    ("kind", "code", "upstream"),
    [
        ("throttled", "rate_limited", "TooManyRequests"),
        ("unavailable", "upstream_unavailable", "ServiceUnavailable"),
    ],
)
async def test_long_waits_go_back_to_the_engine(
    sandbox: OutlookSandboxControl, actions: ActionSet, kind: str, code: str, upstream: str
) -> None:
    """A Retry-After beyond max_wait_s (30 s) is not slept: one request, the wait reported."""
    sandbox.fault(kind, times=3, retry_after=90)
    error = await failure(actions, "list_messages", {})
    assert (error.code, error.upstream_code, error.retry_after_s) == (code, upstream, 90.0)
    assert error.retryable
    assert len(sandbox.api_requests()) == 1


async def test_a_server_error_is_retried_by_the_connector(
    sandbox: OutlookSandboxControl, actions: ActionSet, retries: None
) -> None:
    """A 500 (not retried by the SDK) is retried on reads by the connector, then works."""
    sandbox.fault("server_error")
    output = await actions.invoke("list_messages", call({"limit": 1}))
    assert output["count"] == 1
    assert [r["status"] for r in sandbox.api_requests()] == [500, 200]


async def test_a_server_error_that_persists_is_unavailable(
    sandbox: OutlookSandboxControl, actions: ActionSet
) -> None:
    """500 every time: upstream_unavailable, retryable, Graph's code kept."""
    sandbox.fault("server_error", times=5)
    error = await failure(actions, "list_messages", {})
    assert (error.code, error.upstream_code, error.retryable) == (
        "upstream_unavailable",
        "generalException",
        True,
    )


async def test_a_slow_answer_times_out_as_unavailable(sandbox: OutlookSandboxControl) -> None:
    """An answer slower than the client's timeout is upstream_unavailable."""
    sandbox.fault("slow", delay_s=1.0)
    async with outlook_client(sandbox.settings(), retry_base_delay_s=0, timeout_s=0.3) as slow:
        error = await failure(outlook_actions(slow, default_mailbox=MAYA), "list_messages", {})
    assert error.code == "upstream_unavailable"
    # Let the sandbox finish the abandoned request before the next test resets it.
    deadline = time.monotonic() + 5
    while not sandbox.api_requests() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("action", ["list_messages", "send_mail"])
async def test_an_unreachable_graph_is_unavailable(
    sandbox: OutlookSandboxControl, action: str
) -> None:
    """Nothing listening: upstream_unavailable; a send that never connected is not 'maybe sent'."""
    closed = f"http://127.0.0.1:{free_port()}"
    settings = sandbox.settings(api_url=f"{closed}/v1.0")
    async with outlook_client(settings, retry_base_delay_s=0) as client:
        data = MAIL if action == "send_mail" else {}
        error = await failure(outlook_actions(client, default_mailbox=MAYA), action, data)
    assert error.code == "upstream_unavailable"
    assert "may or may not" not in error.message


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "upstream"),
    [
        ({"mailbox": "nobody@example.com"}, "not_found", "ErrorInvalidUser"),
        ({"mailbox": "noah.fischer@example.com"}, "not_found", "MailboxNotEnabledForRESTAPI"),
        ({"folder": "Postfach"}, "invalid_input", "ErrorInvalidIdMalformed"),
        ({"folder": "AAMkAGdoesnotexist"}, "not_found", "ErrorItemNotFound"),
        ({"filter": "isRead eq"}, "invalid_input", "BadRequest"),
        ({"filter": "colour eq 'red'"}, "invalid_input", "RequestBroker--ParseUri"),
        (
            {"filter": "isRead eq false", "order_by": ["receivedDateTime desc"]},
            "invalid_input",
            "InefficientFilter",
        ),
        ({"search": "budget", "filter": "isRead eq true"}, "invalid_input", "ErrorInvalidUrlQuery"),
    ],
)
async def test_graph_refusals_map_to_typed_errors(
    actions: ActionSet, data: dict[str, Any], code: str, upstream: str
) -> None:
    """Each refusal becomes its connector API code, Graph's code kept as upstream_code."""
    error = await failure(actions, "list_messages", data)
    assert (error.code, error.upstream_code) == (code, upstream)
    assert not error.retryable


async def test_an_unresolvable_recipient_is_invalid_input(actions: ActionSet) -> None:
    """Graph's ErrorInvalidRecipients on send is invalid_input."""
    error = await failure(actions, "send_mail", {**MAIL, "to": ["someone@localhost"]})
    assert (error.code, error.upstream_code) == ("invalid_input", "ErrorInvalidRecipients")


@pytest.mark.parametrize(
    ("kind", "upstream"),
    [("invalid_token", "InvalidAuthenticationToken"), ("forbidden", "ErrorAccessDenied")],
)
async def test_refused_tokens_and_permissions_are_auth_failed(
    sandbox: OutlookSandboxControl, actions: ActionSet, kind: str, upstream: str
) -> None:
    """401 and 403 from Graph are auth_failed, not retried."""
    sandbox.fault(kind)
    window = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}
    error = await failure(actions, "list_events", window)
    assert (error.code, error.upstream_code, error.retryable) == ("auth_failed", upstream, False)
    assert len(sandbox.api_requests()) == 1


async def test_a_wrong_secret_is_auth_failed_and_never_echoed(
    sandbox: OutlookSandboxControl,
) -> None:
    """The token endpoint's invalid_client is auth_failed; neither secret shows anywhere."""
    settings = sandbox.settings(client_secret="the-wrong-secret-42")
    async with outlook_client(settings, retry_base_delay_s=0) as client:
        error = await failure(outlook_actions(client, default_mailbox=MAYA), "list_messages", {})
    assert (error.code, error.upstream_code) == ("auth_failed", "invalid_client")
    assert "AADSTS7000215" in error.message
    assert "the-wrong-secret-42" not in error.message
    assert sandbox.api_requests() == []


async def test_an_expired_client_secret_is_auth_failed(
    sandbox: OutlookSandboxControl, actions: ActionSet
) -> None:
    """token_error (Entra's expired-secret answer) is auth_failed with AADSTS7000222."""
    sandbox.fault("token_error")
    error = await failure(actions, "list_messages", {})
    assert error.code == "auth_failed"
    assert "AADSTS7000222" in error.message
