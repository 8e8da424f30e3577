"""The Outlook sandbox over real HTTP on 127.0.0.1, called as Microsoft's docs describe
(plain httpx, no SDK): the token endpoint, messages, calendarView, sendMail, faults."""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn

from dataworkflows.runtime.serving import bind_socket
from dataworkflows.sandboxes.outlook.app import create_outlook_sandbox_app
from dataworkflows.sandboxes.outlook.state import OutlookSandbox

TENANT = "0d6f3c59-8a41-4f4b-9a5e-7c1f1e2b3a4d"
CLIENT = "b1a9c7e5-3f2d-4e6b-8a0c-9d8e7f6a5b4c"
SECRET = "sandbox-secret~value.0123456789"
ANCHOR = date(2026, 11, 2)
MAYA = "maya.patel@example.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class FakeClock:
    """Wall-clock seconds that a test can move forward."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    """A sandbox on 127.0.0.1, an HTTP client for it, and a token it issued."""

    sandbox: OutlookSandbox
    clock: FakeClock
    http: httpx.AsyncClient
    base: str
    token: str = ""

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return await self.http.get(f"/v1.0{path}", headers=headers, **kwargs)

    async def ok(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.get(path, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def send(self, body: object, user: str = MAYA) -> httpx.Response:
        return await self.http.post(
            f"/v1.0/users/{user}/sendMail",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # pytest owns the process's signals.
        yield


def form(**overrides: str) -> dict[str, str]:
    values = {
        "client_id": CLIENT,
        "scope": GRAPH_SCOPE,
        "client_secret": SECRET,
        "grant_type": "client_credentials",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v}


@dataclass
class _Running:
    sandbox: OutlookSandbox
    clock: FakeClock
    base: str


@pytest.fixture(scope="module")
def running() -> Iterator[_Running]:
    """One sandbox served on a free 127.0.0.1 port (in a thread) for the module."""
    clock = FakeClock()
    sock = bind_socket("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sandbox = OutlookSandbox(
        tenant_id=TENANT,
        client_id=CLIENT,
        client_secret=SECRET,
        public_url=base,
        anchor=ANCHOR,
        clock=clock,
    )
    config = uvicorn.Config(
        create_outlook_sandbox_app(sandbox),
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="none",
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the sandbox did not start"
    try:
        yield _Running(sandbox=sandbox, clock=clock, base=base)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
async def served(running: _Running) -> AsyncIterator[Served]:
    """The sandbox reseeded (seed 7, anchored on 2026-11-02), with a valid token."""
    running.clock.now = time.time()
    running.sandbox.reset(anchor=ANCHOR, seed=7, token_ttl_s=3599)
    async with httpx.AsyncClient(base_url=running.base, timeout=10.0, trust_env=False) as http:
        served = Served(sandbox=running.sandbox, clock=running.clock, http=http, base=running.base)
        answer = await http.post(f"/{TENANT}/oauth2/v2.0/token", data=form())
        served.token = answer.json()["access_token"]
        running.sandbox.requests.clear()
        yield served


def assert_graph_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    inner = error["innerError"]
    assert set(inner) == {"date", "request-id", "client-request-id"}
    assert response.headers["request-id"] == inner["request-id"]
    return error


# -- the token endpoint ------------------------------------------------------------------


async def test_the_client_credentials_form_gets_a_bearer_token(served: Served) -> None:
    """POST form to /{tenant}/oauth2/v2.0/token -> token_type, expires_in, access_token."""
    response = await served.http.post(f"/{TENANT}/oauth2/v2.0/token", data=form())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    assert body["access_token"].count(".") == 2
    assert response.headers["cache-control"].startswith("no-store")


async def test_the_secret_may_come_as_http_basic(served: Served) -> None:
    """client_secret_basic: client id and secret in Authorization: Basic."""
    basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
    response = await served.http.post(
        f"/{TENANT}/oauth2/v2.0/token",
        data=form(client_id="", client_secret=""),
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("tenant", "fields", "status", "error", "code"),
    [
        (TENANT, {"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        (TENANT, {"client_secret": ""}, 401, "invalid_client", 7000218),
        (TENANT, {"client_id": "someone-else"}, 400, "unauthorized_client", 700016),
        (TENANT, {"scope": "Mail.Read"}, 400, "invalid_scope", 1002012),
        (TENANT, {"scope": "https://vault.azure.net/.default"}, 400, "invalid_resource", 500011),
        (TENANT, {"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        (TENANT, {"grant_type": ""}, 400, "invalid_request", 900144),
        ("another-tenant", {}, 400, "invalid_request", 90002),
    ],
)
async def test_token_errors_have_entra_ids_shape(
    served: Served, tenant: str, fields: dict[str, str], status: int, error: str, code: int
) -> None:
    """Each refusal is Entra ID's: error, an AADSTS description, error_codes, trace ids."""
    response = await served.http.post(f"/{tenant}/oauth2/v2.0/token", data=form(**fields))
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)
    assert SECRET not in response.text


