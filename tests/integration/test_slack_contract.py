"""The real Slack client (slack-sdk's AsyncWebClient) and the connector's actions against
the Slack sandbox process over HTTP: messages, paging, threads, response_urls, errors
and waits."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import stamina

from dataworkflows.connectors.slack.client import SlackClient
from dataworkflows.connectors.slack.component import connector_parts
from dataworkflows.connectors.slack.port import (
    ResponseMessage,
    SlackInvalidRequest,
    SlackRateLimited,
)
from dataworkflows.connectors.slack.service import slack_actions
from dataworkflows.connectors.slack.spec import SlackSettings
from dataworkflows.contracts import ActionContext, ActionFailed, ActionRequest
from dataworkflows.runtime.actions import ActionSet
from tests.support.net import free_port
from tests.support.slack import (
    APOLLO_CHANNEL,
    ARCHIVED_CHANNEL,
    BOT_ID,
    BOT_USER_ID,
    CYGNUS_CHANNEL,
    MAYA,
    NOT_MEMBER_CHANNEL,
    SANDBOX_BOT_TOKEN,
    SlackSandboxControl,
    slack_sandbox_process,
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackSandboxControl]:
    with slack_sandbox_process(tmp_path_factory.mktemp("slack")) as control:
        yield control


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox: SlackSandboxControl) -> None:
    """Every test starts from the seeded workspace, with no faults."""
    sandbox.reset()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
        yield client


@pytest.fixture
def retries() -> Iterator[None]:
    """stamina's testing mode, with up to 3 attempts (no real waiting)."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(True)


def client_for(sandbox: SlackSandboxControl, http: httpx.AsyncClient, **kwargs: Any) -> SlackClient:
    options: dict[str, Any] = {"token": SANDBOX_BOT_TOKEN, "base_url": sandbox.api, **kwargs}
    return SlackClient(http=http, **options)


def actions_for(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, *, page_size: int = 200, **kwargs: Any
) -> ActionSet:
    return slack_actions(client_for(sandbox, http, **kwargs), page_size=page_size)


async def invoke(actions: ActionSet, action: str, **data: Any) -> dict[str, Any]:
    return await actions.invoke(action, ActionRequest(input=data))


async def failure(actions: ActionSet, action: str, **data: Any) -> ActionFailed:
    with pytest.raises(ActionFailed) as caught:
        await invoke(actions, action, **data)
    return caught.value


def top_level(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What conversations.history lists: no thread replies except broadcasts."""
    return [
        m
        for m in messages
        if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
    ]


# -- messages ----------------------------------------------------------------------------


async def test_a_posted_message_is_listed_as_the_bots(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """post_message returns the channel and ts; list_messages shows it first, from the bot."""
    actions = actions_for(sandbox, http)
    posted = await invoke(actions, "post_message", channel=APOLLO_CHANNEL, text="Status: all green")
    assert posted["channel"] == APOLLO_CHANNEL
    listed = await invoke(actions, "list_messages", channel=APOLLO_CHANNEL, limit=3)
    newest = listed["messages"][0]
    assert newest["ts"] == posted["ts"]
    assert newest["text"] == "Status: all green"
    assert newest["bot_id"] == BOT_ID
    assert newest["user"] == BOT_USER_ID
    assert listed["count"] == 3
    assert listed["has_more"] is True
    post = sandbox.requests("api")[0]
    assert post["method"] == "chat.postMessage"
    assert post["auth"] == "header"
    assert post["content_type"].startswith("application/json")


async def test_blocks_only_messages_are_posted(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """A message of Block Kit blocks and no text is posted with its blocks intact."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Apollo*: on track"}}]
    actions = actions_for(sandbox, http)
    posted = await invoke(actions, "post_message", channel=APOLLO_CHANNEL, blocks=blocks)
    stored = next(m for m in sandbox.channel_messages(APOLLO_CHANNEL) if m["ts"] == posted["ts"])
    assert stored["blocks"] == blocks


