"""The Slack connector's actions over the in-memory fake: input checks, Block Kit limits,
paging, idempotency and the mapping of Slack's errors."""

from __future__ import annotations

from typing import Any

import pytest

from dataworkflows.connectors.slack.fake import FAKE_BOT_ID, FAKE_BOT_USER, FakeSlack
from dataworkflows.connectors.slack.port import (
    SlackAuthError,
    SlackError,
    SlackInvalidRequest,
    SlackNotFound,
    SlackRateLimited,
    SlackResponseUrlGone,
    SlackUnavailable,
)
from dataworkflows.connectors.slack.service import slack_actions
from dataworkflows.contracts import ActionContext, ActionFailed, ActionRequest
from dataworkflows.contracts.approvals import (
    APPROVAL_BLOCK,
    APPROVE_ACTION,
    REJECT_ACTION,
    ApprovalRef,
    decode_ref,
)
from dataworkflows.runtime.actions import ActionSet

CHANNEL = "C0TESTCHAN"
HOOK = "https://hooks.slack.com/commands/T0TEST/123/secret"


@pytest.fixture
def fake() -> FakeSlack:
    slack = FakeSlack()
    slack.add_channel(CHANNEL, messages=30)
    slack.add_channel("C0NOTMEMBR", member=False)
    return slack


@pytest.fixture
def actions(fake: FakeSlack) -> ActionSet:
    return slack_actions(fake, page_size=7)


async def invoke(
    actions: ActionSet, action: str, key: str | None = None, **data: Any
) -> dict[str, Any]:
    return await actions.invoke(action, ActionRequest(input=data, idempotency_key=key))


async def failure(actions: ActionSet, action: str, **data: Any) -> ActionFailed:
    with pytest.raises(ActionFailed) as caught:
        await invoke(actions, action, **data)
    return caught.value


def test_the_catalog_is_the_agreed_contract(actions: ActionSet) -> None:
    """The six actions exist with the field names the Slack bot and workflows rely on."""
    catalog = {a.name: a for a in actions.catalog().actions}
    assert list(catalog) == [
        "slack.post_message",
        "slack.update_message",
        "slack.request_approval",
        "slack.list_messages",
        "slack.list_users",
        "slack.respond",
    ]
    assert {a.name: a.effect for a in catalog.values()} == {
        "slack.post_message": "write",
        "slack.update_message": "write",
        "slack.request_approval": "write",
        "slack.list_messages": "read",
        "slack.list_users": "read",
        "slack.respond": "write",
    }

    def fields(action: str) -> set[str]:
        schema = catalog[action].input_schema
        name = schema["$ref"].rsplit("/", 1)[-1]
        return set(schema["$defs"][name]["properties"])

    assert fields("slack.post_message") == {
        "channel",
        "text",
        "blocks",
        "thread_ts",
        "reply_broadcast",
        "unfurl_links",
    }
    assert fields("slack.update_message") == {"channel", "ts", "text", "blocks"}
    assert fields("slack.list_messages") == {"channel", "oldest", "latest", "limit"}
    assert fields("slack.list_users") == {"include_bots", "include_deleted", "limit"}
    assert fields("slack.respond") == {
        "response_url",
        "text",
        "blocks",
        "response_type",
        "replace_original",
        "delete_original",
        "thread_ts",
    }


async def test_post_message_needs_text_or_blocks(actions: ActionSet, fake: FakeSlack) -> None:
    """Neither text nor blocks is invalid_input naming both fields; Slack is not called."""
    error = await failure(actions, "post_message", channel=CHANNEL)
    assert error.error.code == "invalid_input"
    assert "text or blocks" in error.error.message
    assert fake.calls == []