async def test_a_json_body_is_not_a_token_request(served: Served) -> None:
    """The endpoint reads a form only: JSON lacks grant_type as far as it can tell."""
    response = await served.http.post(f"/{TENANT}/oauth2/v2.0/token", json=form())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# -- bearer tokens -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "Access token is empty."),
        ("Bearer garbage", "IDX14100"),
        ("Basic abc", "Access token is empty."),
    ],
)
async def test_graph_needs_a_token_it_issued(
    served: Served, authorization: str | None, message: str
) -> None:
    """No token or a malformed one: 401 InvalidAuthenticationToken with WWW-Authenticate."""
    headers = {"Authorization": authorization} if authorization else {}
    response = await served.http.get(f"/v1.0/users/{MAYA}/messages", headers=headers)
    error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert message in error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_expired_token_is_refused(served: Served) -> None:
    """After expires_in seconds the token gets 401 'Lifetime validation failed'."""
    served.clock.now += 3600
    response = await served.get(f"/users/{MAYA}/messages")
    error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert "Lifetime validation failed" in error["message"]


async def test_the_client_request_id_is_echoed(served: Served) -> None:
    """client-request-id comes back in the headers and in innerError."""
    response = await served.get(
        "/users/nobody@example.com/messages", headers={"client-request-id": "abc-123"}
    )
    error = assert_graph_error(response, 404, "ErrorInvalidUser")
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert response.headers["client-request-id"] == "abc-123"


# -- messages ----------------------------------------------------------------------------


async def test_a_page_is_ten_messages_with_an_absolute_next_link(served: Served) -> None:
    """Default $top is 10; @odata.nextLink is absolute; following it gives the next ten."""
    first = await served.ok(f"/users/{MAYA}/messages")
    assert len(first["value"]) == 10
    assert first["@odata.context"] == f"{served.base}/v1.0/$metadata#users('{MAYA}')/messages"
    link = first["@odata.nextLink"]
    assert link.startswith(f"{served.base}/v1.0/users/")
    second = await served.http.get(link, headers={"Authorization": f"Bearer {served.token}"})
    assert second.status_code == 200
    ids = [m["id"] for m in first["value"]] + [m["id"] for m in second.json()["value"]]
    assert len(set(ids)) == 20
    received = [m["receivedDateTime"] for m in first["value"]]
    assert received == sorted(received, reverse=True)


