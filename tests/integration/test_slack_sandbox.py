"""The Slack sandbox over real HTTP on 127.0.0.1 answers as Slack's docs say, to a plain
httpx client written from those docs; and it plays Slack towards a bot, signing what it
sends as Slack does (checked with slack-sdk's own SignatureVerifier)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from dataworkflows.sandboxes.slack.app import SlackSandbox, create_slack_sandbox_app
from dataworkflows.sandboxes.slack.demo_data import (
    ARCHIVED_CHANNEL_ID,
    BOT,
    DEMO_USERS,
    GENERAL_CHANNEL_ID,
    NOT_MEMBER_CHANNEL_ID,
    PROJECT_CHANNEL_IDS,
    SlackWorkspace,
)
from tests.support.net import serve_in_process

TOKEN = "xoxb-sandbox-test-token-0123456789"
SECRET = "signing-secret-for-the-sandbox-tests"
APOLLO = PROJECT_CHANNEL_IDS["apollo"]
CYGNUS = PROJECT_CHANNEL_IDS["cygnus"]
MAYA = DEMO_USERS[0].id
TS_RE = re.compile(r"^\d{10}\.\d{6}$")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON_UTF8 = "application/json; charset=utf-8"


class FakeClock:
    """Wall-clock seconds that a test can move forward."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Received:
    """One request the bot stand-in received."""

    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class BotStandIn:
    """A tiny ASGI app in place of the bot: verifies, records, answers as told."""

    answers: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    verifier: SignatureVerifier = field(default_factory=lambda: SignatureVerifier(SECRET))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        valid = self.verifier.is_valid_request(body, headers)
        self.received.append(Received(scope["path"], headers, body, valid))
        if scope["path"] == "/slack/events" and b"url_verification" in body and not self.answers:
            status, content_type, answer = 200, "text/plain", json.loads(body)["challenge"].encode()
        else:
            status, content_type, answer = self.answers.get(scope["path"], (200, "text/plain", b""))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})