@pytest.mark.parametrize(
    ("blocks", "names"),
    [
        ([{"type": "divider"}] * 51, "blocks: 51 blocks"),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            "blocks[0].text.text",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "blocks[0].fields",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            "blocks[0].fields[0].text",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "blocks[0].text.text",
        ),
        ([{"type": "divider", "block_id": "b" * 256}], "blocks[0].block_id"),
        (
            [{"type": "divider", "block_id": "x"}, {"type": "divider", "block_id": "x"}],
            "blocks[1].block_id",
        ),
        ([{"type": "section"}], "blocks[0]: a section needs"),
        ([{"text": "no type"}], "blocks[0]: each block"),
    ],
)
async def test_block_kit_limits_are_named(
    actions: ActionSet, fake: FakeSlack, blocks: list[dict[str, Any]], names: str
) -> None:
    """Blocks over Slack's documented limits are invalid_input saying which block and why."""
    for action, extra in (("post_message", {}), ("update_message", {"ts": "1.000001"})):
        error = await failure(actions, action, channel=CHANNEL, blocks=blocks, **extra)
        assert error.error.code == "invalid_input"
        assert names in error.error.message
        assert error.error.retryable is False
    assert fake.calls == []


async def test_text_over_40000_characters_is_refused(actions: ActionSet) -> None:
    """Text longer than Slack takes is invalid_input naming text."""
    error = await failure(actions, "post_message", channel=CHANNEL, text="x" * 40_001)
    assert error.error.message.startswith("text:")


async def test_blocks_at_the_limits_pass(actions: ActionSet, fake: FakeSlack) -> None:
    """Exactly 50 blocks and a 3,000-character section are within Slack's limits."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}] + [
        {"type": "divider"}
    ] * 49
    posted = await invoke(actions, "post_message", channel=CHANNEL, blocks=blocks)
    assert posted["channel"] == CHANNEL
    assert fake.calls == ["post_message"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": CHANNEL, "text": "x", "colour": "red"}, "colour"),
        ({"channel": "", "text": "x"}, "channel"),
        ({"channel": CHANNEL, "text": "x", "thread_ts": "yesterday"}, "thread_ts"),
        ({"channel": CHANNEL, "text": 5}, "text"),
    ],
)
async def test_malformed_input_names_the_field(
    actions: ActionSet, data: dict[str, Any], field: str
) -> None:
    """Unknown or ill-typed fields are invalid_input naming the field."""
    error = await failure(actions, "post_message", **data)
    assert error.error.code == "invalid_input"
    assert field in error.error.message


@pytest.mark.parametrize("limit", [0, 1001])
async def test_list_limit_is_between_1_and_1000(actions: ActionSet, limit: int) -> None:
    """list_messages refuses a limit outside 1..1000."""
    error = await failure(actions, "list_messages", channel=CHANNEL, limit=limit)
    assert error.error.code == "invalid_input"
    assert "limit" in error.error.message


async def test_listing_stops_at_the_limit_and_says_there_is_more(
    actions: ActionSet, fake: FakeSlack
) -> None:
    """list_messages takes pages until limit, newest first, and reports has_more."""
    listed = await invoke(actions, "list_messages", channel=CHANNEL, limit=10)
    assert listed["count"] == 10
    assert listed["has_more"] is True
    assert [m["text"] for m in listed["messages"]][:2] == ["message 30", "message 29"]
    everything = await invoke(actions, "list_messages", channel=CHANNEL, limit=1000)
    assert everything["count"] == 30
    assert everything["has_more"] is False
    exact = await invoke(actions, "list_messages", channel=CHANNEL, limit=30)
    assert (exact["count"], exact["has_more"]) == (30, False)


async def test_a_retried_post_is_not_posted_twice(actions: ActionSet, fake: FakeSlack) -> None:
    """The same idempotency key returns the first post's ts without posting again."""
    first = await invoke(actions, "post_message", key="run-1/step-2/0", channel=CHANNEL, text="hi")
    again = await invoke(actions, "post_message", key="run-1/step-2/0", channel=CHANNEL, text="hi")
    other = await invoke(actions, "post_message", key="run-1/step-3/0", channel=CHANNEL, text="hi")
    assert first == again != other
    assert fake.calls == ["post_message", "post_message"]
    assert [m.bot_id for m in fake.channels[CHANNEL].messages[-2:]] == [FAKE_BOT_ID] * 2