async def test_following_next_links_visits_every_message_once(served: Served) -> None:
    """$top=7 pages through the whole inbox; the last page has no nextLink."""
    url: str | None = f"{served.base}/v1.0/users/{MAYA}/mailFolders/Inbox/messages?$top=7"
    ids: list[str] = []
    pages = 0
    while url:
        response = await served.http.get(url, headers={"Authorization": f"Bearer {served.token}"})
        body = response.json()
        ids += [m["id"] for m in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    person = served.sandbox.tenant.user(MAYA)
    assert person is not None
    box = served.sandbox.tenant.mailbox_of(person)
    assert box is not None
    inbox = box.folder("inbox")
    assert inbox is not None
    assert sorted(ids) == sorted(m.id for m in box.messages if m.folder_id == inbox.id)
    assert pages >= 3


async def test_select_limits_properties_to_those_named_plus_id_and_etag(served: Served) -> None:
    """$select=subject,from gives exactly those, id and @odata.etag; the context says so."""
    body = await served.ok(
        f"/users/{MAYA}/messages", params={"$select": "subject,from", "$top": "3"}
    )
    assert body["@odata.context"].endswith("/messages(subject,from)")
    assert all(set(m) == {"@odata.etag", "id", "subject", "from"} for m in body["value"])


async def test_a_message_has_graphs_full_shape(served: Served) -> None:
    """Without $select a message carries Graph's properties, in their formats."""
    message = (await served.ok(f"/users/{MAYA}/messages", params={"$top": "1"}))["value"][0]
    for name in (
        "id",
        "subject",
        "bodyPreview",
        "importance",
        "isRead",
        "hasAttachments",
        "conversationId",
        "webLink",
        "parentFolderId",
        "internetMessageId",
    ):
        assert name in message
    assert message["receivedDateTime"].endswith("Z")
    assert set(message["from"]["emailAddress"]) == {"name", "address"}
    assert message["body"]["contentType"] in ("text", "html")
    assert "singleValueExtendedProperties" not in message


@pytest.mark.parametrize(
    ("expression", "check"),
    [
        ("isRead eq false", lambda m: m["isRead"] is False),
        (
            "receivedDateTime ge 2026-10-26T00:00:00Z",
            lambda m: m["receivedDateTime"] >= "2026-10-26T00:00:00Z",
        ),
        (
            "from/emailAddress/address eq 'LUIS.ORTEGA@example.com'",
            lambda m: m["from"]["emailAddress"]["address"] == "luis.ortega@example.com",
        ),
        ("contains(subject,'weekly status')", lambda m: "Weekly status" in m["subject"]),
        ("startswith(subject,'RE:')", lambda m: m["subject"].startswith("RE:")),
    ],
)
async def test_filters_select_matching_messages(
    served: Served, expression: str, check: Any
) -> None:
    """Each documented $filter form returns matching messages only (and some)."""
    body = await served.ok(
        f"/users/{MAYA}/messages", params={"$filter": expression, "$top": "1000"}
    )
    assert body["value"]
    assert all(check(m) for m in body["value"])


async def test_orderby_must_lead_the_filter(served: Served) -> None:
    """$orderby on a property not first in $filter: 400 InefficientFilter; leading it works."""
    bad = await served.get(
        f"/users/{MAYA}/messages",
        params={"$filter": "isRead eq false", "$orderby": "receivedDateTime desc"},
    )
    assert_graph_error(bad, 400, "InefficientFilter")
    good = await served.ok(
        f"/users/{MAYA}/messages",
        params={
            "$filter": "receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false",
            "$orderby": "receivedDateTime asc",
            "$top": "1000",
        },
    )
    received = [m["receivedDateTime"] for m in good["value"]]
    assert received == sorted(received)
    assert all(not m["isRead"] for m in good["value"])


async def test_search_finds_words_and_refuses_filters(served: Served) -> None:
    """$search="blocked" matches subject or body; with $filter it is refused."""
    body = await served.ok(f"/users/{MAYA}/messages", params={"$search": '"blocked"', "$top": "50"})
    assert body["value"]
    assert all("blocked" in (m["subject"] + m["body"]["content"]).lower() for m in body["value"])
    refused = await served.get(
        f"/users/{MAYA}/messages", params={"$search": '"blocked"', "$filter": "isRead eq true"}
    )
    assert_graph_error(refused, 400, "ErrorInvalidUrlQuery")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$top": "0"}, "BadRequest"),
        ({"$top": "1001"}, "BadRequest"),
        ({"$top": "ten"}, "BadRequest"),
        ({"$filter": "isRead eq"}, "BadRequest"),
        ({"$filter": "colour eq 'red'"}, "RequestBroker--ParseUri"),
        ({"$select": "subject,colour"}, "RequestBroker--ParseUri"),
        ({"$orderby": "colour"}, "RequestBroker--ParseUri"),
        ({"$expand": "attachments"}, "BadRequest"),
    ],
)
async def test_bad_query_options_are_400(served: Served, params: dict[str, str], code: str) -> None:
    """Out-of-range $top, malformed filters and unknown properties: 400 with Graph's code."""
    assert_graph_error(await served.get(f"/users/{MAYA}/messages", params=params), 400, code)