@dataclass
class Served:
    """A sandbox and a bot stand-in served on 127.0.0.1, and an HTTP client for Slack."""

    sandbox: SlackSandbox
    clock: FakeClock
    bot: BotStandIn
    http: httpx.AsyncClient

    async def call(self, method: str, **args: Any) -> dict[str, Any]:
        """A Web API call as the docs show it: JSON body, bearer token."""
        response = await self.http.post(
            f"/api/{method}",
            content=json.dumps(args),
            headers={**AUTH, "Content-Type": JSON_UTF8},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def form(self, method: str, **args: Any) -> dict[str, Any]:
        """A Web API call with a form body and the legacy token field."""
        response = await self.http.post(f"/api/{method}", data={"token": TOKEN, **args})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(path, json=body or {})
        assert response.status_code == 200, response.text
        return response.json()


# One sandbox and one bot stand-in for the module (serving costs time); each test gets
# them reset to the seeded state.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def servers() -> AsyncIterator[Served]:
    """A sandbox (seed 7) and a bot stand-in, both served over real HTTP on 127.0.0.1."""
    bot = BotStandIn()
    clock = FakeClock()
    async with serve_in_process(bot) as bot_url:
        sandbox = SlackSandbox(
            token=TOKEN,
            signing_secret=SECRET,
            bot_url=bot_url,
            public_url="http://placeholder",
            clock=clock,
        )
        async with serve_in_process(create_slack_sandbox_app(sandbox)) as base:
            sandbox.public_url = base
            async with httpx.AsyncClient(base_url=base, timeout=10.0, trust_env=False) as http:
                yield Served(sandbox=sandbox, clock=clock, bot=bot, http=http)


@pytest_asyncio.fixture(loop_scope="module")
async def served(servers: Served) -> Served:
    """The module's sandbox reseeded, with a fresh bot stand-in and the clock at now."""
    servers.sandbox.reset()
    servers.sandbox.ack_deadline_ms = 3000.0
    servers.clock.now = time.time()
    servers.bot.answers.clear()
    servers.bot.received.clear()
    servers.bot.delay_s = 0.0
    return servers


def top_level_newest_first(sandbox: SlackSandbox, channel_id: str) -> list[str]:
    channel = sandbox.workspace.channels[channel_id]
    return [
        m.ts
        for m in reversed(channel.messages)
        if not m.is_reply or m.subtype == "thread_broadcast"
    ]


# -- authentication and encodings ---------------------------------------------------------


async def test_tokens_missing_or_wrong_are_refused_with_http_200(served: Served) -> None:
    """No token is not_authed, a wrong one invalid_auth; both HTTP 200 with ok false."""
    missing = await served.http.post("/api/auth.test")
    wrong = await served.http.post("/api/auth.test", headers={"Authorization": "Bearer xoxb-no"})
    assert (missing.status_code, missing.json()) == (200, {"ok": False, "error": "not_authed"})
    assert (wrong.status_code, wrong.json()) == (200, {"ok": False, "error": "invalid_auth"})
    assert missing.headers["content-type"] == JSON_UTF8


async def test_auth_test_accepts_the_legacy_form_token(served: Served) -> None:
    """The token may come as the form field ``token``; the log keeps no token at all."""
    body = await served.form("auth.test")
    assert body["ok"] is True
    assert body["user_id"] == BOT.user_id
    assert body["bot_id"] == BOT.bot_id
    assert body["team_id"] == served.sandbox.workspace.team.id
    logged = served.sandbox.requests[-1]
    assert logged.auth == "form"
    assert TOKEN not in json.dumps(logged.params)


async def test_a_json_body_token_is_not_a_credential(served: Served) -> None:
    """Slack reads no token from JSON bodies: it must be in the Authorization header."""
    response = await served.http.post(
        "/api/auth.test", content=json.dumps({"token": TOKEN}), headers={"Content-Type": JSON_UTF8}
    )
    assert response.json() == {"ok": False, "error": "not_authed"}


async def test_form_bodies_carry_blocks_as_a_json_string(served: Served) -> None:
    """chat.postMessage with a form body: blocks as a JSON-encoded string, as the docs say."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}]
    body = await served.form(
        "chat.postMessage", channel=APOLLO, text="hi", blocks=json.dumps(blocks)
    )
    assert body["ok"] is True
    assert body["message"]["blocks"] == blocks
    assert body["message"]["bot_id"] == BOT.bot_id
    assert body["message"]["app_id"] == BOT.app_id
    assert body["message"]["user"] == BOT.user_id


async def test_json_without_charset_works_with_a_warning(served: Served) -> None:
    """A JSON body without charset is accepted and answered with warning missing_charset."""
    response = await served.http.post(
        "/api/chat.postMessage",
        content=json.dumps({"channel": APOLLO, "text": "hi"}),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    body = response.json()
    assert body["ok"] is True
    assert body["warning"] == "missing_charset"
    assert "warning" not in await served.call("chat.postMessage", channel=APOLLO, text="hi")


async def test_channel_names_are_accepted_by_post_message(served: Served) -> None:
    """chat.postMessage takes a channel name (with or without #) and answers with its id."""
    assert (await served.call("chat.postMessage", channel="#proj-apollo", text="a"))[
        "channel"
    ] == APOLLO
    assert (await served.call("chat.postMessage", channel="general", text="b"))["channel"] == (
        GENERAL_CHANNEL_ID
    )


async def test_a_user_id_as_channel_posts_in_the_bots_direct_message(served: Served) -> None:
    """chat.postMessage to a person's user id posts in the bot's DM with them and answers
    with the DM's D id, which chat.update, history, info, list (types=im) and a click on
    the message then use; an unknown user id is channel_not_found."""
    client = AsyncWebClient(token=TOKEN, base_url=f"{served.sandbox.public_url}/api/")
    blocks = [
        {
            "type": "actions",
            "block_id": "ask",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": "yes",
                }
            ],
        }
    ]
    posted = await client.chat_postMessage(channel=MAYA, text="Sync?", blocks=blocks)
    dm = posted["channel"]
    assert re.fullmatch(r"D[A-Z0-9]{8,}", dm)
    again = await client.chat_postMessage(channel=MAYA, text="still there?")
    assert again["channel"] == dm, "one DM per person"
    await client.chat_update(channel=dm, ts=posted["ts"], text="Approved", blocks=[])
    history = await client.conversations_history(channel=dm)
    assert [m["text"] for m in history["messages"]] == ["still there?", "Approved"]
    info = (await client.conversations_info(channel=dm))["channel"]
    assert (info["is_im"], info["user"]) == (True, MAYA)
    assert "name" not in info
    listed = await client.conversations_list(types="im")
    assert [c["id"] for c in listed["channels"]] == [dm]
    public = await client.conversations_list()
    assert dm not in {c["id"] for c in public["channels"]}
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="U0NOBODY00", text="x")
    assert caught.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel=MAYA, ts=posted["ts"], text="x")
    assert caught.value.response["error"] == "channel_not_found", "only postMessage takes it"

    await served.call("chat.update", channel=dm, ts=again["ts"], text="ok", blocks=blocks)
    await served.control(
        "/sandbox/send/action",
        {"action_id": "approve", "message_ts": again["ts"], "channel_id": dm},
    )
    payload = json.loads(served.bot.received[-1].form()["payload"])
    assert payload["channel"] == {"id": dm, "name": "directmessage"}
    assert payload["container"]["channel_id"] == dm


async def test_unknown_methods_are_unknown_method(served: Served) -> None:
    """A method the sandbox does not know answers unknown_method."""
    body = await served.call("chat.scheduleMessagez", channel=APOLLO)
    assert body["ok"] is False
    assert body["error"] == "unknown_method"


# -- history -----------------------------------------------------------------------------