async def test_listing_follows_cursors_across_pages(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """list_messages follows next_cursor page after page, newest first, each message once."""
    actions = actions_for(sandbox, http, page_size=25)
    listed = await invoke(actions, "list_messages", channel=CYGNUS_CHANNEL, limit=120)
    timestamps = [m["ts"] for m in listed["messages"]]
    assert listed["count"] == len(timestamps) == 120
    assert listed["has_more"] is True
    assert len(set(timestamps)) == 120
    assert timestamps == sorted(timestamps, key=float, reverse=True)
    calls = [r for r in sandbox.requests("api") if r["method"] == "conversations.history"]
    assert len(calls) == 5
    assert "cursor" not in calls[0]["params"]
    assert all(c["params"]["cursor"] for c in calls[1:])
    expected = top_level(sandbox.channel_messages(CYGNUS_CHANNEL))
    assert timestamps == [m["ts"] for m in reversed(expected)][:120]


async def test_listing_everything_ends_without_more(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """With a limit above the channel's size, every top-level message comes back, has_more false."""
    actions = actions_for(sandbox, http, page_size=40)
    listed = await invoke(actions, "list_messages", channel=CYGNUS_CHANNEL, limit=1000)
    expected = top_level(sandbox.channel_messages(CYGNUS_CHANNEL))
    assert listed["count"] == len(expected) > 100
    assert listed["has_more"] is False
    assert {m["ts"] for m in listed["messages"]} == {m["ts"] for m in expected}


async def test_listing_a_time_window(sandbox: SlackSandboxControl, http: httpx.AsyncClient) -> None:
    """oldest and latest bound the listing, exclusively, as Slack does."""
    expected = top_level(sandbox.channel_messages(APOLLO_CHANNEL))
    oldest, latest = expected[10]["ts"], expected[20]["ts"]
    actions = actions_for(sandbox, http)
    listed = await invoke(
        actions, "list_messages", channel=APOLLO_CHANNEL, oldest=oldest, latest=latest
    )
    assert [m["ts"] for m in listed["messages"]] == [m["ts"] for m in reversed(expected[11:20])]


async def test_thread_replies_count_on_the_parent(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """A reply with thread_ts is not listed itself; its parent's reply_count goes up."""
    actions = actions_for(sandbox, http)
    parent = await invoke(actions, "post_message", channel=APOLLO_CHANNEL, text="Release 2.4")
    reply = await invoke(
        actions, "post_message", channel=APOLLO_CHANNEL, text="Notes", thread_ts=parent["ts"]
    )
    broadcast = await invoke(
        actions,
        "post_message",
        channel=APOLLO_CHANNEL,
        text="Shipped!",
        thread_ts=parent["ts"],
        reply_broadcast=True,
    )
    listed = await invoke(actions, "list_messages", channel=APOLLO_CHANNEL, limit=5)
    by_ts = {m["ts"]: m for m in listed["messages"]}
    assert by_ts[parent["ts"]]["reply_count"] == 2
    assert by_ts[parent["ts"]]["thread_ts"] == parent["ts"]
    assert reply["ts"] not in by_ts
    assert by_ts[broadcast["ts"]]["subtype"] == "thread_broadcast"
    stored = {m["ts"]: m for m in sandbox.channel_messages(APOLLO_CHANNEL)}
    assert stored[reply["ts"]]["thread_ts"] == parent["ts"]
    assert stored[reply["ts"]]["parent_user_id"] == BOT_USER_ID


async def test_update_changes_the_bots_message(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """update_message replaces the text of a message the bot posted and marks it edited."""
    actions = actions_for(sandbox, http)
    posted = await invoke(actions, "post_message", channel=APOLLO_CHANNEL, text="Running...")
    updated = await invoke(
        actions, "update_message", channel=APOLLO_CHANNEL, ts=posted["ts"], text="Done"
    )
    assert updated == posted
    stored = next(m for m in sandbox.channel_messages(APOLLO_CHANNEL) if m["ts"] == posted["ts"])
    assert stored["text"] == "Done"
    assert stored["edited"]["user"] == BOT_USER_ID


async def test_an_approval_asked_of_a_person_goes_to_their_dm(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """request_approval with the approver's user id as channel (monday-to-tracker-
    confirmed's default) asks in the bot's DM with them; the outcome is then shown by
    update_message on the DM it answered with."""
    actions = actions_for(sandbox, http)
    asked = await actions.invoke(
        "request_approval",
        ActionRequest(
            input={"channel": MAYA, "text": "Sync 29 items?", "approvers": [MAYA]},
            idempotency_key="run-1:ask:-1",
            context=ActionContext(run_id="run-1", step_id="ask", attempt=1),
        ),
    )
    dm = asked["channel"]
    assert dm.startswith("D")
    assert asked["approvers"] == [MAYA]
    await invoke(actions, "update_message", channel=dm, ts=asked["ts"], text="Approved")
    [message] = sandbox.channel_messages(dm)
    assert (message["ts"], message["text"]) == (asked["ts"], "Approved")


async def test_updating_someone_elses_message_is_refused(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """chat.update of a person's message is cant_update_message: invalid_input, not retried."""
    person = next(m for m in sandbox.channel_messages(APOLLO_CHANNEL) if m.get("user") == MAYA)
    error = await failure(
        actions_for(sandbox, http),
        "update_message",
        channel=APOLLO_CHANNEL,
        ts=person["ts"],
        text="x",
    )
    assert error.error.code == "invalid_input"
    assert error.error.upstream_code == "cant_update_message"
    assert error.error.retryable is False
    assert len(sandbox.requests("api")) == 1


async def test_updating_a_missing_message_is_not_found(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """chat.update of a ts that does not exist is not_found (message_not_found)."""
    error = await failure(
        actions_for(sandbox, http),
        "update_message",
        channel=APOLLO_CHANNEL,
        ts="1000000000.000001",
        text="x",
    )
    assert error.error.code == "not_found"
    assert error.error.upstream_code == "message_not_found"


# -- users -------------------------------------------------------------------------------


async def test_list_users_follows_cursors_across_pages(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """list_users pages users.list (3 a page) and names every person once; the bot user
    is listed only with include_bots."""
    people = sandbox.workspace()["users"]
    actions = actions_for(sandbox, http, page_size=3)
    listed = await invoke(actions, "list_users")
    assert listed["count"] == len(people) == 7
    assert listed["users"] == [
        {
            "id": p["id"],
            "name": p["name"],
            "real_name": p["real_name"],
            "display_name": p["name"],
            "is_bot": False,
            "deleted": False,
        }
        for p in people
    ]
    calls = [r for r in sandbox.requests("api") if r["method"] == "users.list"]
    assert len(calls) == 3
    assert [c["params"]["limit"] for c in calls] == ["3", "3", "3"]
    assert "cursor" not in calls[0]["params"]
    assert all(c["params"]["cursor"] for c in calls[1:])
    assert {(c["http_method"], c["auth"]) for c in calls} == {("GET", "header")}
    with_bots = await invoke(actions, "list_users", include_bots=True)
    assert with_bots["users"][-1]["id"] == BOT_USER_ID
    assert with_bots["users"][-1]["is_bot"] is True


async def test_list_users_stops_fetching_at_the_limit(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """With limit 4 and pages of 3, list_users stops after the second page."""
    listed = await invoke(actions_for(sandbox, http, page_size=3), "list_users", limit=4)
    assert [u["id"] for u in listed["users"]] == [u["id"] for u in sandbox.workspace()["users"]][:4]
    assert len([r for r in sandbox.requests("api") if r["method"] == "users.list"]) == 2


async def test_a_rate_limit_mid_listing_is_waited_out_and_paging_resumes(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """A 429 on a later users.list page is retried after Retry-After with the same cursor,
    so no user is skipped or listed twice."""
    client = client_for(sandbox, http, attempts=2)
    stamina.set_testing(False)
    try:
        pages = client.user_pages(page_size=3)
        first = await anext(pages)
        sandbox.fault("ratelimited", times=1, retry_after=1, method="users.list")
        started = time.monotonic()
        rest = [u async for page in pages for u in page.users]
        elapsed = time.monotonic() - started
    finally:
        stamina.set_testing(True)
    assert elapsed >= 1.0
    ids = [u.id for u in [*first.users, *rest]]
    assert ids == [*(u["id"] for u in sandbox.workspace()["users"]), BOT_USER_ID]
    calls = [r for r in sandbox.requests("api") if r["method"] == "users.list"]
    assert [c["status"] for c in calls] == [200, 429, 200, 200]
    assert calls[1]["params"]["cursor"] == calls[2]["params"]["cursor"] == first.next_cursor


@pytest.mark.parametrize("fault", [False, True])
async def test_list_users_with_a_refused_token_is_auth_failed(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, retries: None, fault: bool
) -> None:
    """invalid_auth from users.list is auth_failed, not retried, without the token."""
    token = SANDBOX_BOT_TOKEN if fault else "xoxb-not-the-sandbox-token-42"
    if fault:
        sandbox.fault("invalid_auth", times=1, method="users.list")
    error = await failure(actions_for(sandbox, http, token=token), "list_users")
    assert error.error.code == "auth_failed"
    assert error.error.upstream_code == "invalid_auth"
    assert error.error.retryable is False
    assert token not in error.error.message
    assert len(sandbox.requests("api")) == 1


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "channel", "code", "upstream"),
    [
        ("post_message", "C0NOSUCHCH", "not_found", "channel_not_found"),
        ("post_message", NOT_MEMBER_CHANNEL, "invalid_input", "not_in_channel"),
        ("post_message", ARCHIVED_CHANNEL, "invalid_input", "is_archived"),
        ("list_messages", NOT_MEMBER_CHANNEL, "invalid_input", "not_in_channel"),
        ("list_messages", "C0NOSUCHCH", "not_found", "channel_not_found"),
    ],
)
async def test_channel_errors_map_and_are_not_retried(
    sandbox: SlackSandboxControl,
    http: httpx.AsyncClient,
    retries: None,
    action: str,
    channel: str,
    code: str,
    upstream: str,
) -> None:
    """Slack's channel errors become typed errors with upstream_code, after one request."""
    data: dict[str, Any] = {"channel": channel}
    if action == "post_message":
        data["text"] = "hello"
    error = await failure(actions_for(sandbox, http), action, **data)
    assert error.error.code == code
    assert error.error.upstream_code == upstream
    assert error.error.retryable is False
    assert len(sandbox.requests("api")) == 1


@pytest.mark.parametrize(
    ("token", "upstream"), [("xoxb-not-the-sandbox-token-42", "invalid_auth"), ("", "not_authed")]
)
async def test_bad_or_missing_tokens_are_auth_failures(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, retries: None, token: str, upstream: str
) -> None:
    """A wrong token is invalid_auth, a missing one not_authed: auth_failed, never retried."""
    actions = actions_for(sandbox, http, token=token)
    error = await failure(actions, "post_message", channel=APOLLO_CHANNEL, text="hi")
    assert error.error.code == "auth_failed"
    assert error.error.upstream_code == upstream
    assert error.error.retryable is False
    if token:
        assert token not in error.error.message
    assert len(sandbox.requests("api")) == 1


async def test_slack_refusing_blocks_is_invalid_input(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """Blocks the connector cannot judge (an unknown type) are refused by Slack: invalid_blocks."""
    client = client_for(sandbox, http)
    with pytest.raises(SlackInvalidRequest) as caught:
        await client.post_message(APOLLO_CHANNEL, blocks=[{"type": "carousel"}])
    assert caught.value.code == "invalid_blocks"
    error = await failure(
        slack_actions(client), "post_message", channel=APOLLO_CHANNEL, blocks=[{"type": "carousel"}]
    )
    assert error.error.upstream_code == "invalid_blocks"
    assert len(sandbox.requests("api")) == 2


async def test_block_kit_limits_are_checked_before_calling(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """51 blocks or a 3,001-character section are refused by the connector: no request made."""
    actions = actions_for(sandbox, http)
    divider = {"type": "divider"}
    error = await failure(actions, "post_message", channel=APOLLO_CHANNEL, blocks=[divider] * 51)
    assert error.error.code == "invalid_input"
    assert "50" in error.error.message
    long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    error = await failure(actions, "post_message", channel=APOLLO_CHANNEL, blocks=[long])
    assert "3,000" in error.error.message
    assert sandbox.requests() == []


@pytest.mark.parametrize(("text", "upstream"), [("", "no_text"), ("x" * 40_001, "msg_too_long")])
async def test_slack_refusing_text_is_invalid_input(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, text: str, upstream: str
) -> None:
    """Empty or over-long text sent through the port comes back as Slack's typed refusal."""
    with pytest.raises(SlackInvalidRequest) as caught:
        await client_for(sandbox, http).post_message(APOLLO_CHANNEL, text=text)
    assert caught.value.code == upstream


# -- waits and retries -------------------------------------------------------------------


async def test_a_rate_limit_is_waited_out(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """Outside testing mode, HTTP 429 is retried after at least Retry-After seconds."""
    stamina.set_testing(False)
    try:
        sandbox.fault("ratelimited", times=1, retry_after=1, method="chat.postMessage")
        started = time.monotonic()
        posted = await client_for(sandbox, http, attempts=2).post_message(
            APOLLO_CHANNEL, text="after the wait"
        )
        elapsed = time.monotonic() - started
    finally:
        stamina.set_testing(True)
    assert elapsed >= 1.0
    assert posted.ts
    assert [r["status"] for r in sandbox.requests("api")] == [429, 200]


async def test_a_long_rate_limit_goes_back_to_the_engine(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """A Retry-After beyond max_wait_s is not slept: rate_limited carries it, retryable."""
    sandbox.fault("ratelimited", times=1, retry_after=90)
    actions = actions_for(sandbox, http, max_wait_s=30)
    error = await failure(actions, "post_message", channel=APOLLO_CHANNEL, text="hi")
    assert error.error.code == "rate_limited"
    assert error.error.retryable is True
    assert error.error.retry_after_s == 90
    assert error.error.upstream_code == "ratelimited"
    assert len(sandbox.requests("api")) == 1


async def test_the_rate_limit_hint_is_what_slack_sent(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """The wait the client asks stamina for is at least the Retry-After header."""
    client = client_for(sandbox, http, attempts=1)
    sandbox.fault("ratelimited", times=1, retry_after=7)
    with pytest.raises(SlackRateLimited) as caught:
        await client.auth_test()
    assert caught.value.retry_after == 7
    wait = client._api._backoff(caught.value)
    assert isinstance(wait, float)
    assert 7 <= wait < 7.5


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, retries: None, status: int
) -> None:
    """5xx answers (Slack's JSON or a proxy's HTML page) are transient: retried, then it works."""
    sandbox.fault("server_error", times=2, status=status)
    posted = await client_for(sandbox, http).post_message(APOLLO_CHANNEL, text="eventually")
    assert posted.ts
    assert [r["status"] for r in sandbox.requests("api")] == [status, status, 200]


async def test_server_errors_that_last_are_upstream_unavailable(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """When every attempt fails with 5xx the action is upstream_unavailable, retryable."""
    sandbox.fault("server_error", times=5)
    error = await failure(actions_for(sandbox, http), "list_messages", channel=APOLLO_CHANNEL)
    assert error.error.code == "upstream_unavailable"
    assert error.error.retryable is True
    assert len(sandbox.requests("api")) == 3


async def test_an_unreachable_slack_is_upstream_unavailable(http: httpx.AsyncClient) -> None:
    """A connection refused is transient: upstream_unavailable, retryable."""
    client = SlackClient(
        token=SANDBOX_BOT_TOKEN, http=http, base_url=f"http://127.0.0.1:{free_port()}/api/"
    )
    error = await failure(slack_actions(client), "list_messages", channel=APOLLO_CHANNEL)
    assert error.error.code == "upstream_unavailable"
    assert error.error.retryable is True
    assert SANDBOX_BOT_TOKEN not in error.error.message


async def test_the_token_appears_in_no_error_and_no_log(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """No error message and nothing the sandbox recorded contains the bot token."""
    actions = actions_for(sandbox, http)
    messages = []
    sandbox.fault("server_error", times=1)
    sandbox.fault("invalid_auth", times=1)
    for data in (
        {"channel": APOLLO_CHANNEL, "text": "x"},
        {"channel": APOLLO_CHANNEL, "text": "x"},
        {"channel": NOT_MEMBER_CHANNEL, "text": "x"},
        {"channel": "C0NOSUCHCH", "text": "x"},
    ):
        messages.append((await failure(actions, "post_message", **data)).error.message)
    assert all(SANDBOX_BOT_TOKEN not in m for m in messages)
    assert SANDBOX_BOT_TOKEN not in json.dumps(sandbox.requests())


# -- response_url ------------------------------------------------------------------------


async def test_respond_in_channel_and_ephemeral(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """respond posts to a command's response_url: in_channel to history, ephemeral to the user."""
    url = sandbox.send_command("status apollo")["response_url"]
    actions = actions_for(sandbox, http)
    public = await invoke(
        actions, "respond", response_url=url, text="Apollo: on track", response_type="in_channel"
    )
    private = await invoke(actions, "respond", response_url=url, text="Only you see this")
    assert public == private == {"ok": True}
    history = sandbox.channel_messages(APOLLO_CHANNEL)
    assert history[-1]["text"] == "Apollo: on track"
    assert history[-1]["bot_id"] == BOT_ID
    ephemeral = sandbox.ephemeral()
    assert [(e["user"], e["channel"], e["text"]) for e in ephemeral] == [
        (MAYA, APOLLO_CHANNEL, "Only you see this")
    ]
    posted = sandbox.responses()[0]["posts"]
    assert [p["body"]["response_type"] for p in posted] == ["in_channel", "ephemeral"]


async def test_a_response_url_takes_five_messages(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """The sixth response is refused (used_url): invalid_input, not retried."""
    url = sandbox.send_command("status apollo")["response_url"]
    actions = actions_for(sandbox, http)
    for n in range(5):
        await invoke(actions, "respond", response_url=url, text=f"update {n}")
    error = await failure(actions, "respond", response_url=url, text="one too many")
    assert error.error.code == "invalid_input"
    assert error.error.upstream_code == "used_url"
    assert error.error.retryable is False
    assert len(sandbox.requests("response_url")) == 6
    assert sandbox.responses()[0]["uses"] == 5


async def test_an_expired_response_url_is_refused(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """After 30 minutes a response_url answers expired_url: invalid_input, not retryable."""
    url = sandbox.send_command("status apollo")["response_url"]
    sandbox.advance_clock(31 * 60)
    error = await failure(actions_for(sandbox, http), "respond", response_url=url, text="late")
    assert error.error.upstream_code == "expired_url"
    assert error.error.retryable is False


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/commands/T07DWDEMO1/1/secret",
        "https://hooks.slack.com.evil.example.com/commands/T/1/s",
        "https://hooks.slack.com@evil.example.com/commands/T/1/s",
        "http://hooks.slack.com/commands/T/1/s",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "https://hooks.slack.com\\@evil.example.com/",
    ],
)
async def test_respond_only_posts_to_slack(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, url: str
) -> None:
    """A response_url that is not Slack's is invalid_input naming the field; nothing is sent."""
    error = await failure(actions_for(sandbox, http), "respond", response_url=url, text="x")
    assert error.error.code == "invalid_input"
    assert "response_url" in error.error.message
    assert sandbox.requests() == []


async def test_respond_refuses_another_port_of_the_api_host(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """Only the configured API's exact scheme, host and port pass, not its neighbours."""
    url = sandbox.send_command("status apollo")["response_url"]
    host, port = url.split("/")[2].split(":")
    moved = url.replace(f"{host}:{port}", f"{host}:{int(port) + 1}")
    error = await failure(actions_for(sandbox, http), "respond", response_url=moved, text="x")
    assert error.error.code == "invalid_input"
    assert sandbox.requests("response_url") == []


async def test_respond_replaces_then_deletes_the_clicked_message(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """Through an action's response_url, replace_original and delete_original act on its message."""
    actions = actions_for(sandbox, http)
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Run the sync?"}},
        {
            "type": "actions",
            "block_id": "decide",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": "run-42",
                }
            ],
        },
    ]
    posted = await invoke(
        actions, "post_message", channel=APOLLO_CHANNEL, text="Run the sync?", blocks=blocks
    )
    click = sandbox.send_action("approve", posted["ts"], channel_id=APOLLO_CHANNEL)
    assert click["payload"]["actions"][0]["value"] == "run-42"
    assert click["payload"]["actions"][0]["block_id"] == "decide"
    await invoke(
        actions,
        "respond",
        response_url=click["response_url"],
        text="Approved",
        replace_original=True,
    )
    stored = {m["ts"]: m for m in sandbox.channel_messages(APOLLO_CHANNEL)}
    assert stored[posted["ts"]]["text"] == "Approved"
    await invoke(actions, "respond", response_url=click["response_url"], delete_original=True)
    assert posted["ts"] not in {m["ts"] for m in sandbox.channel_messages(APOLLO_CHANNEL)}


async def test_respond_rate_limits_are_retried(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """A 429 from a response_url is waited out and the response is posted once."""
    url = sandbox.send_command("status apollo")["response_url"]
    sandbox.fault("ratelimited", times=1, retry_after=1, method="response_url")
    await client_for(sandbox, http).respond(url, ResponseMessage(text="hello"))
    assert [r["status"] for r in sandbox.requests("response_url")] == [429, 200]
    assert sandbox.responses()[0]["uses"] == 1


# -- the component -----------------------------------------------------------------------


async def test_auth_test_says_who_the_bot_is(
    sandbox: SlackSandboxControl, http: httpx.AsyncClient
) -> None:
    """auth.test through the port returns the workspace and the bot's ids."""
    identity = await client_for(sandbox, http).auth_test()
    workspace = sandbox.workspace()
    assert identity.team_id == workspace["team"]["id"]
    assert identity.user_id == BOT_USER_ID
    assert identity.bot_id == BOT_ID


async def test_readiness_calls_auth_test(sandbox: SlackSandboxControl) -> None:
    """The component is ready with a good token and says why not (without the token) otherwise."""
    good = SlackSettings(bot_token=SANDBOX_BOT_TOKEN, api_url=sandbox.api)
    async with connector_parts(good) as parts:
        assert await parts.readiness["slack"]() is None
        assert parts.actions.names() == [
            "post_message",
            "update_message",
            "request_approval",
            "list_messages",
            "list_users",
            "respond",
        ]
    bad = SlackSettings(bot_token="xoxb-wrong-token-7", api_url=sandbox.api)
    async with connector_parts(bad) as parts:
        problem = await parts.readiness["slack"]()
    assert problem is not None
    assert "invalid_auth" in problem
    assert "xoxb-wrong-token-7" not in problem
    assert [r["method"] for r in sandbox.requests("api")] == ["auth.test", "auth.test"]