async def test_a_retried_response_is_not_sent_twice(actions: ActionSet, fake: FakeSlack) -> None:
    """respond with a known idempotency key does not spend another of the URL's 5 uses."""
    for _ in range(3):
        await invoke(actions, "respond", key="run-9/reply/0", response_url=HOOK, text="ok")
    assert len(fake.responses[HOOK]) == 1


async def test_respond_sends_slacks_fields(actions: ActionSet, fake: FakeSlack) -> None:
    """respond sends text/blocks, response_type and both replace/delete flags explicitly."""
    await invoke(actions, "respond", response_url=HOOK, text="done", response_type="in_channel")
    await invoke(actions, "respond", response_url=HOOK, delete_original=True)
    assert fake.responses[HOOK] == [
        {
            "text": "done",
            "response_type": "in_channel",
            "replace_original": False,
            "delete_original": False,
        },
        {"response_type": "ephemeral", "replace_original": False, "delete_original": True},
    ]


async def test_respond_refuses_urls_that_are_not_slacks(actions: ActionSet) -> None:
    """A response_url off hooks.slack.com is invalid_input naming response_url."""
    error = await failure(actions, "respond", response_url="https://example.com/hook", text="x")
    assert error.error.code == "invalid_input"
    assert error.error.message.startswith("response_url:")


async def test_respond_needs_something_to_say(actions: ActionSet) -> None:
    """Without text or blocks (and not deleting), respond is invalid_input."""
    error = await failure(actions, "respond", response_url=HOOK)
    assert error.error.code == "invalid_input"


@pytest.mark.parametrize(
    ("raised", "code", "retryable", "upstream"),
    [
        (SlackAuthError("refused", code="invalid_auth"), "auth_failed", False, "invalid_auth"),
        (SlackAuthError("refused", code="token_revoked"), "auth_failed", False, "token_revoked"),
        (SlackNotFound("gone", code="channel_not_found"), "not_found", False, "channel_not_found"),
        (
            SlackInvalidRequest("no", code="not_in_channel"),
            "invalid_input",
            False,
            "not_in_channel",
        ),
        (SlackInvalidRequest("no", code="is_archived"), "invalid_input", False, "is_archived"),
        (SlackInvalidRequest("no", code="msg_too_long"), "invalid_input", False, "msg_too_long"),
        (SlackResponseUrlGone("used", code="used_url"), "invalid_input", False, "used_url"),
        (SlackUnavailable("down"), "upstream_unavailable", True, None),
        (SlackError("odd", code="weird_error"), "upstream_error", False, "weird_error"),
    ],
)
async def test_slack_errors_become_typed_action_errors(
    actions: ActionSet,
    fake: FakeSlack,
    raised: SlackError,
    code: str,
    retryable: bool,
    upstream: str | None,
) -> None:
    """Each Slack error maps to the connector API's code, retryability and upstream_code."""
    fake.fail_next.append(raised)
    error = await failure(actions, "post_message", channel=CHANNEL, text="x")
    assert error.error.code == code
    assert error.error.retryable is retryable
    assert error.error.upstream_code == upstream
    assert error.error.message == raised.message


async def test_rate_limits_carry_the_wait(actions: ActionSet, fake: FakeSlack) -> None:
    """ratelimited is rate_limited, retryable, with retry_after_s from Retry-After."""
    fake.fail_next.append(SlackRateLimited("slow down", retry_after=42, code="ratelimited"))
    error = await failure(actions, "list_messages", channel=CHANNEL)
    assert (error.error.code, error.error.retryable, error.error.retry_after_s) == (
        "rate_limited",
        True,
        42,
    )
    assert error.error.upstream_code == "ratelimited"