async def test_history_pages_with_cursors_until_the_end(served: Served) -> None:
    """GET conversations.history with limit and cursor visits every top-level message once,
    newest first; the last page has has_more false and an empty next_cursor."""
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        params = {"channel": CYGNUS, "limit": "30", **({"cursor": cursor} if cursor else {})}
        response = await served.http.get("/api/conversations.history", params=params, headers=AUTH)
        body = response.json()
        assert body["ok"] is True
        pages += 1
        seen += [m["ts"] for m in body["messages"]]
        cursor = body["response_metadata"]["next_cursor"]
        assert body["has_more"] == bool(cursor)
        if not cursor:
            break
        assert base64.b64decode(cursor).startswith(b"next_ts:")
    assert seen == top_level_newest_first(served.sandbox, CYGNUS)
    assert len(seen) > 100
    assert pages == -(-len(seen) // 30)


async def test_history_limit_defaults_to_100_and_caps_at_999(served: Served) -> None:
    """Without limit a page has 100 messages; a limit over 999 is clamped, not refused."""
    default = await served.call("conversations.history", channel=CYGNUS)
    assert len(default["messages"]) == 100
    assert default["has_more"] is True
    everything = await served.call("conversations.history", channel=CYGNUS, limit=5000)
    assert len(everything["messages"]) == len(top_level_newest_first(served.sandbox, CYGNUS))
    assert everything["has_more"] is False


async def test_a_forged_cursor_is_invalid_cursor(served: Served) -> None:
    """A cursor the sandbox did not issue answers invalid_cursor."""
    body = await served.call("conversations.history", channel=APOLLO, cursor="bm90IGEgY3Vyc29y")
    assert body == {"ok": False, "error": "invalid_cursor"}


async def test_oldest_and_latest_are_exclusive_unless_inclusive(served: Served) -> None:
    """oldest/latest bound the window exclusively; inclusive=true takes the bounds too."""
    ordered = list(reversed(top_level_newest_first(served.sandbox, APOLLO)))
    oldest, latest = ordered[5], ordered[9]
    exclusive = await served.call(
        "conversations.history", channel=APOLLO, oldest=oldest, latest=latest
    )
    inclusive = await served.call(
        "conversations.history", channel=APOLLO, oldest=oldest, latest=latest, inclusive=True
    )
    assert [m["ts"] for m in exclusive["messages"]] == list(reversed(ordered[6:9]))
    assert [m["ts"] for m in inclusive["messages"]] == list(reversed(ordered[5:10]))


async def test_threads_show_counts_in_history_and_replies_in_order(served: Served) -> None:
    """A seeded thread's parent carries reply_count and friends; conversations.replies gives
    the parent first, then the replies oldest first, also when asked by a reply's ts."""
    history = await served.call("conversations.history", channel=APOLLO, limit=999)
    parent = next(m for m in history["messages"] if m.get("reply_count"))
    assert parent["thread_ts"] == parent["ts"]
    replies = await served.call("conversations.replies", channel=APOLLO, ts=parent["ts"])
    messages = replies["messages"]
    assert messages[0]["ts"] == parent["ts"]
    assert len(messages) == parent["reply_count"] + 1
    assert parent["latest_reply"] == messages[-1]["ts"]
    assert [m["ts"] for m in messages[1:]] == sorted((m["ts"] for m in messages[1:]), key=float)
    assert all(m["thread_ts"] == parent["ts"] for m in messages)
    assert all(m["parent_user_id"] == parent["user"] for m in messages[1:])
    by_reply = await served.call("conversations.replies", channel=APOLLO, ts=messages[-1]["ts"])
    assert by_reply["messages"] == messages
    assert set(parent["reply_users"]) == {m["user"] for m in messages[1:]}
    missing = await served.call("conversations.replies", channel=APOLLO, ts="1000000000.000001")
    assert missing["error"] == "thread_not_found"


async def test_a_bot_reply_updates_the_thread(served: Served) -> None:
    """Posting with thread_ts adds a reply: the parent's reply_count and latest_reply move."""
    history = await served.call("conversations.history", channel=APOLLO, limit=999)
    parent = next(
        m for m in history["messages"] if not m.get("reply_count") and m.get("user") == MAYA
    )
    reply = await served.call(
        "chat.postMessage", channel=APOLLO, text="On it", thread_ts=parent["ts"]
    )
    assert reply["message"]["thread_ts"] == parent["ts"]
    again = await served.call("conversations.history", channel=APOLLO, limit=999)
    updated = next(m for m in again["messages"] if m["ts"] == parent["ts"])
    assert updated["reply_count"] == 1
    assert updated["latest_reply"] == reply["ts"]
    assert updated["reply_users"] == [BOT.user_id]
    assert reply["ts"] not in {m["ts"] for m in again["messages"]}


async def test_new_ts_are_unique_and_increasing(served: Served) -> None:
    """Every posted message gets a new ts, later than all before it, in Slack's format."""
    stamps = [
        (await served.call("chat.postMessage", channel=APOLLO, text=f"n{n}"))["ts"]
        for n in range(20)
    ]
    assert all(TS_RE.match(ts) for ts in stamps)
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 20
    seeded = max(
        float(m.ts) for c in served.sandbox.workspace.channels.values() for m in c.messages[:-20]
    )
    assert float(stamps[0]) > seeded


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "args", "error"),
    [
        ("chat.postMessage", {"channel": "C0NOSUCHCH", "text": "x"}, "channel_not_found"),
        ("chat.postMessage", {"channel": NOT_MEMBER_CHANNEL_ID, "text": "x"}, "not_in_channel"),
        ("chat.postMessage", {"channel": ARCHIVED_CHANNEL_ID, "text": "x"}, "is_archived"),
        ("chat.postMessage", {"channel": APOLLO}, "no_text"),
        ("chat.postMessage", {"channel": APOLLO, "text": "   "}, "no_text"),
        ("chat.postMessage", {"channel": APOLLO, "text": "x" * 40_001}, "msg_too_long"),
        ("conversations.history", {"channel": NOT_MEMBER_CHANNEL_ID}, "not_in_channel"),
        ("conversations.history", {"channel": "C0NOSUCHCH"}, "channel_not_found"),
        ("conversations.history", {"channel": "proj-apollo"}, "channel_not_found"),
        ("conversations.history", {"channel": APOLLO, "oldest": "yesterday"}, "invalid_ts_oldest"),
        (
            "chat.update",
            {"channel": APOLLO, "ts": "1000000000.000001", "text": "x"},
            "message_not_found",
        ),
    ],
)
async def test_documented_errors(
    served: Served, method: str, args: dict[str, Any], error: str
) -> None:
    """Each documented refusal answers HTTP 200 with ok false and Slack's error string."""
    body = await served.call(method, **args)
    assert body["ok"] is False
    assert body["error"] == error


