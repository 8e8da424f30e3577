"""The Monday connector's actions over a fake port: paging, errors, idempotency."""

from __future__ import annotations

import pytest

from dataworkflows.connectors.monday.fake import FakeMonday, demo_board
from dataworkflows.connectors.monday.port import (
    MondayAuthError,
    MondayDailyLimit,
    MondayError,
    MondayInvalidInput,
    MondayNotFound,
    MondayRateLimited,
    MondayUnavailable,
)
from dataworkflows.connectors.monday.service import monday_actions
from dataworkflows.contracts import ActionContext, ActionFailed, ActionRequest


@pytest.fixture
def fake() -> FakeMonday:
    monday = FakeMonday()
    board, items = demo_board("100", items=1203)
    monday.add_board(board, items)
    return monday


async def test_list_items_follows_every_page(fake: FakeMonday) -> None:
    """All items come back across pages, in order, with the count."""
    actions = monday_actions(fake)
    output = await actions.invoke("list_items", ActionRequest(input={"board_id": "100"}))
    assert output["count"] == 1203
    assert [i["id"] for i in output["items"]] == [i.id for i in fake.items["100"]]
    assert output["items"][1]["columns"]["status"]["text"] == "Done"


async def test_list_items_limit_stops_early(fake: FakeMonday) -> None:
    """`limit` returns only the first items."""
    actions = monday_actions(fake)
    output = await actions.invoke(
        "list_items", ActionRequest(input={"board_id": "100", "limit": 7, "page_size": 5})
    )
    assert output["count"] == 7


async def test_list_items_by_ids_reads_only_those_of_the_board(fake: FakeMonday) -> None:
    """`item_ids` reads just those items (a webhook's one item), not the whole board;
    ids of other boards or of nothing are left out."""
    other, other_items = demo_board("200", items=1)
    fake.add_board(other, other_items)
    wanted = [fake.items["100"][5].id, fake.items["100"][2].id, other_items[0].id, "999"]
    output = await monday_actions(fake).invoke(
        "list_items", ActionRequest(input={"board_id": "100", "item_ids": wanted})
    )
    assert [i["id"] for i in output["items"]] == wanted[:2]
    assert output["count"] == 2
    assert "item_pages" not in fake.calls


async def test_create_webhook_is_idempotent_and_checks_its_input(fake: FakeMonday) -> None:
    """A retried create_webhook registers once; a bad event or URL is refused first."""
    actions = monday_actions(fake)
    request = ActionRequest(
        input={"board_id": "100", "url": "https://dw.example.com/v1/hooks/m"},
        idempotency_key="run-1:watch:-1",
    )
    first = await actions.invoke("create_webhook", request)
    assert first == await actions.invoke("create_webhook", request)
    assert first["webhook"]["event"] == "change_column_value"
    assert len(fake.webhooks) == 1
    for bad in ({"event": "item_exploded"}, {"url": "ftp://x"}):
        with pytest.raises(ActionFailed) as refused:
            await actions.invoke(
                "create_webhook",
                ActionRequest(input={"board_id": "100", "url": "https://x/h", **bad}),
            )
        assert refused.value.error.code == "invalid_input"
    deleted = await actions.invoke(
        "delete_webhook", ActionRequest(input={"webhook_id": first["webhook"]["id"]})
    )
    assert deleted == first
    assert fake.webhooks == {}


async def test_an_expired_cursor_restarts_the_listing_once(fake: FakeMonday) -> None:
    """A cursor expiring mid-way restarts the listing; nothing is duplicated."""
    fake.expire_cursor_after = 2
    output = await monday_actions(fake).invoke(
        "list_items", ActionRequest(input={"board_id": "100", "page_size": 100})
    )
    ids = [i["id"] for i in output["items"]]
    assert len(ids) == len(set(ids)) == 1203
    assert fake.calls.count("item_pages") == 2