async def test_count_gives_the_total(served: Served) -> None:
    """$count=true adds @odata.count, the number of matching messages."""
    body = await served.ok(f"/users/{MAYA}/messages", params={"$count": "true", "$top": "1"})
    assert body["@odata.count"] > 1


async def test_folders_by_well_known_name_in_any_case_or_id(served: Served) -> None:
    """mailFolders/SentItems and the folder's id give the same folder and messages."""
    folders = await served.ok(f"/users/{MAYA}/mailFolders")
    sent = next(f for f in folders["value"] if f["displayName"] == "Sent Items")
    by_name = await served.ok(f"/users/{MAYA}/mailFolders/SentItems")
    assert by_name["id"] == sent["id"]
    a = await served.ok(f"/users/{MAYA}/mailFolders/sentitems/messages", params={"$top": "50"})
    b = await served.ok(f"/users/{MAYA}/mailFolders/{sent['id']}/messages", params={"$top": "50"})
    assert [m["id"] for m in a["value"]] == [m["id"] for m in b["value"]]
    assert all(m["parentFolderId"] == sent["id"] for m in a["value"])


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/users/nobody@example.com/messages", 404, "ErrorInvalidUser"),
        ("/users/noah.fischer@example.com/messages", 404, "MailboxNotEnabledForRESTAPI"),
        (f"/users/{MAYA}/mailFolders/not-a-folder/messages", 400, "ErrorInvalidIdMalformed"),
        (f"/users/{MAYA}/mailFolders/AAMkAGnope/messages", 404, "ErrorItemNotFound"),
        (f"/users/{MAYA}/messages/AAMkAGnope", 404, "ErrorItemNotFound"),
        ("/me/messages", 400, "BadRequest"),
        (f"/users/{MAYA}/contacts", 400, "BadRequest"),
    ],
)
async def test_unknown_things_are_graph_errors(
    served: Served, path: str, status: int, code: str
) -> None:
    """Unknown users, mailbox-less users, folders, items and /me answer as Graph does."""
    assert_graph_error(await served.get(path), status, code)


async def test_users_are_found_by_id_as_well_as_upn(served: Served) -> None:
    """/users/{id} and /users/{upn} are the same mailbox."""
    person = served.sandbox.tenant.user(MAYA)
    assert person is not None
    by_id = await served.ok(f"/users/{person.id}/messages", params={"$top": "5"})
    by_upn = await served.ok(f"/users/{MAYA}/messages", params={"$top": "5"})
    assert [m["id"] for m in by_id["value"]] == [m["id"] for m in by_upn["value"]]


# -- calendarView ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{}, {"startDateTime": "2026-11-02T00:00:00Z"}, {"endDateTime": "2026-11-09T00:00:00Z"}],
)
async def test_calendar_view_requires_both_ends(served: Served, params: dict[str, str]) -> None:
    """Without startDateTime and endDateTime: 400 ErrorInvalidParameter, Graph's message."""
    error = assert_graph_error(
        await served.get(f"/users/{MAYA}/calendarView", params=params), 400, "ErrorInvalidParameter"
    )
    assert error["message"] == (
        "This request requires a time window specified by the query string parameters "
        "StartDateTime and EndDateTime."
    )


async def test_calendar_view_expands_recurring_meetings_in_the_window(served: Served) -> None:
    """A week's view has standup occurrences with their series id; all overlap the window."""
    body = await served.ok(
        f"/users/{MAYA}/calendarView",
        params={
            "startDateTime": "2026-11-02T00:00:00",
            "endDateTime": "2026-11-09T00:00:00",
            "$top": "100",
        },
    )
    events = body["value"]
    standups = [e for e in events if e["subject"] == "Apollo Website Relaunch daily standup"]
    assert len(standups) == 5
    assert all(e["type"] in ("occurrence", "exception") and e["seriesMasterId"] for e in standups)
    assert all(e["recurrence"] is None for e in events)
    for event in events:
        assert event["start"]["timeZone"] == "UTC"
        assert event["start"]["dateTime"] < "2026-11-09T00:00:00"
        assert event["end"]["dateTime"] > "2026-11-02T00:00:00"
        assert event["start"]["dateTime"].endswith(".0000000")