async def test_archived_channels_can_still_be_read(served: Served) -> None:
    """An archived channel refuses posts but its history stays readable."""
    body = await served.call("conversations.history", channel=ARCHIVED_CHANNEL_ID)
    assert body["ok"] is True
    assert body["messages"][0]["subtype"] == "channel_archive"


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([{"type": "divider"}] * 51, "/blocks"),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            "/blocks/0/text/text",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "/blocks/0/fields",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "/blocks/0/text/text",
        ),
        ([{"type": "divider", "block_id": "b" * 256}], "/blocks/0/block_id"),
        (
            [{"type": "divider", "block_id": "same"}, {"type": "divider", "block_id": "same"}],
            "/blocks/1/block_id",
        ),
        ([{"type": "carousel"}], "/blocks/0/type"),
        ([{"type": "section"}], "/blocks/0"),
    ],
)
async def test_invalid_blocks_name_the_offending_member(
    served: Served, blocks: list[dict[str, Any]], pointer: str
) -> None:
    """Blocks over Slack's limits answer invalid_blocks with json-pointer messages."""
    body = await served.call("chat.postMessage", channel=APOLLO, text="x", blocks=blocks)
    assert body["error"] == "invalid_blocks"
    assert any(e.endswith(f"[json-pointer:{pointer}]") for e in body["errors"]), body["errors"]
    assert body["response_metadata"]["messages"][0].startswith("[ERROR] ")


async def test_blocks_that_are_not_json_are_invalid_blocks_format(served: Served) -> None:
    """A form ``blocks`` value that is not a JSON array answers invalid_blocks_format."""
    body = await served.form("chat.postMessage", channel=APOLLO, text="x", blocks="[{nope")
    assert body["error"] == "invalid_blocks_format"


async def test_update_is_for_the_bots_own_messages_and_keeps_what_is_not_sent(
    served: Served,
) -> None:
    """chat.update refuses others' messages (cant_update_message); on the bot's, text
    alone keeps the blocks, and the message is marked edited."""
    person = next(m for m in served.sandbox.workspace.channels[APOLLO].messages if m.user == MAYA)
    refused = await served.call("chat.update", channel=APOLLO, ts=person.ts, text="x")
    assert refused["error"] == "cant_update_message"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "v1"}}]
    posted = await served.call("chat.postMessage", channel=APOLLO, text="v1", blocks=blocks)
    updated = await served.call("chat.update", channel=APOLLO, ts=posted["ts"], text="v2")
    assert updated["ok"] is True
    assert updated["text"] == "v2"
    assert updated["message"]["blocks"] == blocks
    assert updated["message"]["edited"]["user"] == BOT.user_id


# -- conversations -----------------------------------------------------------------------


async def test_conversations_list_and_info(served: Served) -> None:
    """conversations.list pages through every channel; membership and archival are shown."""
    channels: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = await served.call(
            "conversations.list", limit=2, **({"cursor": cursor} if cursor else {})
        )
        channels += body["channels"]
        cursor = body["response_metadata"]["next_cursor"]
        if not cursor:
            break
    by_id = {c["id"]: c for c in channels}
    assert set(by_id) == set(served.sandbox.workspace.channels)
    assert by_id[NOT_MEMBER_CHANNEL_ID]["is_member"] is False
    assert by_id[ARCHIVED_CHANNEL_ID]["is_archived"] is True
    assert by_id[GENERAL_CHANNEL_ID]["is_general"] is True
    active = await served.call("conversations.list", exclude_archived=True)
    assert ARCHIVED_CHANNEL_ID not in {c["id"] for c in active["channels"]}
    info = await served.call("conversations.info", channel=APOLLO)
    assert info["channel"]["name"] == "proj-apollo"
    assert info["channel"]["topic"]["value"].startswith("Apollo Website Relaunch")


# -- users -------------------------------------------------------------------------------


async def users_page(
    served: Served, verb: str, **args: Any
) -> tuple[httpx.Response, dict[str, Any]]:
    """users.list as a client written from the docs calls it: a form-encoded POST or a GET
    with a query string, the token in the Authorization header."""
    fields = {k: str(v) for k, v in args.items()}
    if verb == "POST":
        response = await served.http.post("/api/users.list", data=fields, headers=AUTH)
    else:
        response = await served.http.get("/api/users.list", params=fields, headers=AUTH)
    body: dict[str, Any] = response.json()
    return response, body