@pytest.mark.parametrize(
    ("error", "code", "retryable", "retry_after"),
    [
        (MondayAuthError("bad token"), "auth_failed", False, None),
        (MondayDailyLimit("daily"), "rate_limited", False, None),
        (MondayRateLimited("slow down", retry_after=7), "rate_limited", True, 7.0),
        (MondayInvalidInput("bad value"), "invalid_input", False, None),
        (MondayNotFound("no board"), "not_found", False, None),
        (MondayUnavailable("down"), "upstream_unavailable", True, None),
        (MondayError("odd"), "upstream_error", False, None),
    ],
)
async def test_monday_errors_become_typed_action_errors(
    fake: FakeMonday, error: MondayError, code: str, retryable: bool, retry_after: float | None
) -> None:
    """Each monday failure maps to the connector API's code, retryability and hint."""
    fake.fail_next = [error]
    with pytest.raises(ActionFailed) as caught:
        await monday_actions(fake).invoke("list_boards", ActionRequest(input={}))
    assert caught.value.error.code == code
    assert caught.value.error.retryable is retryable
    assert caught.value.error.retry_after_s == retry_after


async def test_invalid_inputs_are_refused_before_calling_monday(fake: FakeMonday) -> None:
    """A board id that is not digits, or an unknown field, never reaches monday; a
    mistyped field is named with the field meant."""
    actions = monday_actions(fake)
    for bad in ({"board_id": "abc"}, {"board_id": "100", "colour": "red"}, {}):
        with pytest.raises(ActionFailed) as caught:
            await actions.invoke("list_items", ActionRequest(input=bad))
        assert caught.value.error.code == "invalid_input"
    with pytest.raises(ActionFailed) as caught:
        await actions.invoke("list_items", ActionRequest(input={"board_id": "100", "limt": 3}))
    assert caught.value.error.message == (
        "limt: is not a known field; did you mean 'limit'? "
        "(known fields: board_id, limit, page_size, item_ids)"
    )
    assert fake.calls == []


async def test_get_item_unknown_is_not_found(fake: FakeMonday) -> None:
    """An item that does not exist is a not_found error."""
    with pytest.raises(ActionFailed) as caught:
        await monday_actions(fake).invoke("get_item", ActionRequest(input={"item_id": "1"}))
    assert caught.value.error.code == "not_found"


async def test_a_retried_create_with_the_same_key_creates_once(fake: FakeMonday) -> None:
    """The same idempotency key returns the item already created instead of a second one."""
    actions = monday_actions(fake)
    request = ActionRequest(
        input={"board_id": "100", "item_name": "Write the report"},
        idempotency_key="run-1:create:-1",
        context=ActionContext(run_id="run-1", step_id="create", attempt=1),
    )
    first = await actions.invoke("create_item", request)
    again = await actions.invoke("create_item", request)
    other = await actions.invoke(
        "create_item",
        ActionRequest(
            input={"board_id": "100", "item_name": "Write the report"}, idempotency_key="k2"
        ),
    )
    assert first == again
    assert other["item"]["id"] != first["item"]["id"]
    assert fake.calls.count("create_item") == 2


async def test_update_item_changes_columns(fake: FakeMonday) -> None:
    """update_item returns the item with the new column values."""
    item_id = fake.items["100"][0].id
    output = await monday_actions(fake).invoke(
        "update_item",
        ActionRequest(
            input={
                "board_id": "100",
                "item_id": item_id,
                "column_values": {"status": {"label": "Done"}},
            }
        ),
    )
    assert output["item"]["columns"]["status"]["text"] == "Done"


def test_with_a_token_and_no_url_the_client_targets_monday_com() -> None:
    """MONDAY_API_TOKEN alone means the real API, with the pinned version and raw token."""
    import httpx

    from dataworkflows.connectors.monday.component import monday_client
    from dataworkflows.connectors.monday.spec import MondaySettings
    from dataworkflows.runtime.settings import load_section

    settings = load_section(MondaySettings, {"MONDAY_API_TOKEN": "eyJhbGciOi-real-token"})
    client = monday_client(settings, httpx.AsyncClient())
    assert client.url == "https://api.monday.com/v2"
    assert client._headers["Authorization"] == "eyJhbGciOi-real-token"
    assert client._headers["API-Version"] == "2025-07"


def test_without_a_token_the_connector_says_what_to_set() -> None:
    """No MONDAY_API_TOKEN: a clear error naming the variable, not a failing call later."""
    import httpx

    from dataworkflows.connectors.monday.component import monday_client
    from dataworkflows.connectors.monday.spec import MondaySettings
    from dataworkflows.runtime.connector_app import ConnectorNotConfigured

    with pytest.raises(ConnectorNotConfigured, match="MONDAY_API_TOKEN"):
        monday_client(MondaySettings(), httpx.AsyncClient())