async def test_prefer_outlook_timezone_gives_local_times(served: Served) -> None:
    """Prefer: outlook.timezone="W. Europe Standard Time" shifts times and names the zone."""
    params = {"startDateTime": "2026-11-02T00:00:00Z", "endDateTime": "2026-11-03T00:00:00Z"}
    utc = await served.ok(f"/users/{MAYA}/calendarView", params=params)
    response = await served.get(
        f"/users/{MAYA}/calendarView",
        params=params,
        headers={"Prefer": 'outlook.timezone="W. Europe Standard Time"'},
    )
    local = response.json()
    assert response.headers["preference-applied"] == 'outlook.timezone="W. Europe Standard Time"'
    first_utc, first_local = utc["value"][0]["start"], local["value"][0]["start"]
    assert first_local["timeZone"] == "W. Europe Standard Time"
    assert int(first_local["dateTime"][11:13]) == int(first_utc["dateTime"][11:13]) + 1


async def test_calendar_view_pages_with_an_opaque_skiptoken(served: Served) -> None:
    """Pages of 3 are linked by $skiptoken; a forged token is refused."""
    params = {
        "startDateTime": "2026-11-02T00:00:00Z",
        "endDateTime": "2026-11-16T00:00:00Z",
        "$top": "3",
    }
    whole = await served.ok(f"/users/{MAYA}/calendarView", params={**params, "$top": "1000"})
    first = await served.ok(f"/users/{MAYA}/calendarView", params=params)
    ids = [e["id"] for e in first["value"]]
    url: str | None = first.get("@odata.nextLink")
    assert url is not None
    assert "$skiptoken" in parse_qs(urlsplit(url).query)
    while url:
        page = (
            await served.http.get(url, headers={"Authorization": f"Bearer {served.token}"})
        ).json()
        ids += [e["id"] for e in page["value"]]
        url = page.get("@odata.nextLink")
    assert ids == [e["id"] for e in whole["value"]]
    forged = await served.get(f"/users/{MAYA}/calendarView", params={**params, "$skiptoken": "abc"})
    assert_graph_error(forged, 400, "ErrorInvalidParameter")


# -- sendMail ----------------------------------------------------------------------------


DOCS_MAIL = {
    "message": {
        "subject": "Meet for lunch?",
        "body": {"contentType": "Text", "content": "The new cafeteria is open."},
        "toRecipients": [{"emailAddress": {"address": "jonas.berg@example.com"}}],
        "ccRecipients": [{"emailAddress": {"address": "someone@fabrikam.example"}}],
    },
    "saveToSentItems": "false",
}


async def test_send_mail_as_documented_is_202_with_no_body(served: Served) -> None:
    """The docs' request (camelCase, "Text") is accepted: 202, empty, filed in both mailboxes."""
    body = {**DOCS_MAIL, "saveToSentItems": True}
    response = await served.send(body)
    assert response.status_code == 202
    assert response.content == b""
    [sent] = served.sandbox.sent
    assert sent.subject == "Meet for lunch?"
    assert sent.content_type == "text"
    assert sent.to == ["jonas.berg@example.com"]
    assert sent.sent_message_id is not None
    inbox = await served.ok(
        "/users/jonas.berg@example.com/mailFolders/inbox/messages",
        params={"$filter": "subject eq 'Meet for lunch?'"},
    )
    assert [m["from"]["emailAddress"]["address"] for m in inbox["value"]] == [MAYA]