@pytest.mark.parametrize("verb", ["POST", "GET"])
async def test_users_list_pages_through_every_member(served: Served, verb: str) -> None:
    """users.list with limit and cursor visits every person and the bot user once; the
    last page's next_cursor is empty; members are users.info's user objects."""
    members: list[dict[str, Any]] = []
    cursor = ""
    pages = 0
    while True:
        response, body = await users_page(
            served, verb, limit=3, **({"cursor": cursor} if cursor else {})
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == JSON_UTF8
        assert body["ok"] is True
        assert isinstance(body["cache_ts"], int)
        assert len(body["members"]) <= 3
        members += body["members"]
        pages += 1
        cursor = body["response_metadata"]["next_cursor"]
        if not cursor:
            break
        assert base64.b64decode(cursor).startswith(b"user:")
    ids = [m["id"] for m in members]
    assert ids == [*(u.id for u in DEMO_USERS), BOT.user_id]
    assert pages == -(-len(ids) // 3) > 1
    maya = members[0]
    assert (maya["name"], maya["real_name"]) == ("maya.patel", "Maya Patel")
    assert maya["profile"]["display_name"] == "maya.patel"
    assert (maya["is_bot"], maya["deleted"], maya["team_id"]) == (False, False, "T07DWDEMO1")
    bot = members[-1]
    assert bot["is_bot"] is True
    assert bot["profile"]["bot_id"] == BOT.bot_id
    for member in (maya, bot):
        info = await served.call("users.info", user=member["id"])
        assert info["user"] == member
    logged = [r for r in served.sandbox.requests if r.method == "users.list"]
    assert {(r.http_method, r.auth) for r in logged} == {(verb, "header")}


async def test_users_list_without_limit_or_over_1000_lists_everyone(served: Served) -> None:
    """No limit (or 0) asks for the whole set; a limit over Slack's 1000 maximum is
    clamped, not refused."""
    everyone = len(DEMO_USERS) + 1
    for args in ({}, {"limit": 0}, {"limit": 5000}):
        _, body = await users_page(served, "POST", **args)
        assert body["ok"] is True, args
        assert len(body["members"]) == everyone
        assert body["response_metadata"] == {"next_cursor": ""}


async def test_users_list_include_locale_adds_the_locale(served: Served) -> None:
    """include_locale=true adds each member's locale; without it there is none."""
    _, plain = await users_page(served, "GET", limit=2)
    _, localized = await users_page(served, "GET", limit=2, include_locale="true")
    assert all("locale" not in m for m in plain["members"])
    assert all(m["locale"] == "en-US" for m in localized["members"])


@pytest.mark.parametrize(
    "cursor",
    [
        "bm90IGEgY3Vyc29y",  # base64 of "not a cursor"
        base64.b64encode(b"user:U0NOBODY01").decode(),
        base64.b64encode(f"team:{APOLLO}".encode()).decode(),  # conversations.list's
        "%%%",
    ],
)
async def test_users_list_refuses_a_forged_cursor(served: Served, cursor: str) -> None:
    """A cursor users.list did not issue is HTTP 200 invalid_cursor."""
    for verb in ("POST", "GET"):
        response, body = await users_page(served, verb, cursor=cursor)
        assert response.status_code == 200
        assert body == {"ok": False, "error": "invalid_cursor"}


async def test_users_list_needs_the_token(served: Served) -> None:
    """Without a token users.list is not_authed, with a wrong one invalid_auth."""
    missing = await served.http.get("/api/users.list")
    wrong = await served.http.get("/api/users.list", headers={"Authorization": "Bearer xoxb-no"})
    assert missing.json() == {"ok": False, "error": "not_authed"}
    assert wrong.json() == {"ok": False, "error": "invalid_auth"}


# -- faults, log and reset ---------------------------------------------------------------


async def test_a_ratelimited_fault_is_slacks_429(served: Served) -> None:
    """ratelimited answers HTTP 429, an integer Retry-After and ok false ratelimited."""
    response = await served.http.post(
        "/sandbox/faults", json={"kind": "ratelimited", "retry_after": 3}
    )
    assert response.status_code == 204
    limited = await served.http.post("/api/auth.test", headers=AUTH)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    assert (await served.http.post("/api/auth.test", headers=AUTH)).status_code == 200


async def test_a_fault_for_one_method_spares_the_others(served: Served) -> None:
    """A fault with ``method`` hits only that method, and waits for it."""
    await served.http.post(
        "/sandbox/faults", json={"kind": "invalid_auth", "method": "chat.postMessage"}
    )
    assert (await served.call("auth.test"))["ok"] is True
    assert (await served.call("chat.postMessage", channel=APOLLO, text="x"))[
        "error"
    ] == "invalid_auth"
    assert (await served.call("chat.postMessage", channel=APOLLO, text="x"))["ok"] is True


@pytest.mark.parametrize(("status", "media"), [(500, "application/json"), (503, "text/html")])
async def test_server_error_faults(served: Served, status: int, media: str) -> None:
    """server_error answers 500 with Slack's JSON, or 503 with a proxy's HTML page."""
    await served.http.post("/sandbox/faults", json={"kind": "server_error", "status": status})
    response = await served.http.post("/api/auth.test", headers=AUTH)
    assert response.status_code == status
    assert response.headers["content-type"].startswith(media)


async def test_a_slow_fault_delays_the_answer(served: Served) -> None:
    """slow waits delay_s, then answers normally."""
    await served.http.post("/sandbox/faults", json={"kind": "slow", "delay_s": 0.3})
    started = time.monotonic()
    assert (await served.call("auth.test"))["ok"] is True
    assert time.monotonic() - started >= 0.3


async def test_the_request_log_masks_tokens(served: Served) -> None:
    """GET /sandbox/requests lists every call with its status and error, never a token."""
    await served.form("chat.postMessage", channel="C0NOSUCHCH", text="x")
    await served.call("auth.test")
    log = (await served.http.get("/sandbox/requests")).json()
    assert [(r["method"], r["status"], r["error"]) for r in log] == [
        ("chat.postMessage", 200, "channel_not_found"),
        ("auth.test", 200, None),
    ]
    assert TOKEN not in json.dumps(log)


async def test_reset_restores_the_seeded_workspace(served: Served) -> None:
    """After POST /sandbox/reset the workspace is the seeded one again; ts keep increasing."""
    posted = await served.call("chat.postMessage", channel=APOLLO, text="temporary")
    assert (await served.http.post("/sandbox/reset")).status_code == 204
    seeded = SlackWorkspace.seeded(7).channels[APOLLO]
    assert [m.ts for m in served.sandbox.workspace.channels[APOLLO].messages] == [
        m.ts for m in seeded.messages
    ]
    again = await served.call("chat.postMessage", channel=APOLLO, text="after reset")
    assert float(again["ts"]) > float(posted["ts"])
    assert served.sandbox.requests[-1].method == "chat.postMessage"
    assert len(served.sandbox.requests) == 1


async def test_the_full_history_endpoint_includes_replies(served: Served) -> None:
    """GET /sandbox/channels/{id}/messages lists every message, replies included, oldest first."""
    listed = (await served.http.get(f"/sandbox/channels/{APOLLO}/messages")).json()
    stored = served.sandbox.workspace.channels[APOLLO].messages
    assert [m["ts"] for m in listed] == [m.ts for m in stored]
    assert any(m.get("parent_user_id") for m in listed)
    assert (await served.http.get("/sandbox/channels/C0NOSUCHCH/messages")).status_code == 404


# -- response_url ------------------------------------------------------------------------


async def _command(served: Served, text: str = "status apollo", **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = await served.control("/sandbox/send/command", {"text": text, **fields})
    return result


async def test_a_response_url_takes_five_posts_within_30_minutes(served: Served) -> None:
    """The sixth post to a response_url is refused with used_url; an old one with expired_url."""
    url = (await _command(served))["response_url"]
    for n in range(5):
        response = await served.http.post(url, json={"text": f"update {n}"})
        assert (response.status_code, response.json()) == (200, {"ok": True})
    sixth = await served.http.post(url, json={"text": "again"})
    assert (sixth.status_code, sixth.text) == (404, "used_url")
    late = (await _command(served))["response_url"]
    served.clock.now += 30 * 60 + 1
    expired = await served.http.post(late, json={"text": "late"})
    assert (expired.status_code, expired.text) == (404, "expired_url")


async def test_response_url_payload_errors(served: Served) -> None:
    """Not JSON is invalid_payload; nothing to say is no_text; a forged secret no_service."""
    url = (await _command(served))["response_url"]
    garbage = await served.http.post(url, content=b"text=hi")
    assert (garbage.status_code, garbage.text) == (400, "invalid_payload")
    empty = await served.http.post(url, json={"response_type": "in_channel"})
    assert (empty.status_code, empty.text) == (400, "no_text")
    forged = await served.http.post(url[:-3] + "xyz", json={"text": "hi"})
    assert (forged.status_code, forged.text) == (404, "no_service")
    assert served.sandbox.response_urls[url.split("/")[-2]].uses == 0


async def test_response_url_visibility(served: Served) -> None:
    """in_channel responses join the channel's history as the app; ephemeral ones are
    shown to the invoking user only; thread_ts puts a response in a thread."""
    url = (await _command(served, channel_id=APOLLO))["response_url"]
    history = served.sandbox.workspace.channels[APOLLO].messages
    parent = next(m.ts for m in reversed(history) if m.thread_ts in (None, m.ts))
    await served.http.post(url, json={"text": "public", "response_type": "in_channel"})
    await served.http.post(url, json={"text": "private"})
    await served.http.post(
        url, json={"text": "threaded", "response_type": "in_channel", "thread_ts": parent}
    )
    messages = served.sandbox.workspace.channels[APOLLO].messages
    public = next(m for m in messages if m.text == "public")
    assert (public.bot_id, public.user, public.thread_ts) == (BOT.bot_id, BOT.user_id, None)
    assert next(m for m in messages if m.text == "threaded").thread_ts == parent
    assert all(m.text != "private" for m in messages)
    ephemeral = (await served.http.get("/sandbox/ephemeral")).json()
    assert [(e["text"], e["user"], e["channel"]) for e in ephemeral] == [("private", MAYA, APOLLO)]
    record = (await served.http.get("/sandbox/responses")).json()[0]
    assert record["uses"] == 3
    assert [p["effect"].split(":")[0] for p in record["posts"]] == [
        "in_channel",
        "ephemeral",
        "in_channel",
    ]


async def test_replace_original_on_a_command_replaces_the_last_response(served: Served) -> None:
    """For a slash command, replace_original replaces what was last posted through the URL."""
    url = (await _command(served))["response_url"]
    await served.http.post(url, json={"text": "Working..."})
    await served.http.post(url, json={"text": "Done", "replace_original": True})
    ephemeral = (await served.http.get("/sandbox/ephemeral")).json()
    assert [(e["text"], e["replaced"]) for e in ephemeral] == [("Done", 1)]


# -- playing Slack towards the bot -------------------------------------------------------


async def test_a_command_is_the_documented_signed_form(served: Served) -> None:
    """The command arrives signed (SignatureVerifier agrees) as the documented form fields,
    in order, with the verification token (never the bot token) and a fresh response_url."""
    result = await _command(served, "status apollo", user_id=MAYA, channel_id=APOLLO)
    assert result["status"] == 200
    received = served.bot.received[-1]
    assert received.path == "/slack/commands"
    assert received.signature_valid
    assert received.headers["content-type"] == "application/x-www-form-urlencoded"
    form = received.form()
    assert list(form) == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    assert form["token"] != TOKEN
    assert TOKEN not in received.body.decode()
    assert (form["command"], form["text"], form["channel_name"], form["user_name"]) == (
        "/dw",
        "status apollo",
        "proj-apollo",
        "maya.patel",
    )
    assert form["response_url"] == result["response_url"]
    assert form["response_url"].startswith(
        f"{served.sandbox.public_url}/commands/{form['team_id']}/"
    )
    assert re.fullmatch(r"\d+\.\d+\.[0-9a-f]+", form["trigger_id"])
    assert abs(int(received.headers["x-slack-request-timestamp"]) - time.time()) < 5


async def test_a_json_ack_is_shown_as_slack_would(served: Served) -> None:
    """An in_channel JSON ack joins the history; an ephemeral one (the default) is private."""
    served.bot.answers["/slack/commands"] = (
        200,
        "application/json",
        json.dumps({"response_type": "in_channel", "text": "Apollo is on track"}).encode(),
    )
    result = await _command(served)
    assert result["shown"].startswith("in_channel:")
    assert served.sandbox.workspace.channels[APOLLO].messages[-1].text == "Apollo is on track"
    served.bot.answers["/slack/commands"] = (200, "application/json", b'{"text": "Working on it"}')
    assert (await _command(served))["shown"].startswith("ephemeral:")
    assert served.sandbox.ephemeral[-1].text == "Working on it"
    assert served.sandbox.ephemeral[-1].source == "ack"


async def test_a_command_in_the_dm_with_the_app_answers_there(served: Served) -> None:
    """A command typed in the person's DM with the app says channel_name directmessage,
    and an in_channel ack joins that DM's history."""
    served.bot.answers["/slack/commands"] = (
        200,
        "application/json",
        json.dumps({"response_type": "in_channel", "text": "Apollo is on track"}).encode(),
    )
    dm = served.sandbox.workspace.direct_message_id(MAYA)
    result = await _command(served, user_id=MAYA, channel_id=dm)
    assert result["form"]["channel_name"] == "directmessage"
    assert result["shown"].startswith("in_channel:")
    history = await served.call("conversations.history", channel=dm)
    assert [m["text"] for m in history["messages"]] == ["Apollo is on track"]


async def test_a_late_ack_is_not_shown(served: Served) -> None:
    """An ack slower than Slack's deadline (3 s; shortened here) is reported late and dropped."""
    served.sandbox.ack_deadline_ms = 100
    served.bot.delay_s = 0.3
    served.bot.answers["/slack/commands"] = (200, "application/json", b'{"text": "too late"}')
    result = await _command(served)
    assert result["within_deadline"] is False
    assert result["elapsed_ms"] >= 300
    assert result["shown"] is None
    assert served.sandbox.ephemeral == []


async def test_a_bad_signature_is_sent_when_asked(served: Served) -> None:
    """bad_signature and an old timestamp make requests a verifying bot must refuse."""
    await _command(served, bad_signature=True)
    assert served.bot.received[-1].signature_valid is False
    await _command(served, timestamp=int(time.time()) - 600)
    assert served.bot.received[-1].signature_valid is False


async def test_a_mention_posts_the_message_and_delivers_app_mention(served: Served) -> None:
    """send/mention stores ``<@BOT> text`` as the user's message and delivers a signed
    event_callback with the documented app_mention fields."""
    result = await served.control("/sandbox/send/mention", {"text": "status apollo", "user": MAYA})
    stored = served.sandbox.workspace.channels[APOLLO].messages[-1]
    assert (stored.user, stored.text, stored.ts) == (
        MAYA,
        f"<@{BOT.user_id}> status apollo",
        result["ts"],
    )
    received = served.bot.received[-1]
    assert received.path == "/slack/events"
    assert received.signature_valid
    assert "x-slack-retry-num" not in received.headers
    envelope = received.json()
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"] == result["event_id"]
    assert envelope["api_app_id"] == BOT.app_id
    assert envelope["authorizations"][0]["user_id"] == BOT.user_id
    event = envelope["event"]
    assert {"type", "user", "text", "ts", "channel", "event_ts", "team", "blocks"} <= set(event)
    assert (event["type"], event["channel"], event["ts"]) == ("app_mention", APOLLO, stored.ts)
    assert "thread_ts" not in event


async def test_a_mention_in_a_thread_and_its_redeliveries(served: Served) -> None:
    """In a thread the event carries thread_ts; redeliveries repeat the envelope with
    X-Slack-Retry-Num 1..N and X-Slack-Retry-Reason."""
    parent = next(m for m in served.sandbox.workspace.channels[APOLLO].messages if m.user == MAYA)
    result = await served.control(
        "/sandbox/send/mention", {"text": "help", "thread_ts": parent.ts, "redeliver": 2}
    )
    assert [d["retry_num"] for d in result["deliveries"]] == [None, 1, 2]
    events = [r for r in served.bot.received if r.path == "/slack/events"]
    assert len(events) == 3
    assert len({r.json()["event_id"] for r in events}) == 1
    assert events[0].json()["event"]["thread_ts"] == parent.ts
    assert [r.headers.get("x-slack-retry-num") for r in events] == [None, "1", "2"]
    assert events[1].headers["x-slack-retry-reason"] == "http_timeout"
    assert all(r.signature_valid for r in events)


async def test_no_app_mention_where_the_bot_is_not_a_member(served: Served) -> None:
    """Slack sends app_mention only from channels the app is in: stored, not delivered."""
    result = await served.control("/sandbox/send/mention", {"channel": NOT_MEMBER_CHANNEL_ID})
    assert result["delivered"] is False
    assert served.bot.received == []
    assert served.sandbox.workspace.channels[NOT_MEMBER_CHANNEL_ID].messages[-1].ts == result["ts"]


async def test_url_verification_reports_the_echo(served: Served) -> None:
    """send/url_verification says whether the bot answered the challenge."""
    echoed = await served.control("/sandbox/send/url_verification")
    assert echoed["echoed"] is True
    assert served.bot.received[-1].json()["type"] == "url_verification"
    served.bot.answers["/slack/events"] = (200, "text/plain", b"nope")
    assert (await served.control("/sandbox/send/url_verification"))["echoed"] is False


async def test_a_click_is_a_signed_block_actions_payload(served: Served) -> None:
    """send/action posts form field ``payload`` with block_actions, the clicked message and a
    response_url whose replace_original changes that message."""
    blocks = [
        {
            "type": "actions",
            "block_id": "run",
            "elements": [
                {
                    "type": "button",
                    "action_id": "rerun",
                    "text": {"type": "plain_text", "text": "Re-run"},
                    "value": "run-7",
                }
            ],
        }
    ]
    posted = await served.call("chat.postMessage", channel=APOLLO, text="Run failed", blocks=blocks)
    result = await served.control(
        "/sandbox/send/action",
        {"action_id": "rerun", "message_ts": posted["ts"], "channel_id": APOLLO},
    )
    received = served.bot.received[-1]
    assert received.path == "/slack/interactivity"
    assert received.signature_valid
    payload = json.loads(received.form()["payload"])
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == MAYA
    assert payload["channel"]["id"] == APOLLO
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": APOLLO,
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == posted["ts"]
    assert payload["message"]["blocks"] == blocks
    action = payload["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "rerun",
        "run",
        "run-7",
        "button",
    )
    assert "/actions/" in payload["response_url"]
    replaced = await served.http.post(
        result["response_url"], json={"text": "Re-running", "replace_original": True}
    )
    assert replaced.status_code == 200
    assert served.sandbox.workspace.channels[APOLLO].message(posted["ts"]).text == "Re-running"  # type: ignore[union-attr]


async def test_a_click_on_an_unknown_button_is_refused(served: Served) -> None:
    """send/action for an action_id the message does not have answers 400 and sends nothing."""
    posted = await served.call("chat.postMessage", channel=APOLLO, text="no buttons")
    response = await served.http.post(
        "/sandbox/send/action", json={"action_id": "nope", "message_ts": posted["ts"]}
    )
    assert response.status_code == 400
    assert served.bot.received == []


# -- other Slack clients -----------------------------------------------------------------


async def test_slack_sdks_own_methods_work_unchanged(served: Served) -> None:
    """slack-sdk's AsyncWebClient, used as its docs show, works against the sandbox."""
    client = AsyncWebClient(token=TOKEN, base_url=f"{served.sandbox.public_url}/api/")
    assert (await client.auth_test())["bot_id"] == BOT.bot_id
    posted = await client.chat_postMessage(channel=APOLLO, text="from slack-sdk")
    await client.chat_postMessage(channel=APOLLO, text="a reply", thread_ts=posted["ts"])
    thread = await client.conversations_replies(channel=APOLLO, ts=posted["ts"])
    assert [m["text"] for m in thread["messages"]] == ["from slack-sdk", "a reply"]
    channels = await client.conversations_list(exclude_archived=True)
    assert APOLLO in {c["id"] for c in channels["channels"]}
    user = await client.users_info(user=MAYA)
    assert user["user"]["profile"]["email"] == "maya.patel@example.com"
    listed = [m["id"] async for page in await client.users_list(limit=4) for m in page["members"]]
    assert listed == [*(u.id for u in DEMO_USERS), BOT.user_id]
    ephemeral = await client.chat_postEphemeral(channel=APOLLO, user=MAYA, text="psst")
    assert TS_RE.match(ephemeral["message_ts"])
    assert served.sandbox.ephemeral[-1].text == "psst"
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=NOT_MEMBER_CHANNEL_ID, text="x")
    assert caught.value.response["error"] == "not_in_channel"
    pages = 0
    async for page in await client.conversations_history(channel=CYGNUS, limit=50):
        pages += 1
        assert page["ok"]
    assert pages == -(-len(top_level_newest_first(served.sandbox, CYGNUS)) // 50)


async def test_post_ephemeral_checks_the_user_is_in_the_channel(served: Served) -> None:
    """chat.postEphemeral needs a known user in the channel (user_not_found, user_not_in_channel)."""
    stranger = await served.call("chat.postEphemeral", channel=APOLLO, user="U0NOBODY01", text="x")
    assert stranger["error"] == "user_not_found"
    served.sandbox.workspace.channels[APOLLO].members.remove(MAYA)
    absent = await served.call("chat.postEphemeral", channel=APOLLO, user=MAYA, text="x")
    assert absent["error"] == "user_not_in_channel"