async def test_channel_errors_from_the_fake(actions: ActionSet) -> None:
    """A channel the bot is not in gives upstream_code not_in_channel (the bot's fallback cue)."""
    error = await failure(actions, "post_message", channel="C0NOTMEMBR", text="x")
    assert (error.error.code, error.error.upstream_code) == ("invalid_input", "not_in_channel")
    error = await failure(actions, "post_message", channel="C0NOSUCHCH", text="x")
    assert (error.error.code, error.error.upstream_code) == ("not_found", "channel_not_found")


# -- users -------------------------------------------------------------------------------


def add_people(fake: FakeSlack, count: int) -> list[str]:
    """``count`` people (U0PERSON01...), each with a handle, a real and a display name."""
    ids = []
    for n in range(1, count + 1):
        user = fake.add_user(
            f"U0PERSON{n:02d}",
            f"person.{n}",
            real_name=f"Person {n}",
            display_name=f"P{n}",
            tz="Europe/Berlin",
        )
        ids.append(user.id)
    return ids


@pytest.fixture
def workspace(fake: FakeSlack) -> FakeSlack:
    """Ten people (over two pages of 7), an app's bot, Slackbot and a deactivated user."""
    add_people(fake, 5)
    fake.add_user(FAKE_BOT_USER, "dataworkflows", real_name="Data Workflows", is_bot=True)
    fake.add_user("USLACKBOT", "slackbot", real_name="Slackbot", is_bot=True)
    fake.add_user("U0GONE0001", "former.colleague", real_name="Former Colleague", deleted=True)
    for n in range(6, 11):
        fake.add_user(f"U0PERSON{n:02d}", f"person.{n}", real_name=f"Person {n}")
    return fake


async def test_list_users_lists_people_with_their_names(
    actions: ActionSet, workspace: FakeSlack
) -> None:
    """list_users gives each person's id, handle, real and display name, across pages."""
    listed = await invoke(actions, "list_users")
    assert listed["count"] == len(listed["users"]) == 10
    assert [u["id"] for u in listed["users"]] == [f"U0PERSON{n:02d}" for n in range(1, 11)]
    assert listed["users"][0] == {
        "id": "U0PERSON01",
        "name": "person.1",
        "real_name": "Person 1",
        "display_name": "P1",
        "is_bot": False,
        "deleted": False,
    }
    assert listed["users"][-1]["display_name"] == ""
    assert workspace.calls == ["user_pages", "user_pages"]


async def test_list_users_leaves_out_bots_and_deactivated_users_by_default(
    actions: ActionSet, workspace: FakeSlack
) -> None:
    """Bots and deleted users are listed only when include_bots / include_deleted ask."""
    default = {u["id"] for u in (await invoke(actions, "list_users"))["users"]}
    assert not default & {FAKE_BOT_USER, "USLACKBOT", "U0GONE0001"}
    bots = await invoke(actions, "list_users", include_bots=True)
    assert {u["id"] for u in bots["users"]} - default == {FAKE_BOT_USER, "USLACKBOT"}
    assert all(u["is_bot"] for u in bots["users"] if u["id"] in (FAKE_BOT_USER, "USLACKBOT"))
    gone = await invoke(actions, "list_users", include_deleted=True)
    assert {u["id"] for u in gone["users"]} - default == {"U0GONE0001"}
    everyone = await invoke(actions, "list_users", include_bots=True, include_deleted=True)
    assert everyone["count"] == len(workspace.users) == 13