async def test_send_mail_accepts_the_sdks_casing(served: Served) -> None:
    """Message/SaveToSentItems, @odata.type and lowercase enums, as msgraph-sdk sends them."""
    body = {
        "Message": {
            "@odata.type": "#microsoft.graph.message",
            "subject": "From the SDK",
            "body": {
                "@odata.type": "#microsoft.graph.itemBody",
                "contentType": "html",
                "content": "<p>hi</p>",
            },
            "importance": "high",
            "toRecipients": [
                {
                    "@odata.type": "#microsoft.graph.recipient",
                    "emailAddress": {
                        "@odata.type": "#microsoft.graph.emailAddress",
                        "address": "aiko.tanaka@example.com",
                    },
                }
            ],
        },
        "SaveToSentItems": False,
    }
    response = await served.send(body)
    assert response.status_code == 202, response.text
    [sent] = served.sandbox.sent
    assert (sent.content_type, sent.importance, sent.save_to_sent_items) == ("html", "high", False)
    assert sent.sent_message_id is None
    assert sent.raw == body


async def test_the_docs_example_with_a_string_boolean_is_accepted(served: Served) -> None:
    """The docs send "saveToSentItems": "false" (a string): accepted, no Sent Items copy."""
    assert (await served.send(DOCS_MAIL)).status_code == 202
    [sent] = served.sandbox.sent
    assert sent.save_to_sent_items is False
    assert sent.sent_message_id is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**DOCS_MAIL, "saveToSentItems": "nope"}, "RequestBodyRead"),
        ({"message": {"subject": "x"}}, "ErrorInvalidRecipients"),
        (
            {"message": {"toRecipients": [{"emailAddress": {"address": "not-an-address"}}]}},
            "ErrorInvalidRecipients",
        ),
        (
            {
                "message": {
                    "subjekt": "x",
                    "toRecipients": [{"emailAddress": {"address": "a@b.example"}}],
                }
            },
            "RequestBodyRead",
        ),
        (
            {
                "message": {
                    "body": {"contentType": "markdown", "content": "x"},
                    "toRecipients": [{"emailAddress": {"address": "a@b.example"}}],
                }
            },
            "RequestBodyRead",
        ),
        ({"saveToSentItems": True}, "ErrorInvalidParameter"),
        ({"message": {}, "urgent": True}, "RequestBodyRead"),
    ],
)
async def test_bad_mail_is_refused_as_graph_refuses_it(
    served: Served, body: dict[str, Any], code: str
) -> None:
    """Not a boolean, no or bad recipients, unknown properties, bad enums: 400."""
    assert_graph_error(await served.send(body), 400, code)
    assert served.sandbox.sent == []


async def test_a_body_that_is_not_json_is_a_bad_request(served: Served) -> None:
    """Unreadable JSON: 400 BadRequest."""
    response = await served.http.post(
        f"/v1.0/users/{MAYA}/sendMail",
        content=b"{nope",
        headers={"Authorization": f"Bearer {served.token}", "Content-Type": "application/json"},
    )
    assert_graph_error(response, 400, "BadRequest")


async def test_sent_items_can_be_found_by_extended_property(served: Served) -> None:
    """A singleValueExtendedProperty set on send is filterable on the Sent Items copy."""
    prop = "String {6f0c5b1e-2d4a-4e8b-9a55-3c1d2e7f9b40} Name Key"
    mail = {
        "message": {
            "subject": "Tagged",
            "toRecipients": [{"emailAddress": {"address": "jonas.berg@example.com"}}],
            "singleValueExtendedProperties": [{"id": prop, "value": "run-1:notify:0"}],
        }
    }
    assert (await served.send(mail)).status_code == 202
    found = await served.ok(
        f"/users/{MAYA}/mailFolders/sentitems/messages",
        params={
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop}' and ep/value eq 'run-1:notify:0')"
        },
    )
    assert [m["subject"] for m in found["value"]] == ["Tagged"]


# -- faults and controls -----------------------------------------------------------------


async def test_throttling_answers_429_with_an_integer_retry_after(served: Served) -> None:
    """throttled: 429, Retry-After in whole seconds, Graph's TooManyRequests body, N times."""
    response = await served.http.post(
        "/sandbox/faults", json={"kind": "throttled", "times": 2, "retry_after": 3}
    )
    assert response.status_code == 204
    for _ in range(2):
        answer = await served.get(f"/users/{MAYA}/messages")
        assert_graph_error(answer, 429, "TooManyRequests")
        assert answer.headers["retry-after"] == "3"
    assert (await served.get(f"/users/{MAYA}/messages")).status_code == 200