async def test_list_users_stops_at_the_limit(actions: ActionSet, workspace: FakeSlack) -> None:
    """limit counts listed users (after filtering) and no page is fetched past it."""
    listed = await invoke(actions, "list_users", limit=4)
    assert [u["id"] for u in listed["users"]] == [f"U0PERSON{n:02d}" for n in range(1, 5)]
    assert listed["count"] == 4
    assert workspace.calls == ["user_pages"]
    workspace.calls.clear()
    seventh = await invoke(actions, "list_users", limit=7)
    assert seventh["users"][-1]["id"] == "U0PERSON07"
    assert workspace.calls == ["user_pages", "user_pages"]
    more_than_all = await invoke(actions, "list_users", limit=500)
    assert more_than_all["count"] == 10


@pytest.mark.parametrize(
    ("data", "field"),
    [({"limit": 0}, "limit"), ({"include_bots": "yes"}, "include_bots"), ({"team": "T"}, "team")],
)
async def test_list_users_refuses_malformed_input(
    actions: ActionSet, data: dict[str, Any], field: str
) -> None:
    """A limit below 1, a non-boolean flag or an unknown field is invalid_input naming it."""
    error = await failure(actions, "list_users", **data)
    assert error.error.code == "invalid_input"
    assert field in error.error.message


async def test_list_users_maps_slacks_errors(actions: ActionSet, workspace: FakeSlack) -> None:
    """users.list's rate limit is rate_limited with its wait; a bad token auth_failed."""
    workspace.fail_next.append(SlackRateLimited("slow down", retry_after=20, code="ratelimited"))
    error = await failure(actions, "list_users")
    assert (error.error.code, error.error.retryable, error.error.retry_after_s) == (
        "rate_limited",
        True,
        20,
    )
    workspace.fail_next.append(SlackAuthError("invalid_auth", code="invalid_auth"))
    error = await failure(actions, "list_users")
    assert (error.error.code, error.error.retryable, error.error.upstream_code) == (
        "auth_failed",
        False,
        "invalid_auth",
    )


class BlockKeepingSlack(FakeSlack):
    """The fake, keeping the blocks of each posted message."""

    def __init__(self) -> None:
        super().__init__()
        self.posted_blocks: list[list[dict[str, Any]] | None] = []

    async def post_message(self, channel: str, **fields: Any) -> Any:
        self.posted_blocks.append(fields.get("blocks"))
        return await super().post_message(channel, **fields)


async def test_an_approval_request_carries_its_run_and_approvers_on_both_buttons() -> None:
    """The buttons name the run, the signal and the approvers (the bot trusts them, as
    Slack signs the click); a retried step posts once; outside a run it is refused."""
    fake = BlockKeepingSlack()
    fake.add_channel(CHANNEL)
    actions = slack_actions(fake)
    request = ActionRequest(
        input={"channel": CHANNEL, "text": "Ship it?", "approvers": ["U07MAYA001", "U07MAYA001"]},
        idempotency_key="run-1:ask:-1",
        context=ActionContext(
            run_id="3f2b0c4e-0000-4000-8000-000000000001", step_id="ask", attempt=1
        ),
    )
    first = await actions.invoke("request_approval", request)
    assert first == await actions.invoke("request_approval", request)
    assert first["approvers"] == ["U07MAYA001"]
    assert first["signal"] == "approval"
    assert len(fake.posted_blocks) == 1
    buttons = [
        element
        for block in fake.posted_blocks[0] or []
        if block.get("block_id") == APPROVAL_BLOCK
        for element in block["elements"]
    ]
    assert [b["action_id"] for b in buttons] == [APPROVE_ACTION, REJECT_ACTION]
    refs = {b["value"] for b in buttons}
    assert len(refs) == 1
    ref = decode_ref(refs.pop())
    assert ref == ApprovalRef(
        run="3f2b0c4e-0000-4000-8000-000000000001", signal="approval", approvers=["U07MAYA001"]
    )
    outside = await failure(
        actions, "request_approval", channel=CHANNEL, text="?", approvers=["U1AB"]
    )
    assert outside.error.code == "invalid_input"
    no_one = await failure(actions, "request_approval", channel=CHANNEL, text="?", approvers=[])
    assert "approvers" in no_one.error.message