@pytest.mark.parametrize(
    ("fault", "status", "code", "retry_after"),
    [
        ({"kind": "unavailable"}, 503, "ServiceUnavailable", "2"),
        ({"kind": "unavailable", "retry_after": None}, 503, "ServiceUnavailable", None),
        ({"kind": "gateway_timeout", "retry_after": 1}, 504, "GatewayTimeout", "1"),
        ({"kind": "server_error"}, 500, "generalException", None),
        ({"kind": "invalid_token"}, 401, "InvalidAuthenticationToken", None),
        ({"kind": "forbidden"}, 403, "ErrorAccessDenied", None),
    ],
)
async def test_faults_answer_in_graphs_shape(
    served: Served, fault: dict[str, Any], status: int, code: str, retry_after: str | None
) -> None:
    """Each fault kind has its status, Graph error code and Retry-After (or none)."""
    assert (await served.http.post("/sandbox/faults", json=fault)).status_code == 204
    answer = await served.get(f"/users/{MAYA}/messages")
    assert_graph_error(answer, status, code)
    assert answer.headers.get("retry-after") == retry_after


async def test_token_error_fails_the_token_endpoint_only(served: Served) -> None:
    """token_error: the next token request is 401 invalid_client; Graph calls still work."""
    await served.http.post("/sandbox/faults", json={"kind": "token_error"})
    assert (await served.get(f"/users/{MAYA}/messages")).status_code == 200
    refused = await served.http.post(f"/{TENANT}/oauth2/v2.0/token", data=form())
    assert refused.status_code == 401
    assert refused.json()["error_codes"] == [7000222]
    assert (await served.http.post(f"/{TENANT}/oauth2/v2.0/token", data=form())).status_code == 200


async def test_a_fault_after_processing_sends_the_mail_and_loses_the_answer(served: Served) -> None:
    """after_processing: the mail is sent, then the client gets the 504."""
    await served.http.post(
        "/sandbox/faults", json={"kind": "gateway_timeout", "after_processing": True}
    )
    response = await served.send({**DOCS_MAIL, "saveToSentItems": True})
    assert response.status_code == 504
    assert len(served.sandbox.sent) == 1


async def test_the_request_log_masks_credentials(served: Served) -> None:
    """/sandbox/requests shows requests with 'Bearer ***' and the secret as ***."""
    await served.http.post(f"/{TENANT}/oauth2/v2.0/token", data=form())
    await served.get(f"/users/{MAYA}/messages", params={"$top": "2"})
    log = (await served.http.get("/sandbox/requests")).json()
    assert [r["status"] for r in log] == [200, 200]
    assert log[0]["form"]["client_secret"] == "***"
    assert log[1]["authorization"] == "Bearer ***"
    assert log[1]["query"] == {"$top": "2"}
    assert SECRET not in str(log)
    assert served.token not in str(log)


async def test_reset_reseeds_and_can_move_the_anchor(served: Served) -> None:
    """POST /sandbox/reset forgets sent mail; an anchor moves the demo data with it."""
    await served.send({**DOCS_MAIL, "saveToSentItems": True})
    reset = await served.http.post("/sandbox/reset", json={"anchor": "2026-12-07"})
    assert reset.status_code in (200, 204)
    assert (await served.http.get("/sandbox/sent")).json() == []
    newest = (await served.ok(f"/users/{MAYA}/messages", params={"$top": "1"}))["value"][0]
    assert "2026-11-25" < newest["receivedDateTime"] < "2026-12-07"
    mailboxes = (await served.http.get("/sandbox/mailboxes")).json()
    assert {m["address"] for m in mailboxes if m["has_mailbox"]} >= {MAYA, "jonas.berg@example.com"}


def test_the_anchor_defaults_to_today() -> None:
    """Without an anchor the demo data is placed around today's date (UTC)."""
    sandbox = OutlookSandbox(
        tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET, public_url="http://127.0.0.1:1"
    )
    assert sandbox.tenant.anchor == datetime.now(UTC).date()
