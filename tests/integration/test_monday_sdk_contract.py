"""monday's own Python SDK (``monday-api-python-sdk``), unchanged, against the Monday sandbox:
its board helpers, its item-paging helper, its item helpers and its errors and retries,
over real HTTP to ``dataworkflows serve sandbox monday``. Nothing reaches monday.com."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import monday_sdk  # a dev (test-only) dependency
import pytest
import requests

from tests.support.monday import SANDBOX_TOKEN, SandboxControl, monday_sandbox_process

pytestmark = pytest.mark.acceptance

API_VERSION = "2025-07"
ROADMAP = "5012345601"  # Apollo Website Relaunch — Roadmap (has the mirror column)
BIG_BOARD = "5012345622"  # Cygnus Data Platform — Sprint Tasks (over 500 items)
UNKNOWN_BOARD = "999"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxControl]:
    with monday_sandbox_process(tmp_path_factory.mktemp("monday-sdk")) as control:
        yield control


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox: SandboxControl) -> None:
    """Every test starts from the seeded workspace, with no faults and no requests."""
    sandbox.reset()


@pytest.fixture(autouse=True)
def _only_the_sandbox(sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's API URL is the sandbox's; any request elsewhere fails the test."""
    monkeypatch.setattr(monday_sdk.graphql_handler, "API_URL", sandbox.graphql)
    real_request = requests.request

    def guarded(method: str, url: str, **kwargs: Any) -> requests.Response:
        assert url.startswith(sandbox.base), f"the SDK tried to reach {url}"
        return real_request(method, url, **kwargs)

    monkeypatch.setattr(requests, "request", guarded)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The SDK's waits between retries, recorded instead of slept."""
    recorded: list[float] = []

    class _Time:
        @staticmethod
        def sleep(seconds: float) -> None:
            recorded.append(seconds)

    monkeypatch.setattr(monday_sdk.graphql_handler, "time", _Time)
    return recorded


def sdk_client(token: str = SANDBOX_TOKEN, *, attempts: int = 2) -> Any:
    """The SDK's client, pinned to the API version the product uses."""
    return monday_sdk.MondayClient(
        token, headers={"API-Version": API_VERSION}, max_retry_attempts=attempts
    )


def items_count(sandbox: SandboxControl, board_id: str) -> int:
    """How many items the sandbox holds on ``board_id`` (asked directly, not via the SDK)."""
    response = httpx.post(
        sandbox.graphql,
        json={"query": f"{{ boards(ids: [{board_id}]) {{ items_count }} }}"},
        headers={"Authorization": SANDBOX_TOKEN},
    )
    count: int = response.json()["data"]["boards"][0]["items_count"]
    return count


def test_the_board_helper_fetches_a_board(sandbox: SandboxControl) -> None:
    """fetch_boards_by_id returns the board with its groups, columns, permissions and tags."""
    response = sdk_client().boards.fetch_boards_by_id(ROADMAP)
    (board,) = response.data.boards
    assert board.id == ROADMAP
    assert board.name == "Apollo Website Relaunch — Roadmap"
    assert board.groups[0].id == "topics"
    types = {c.id: c.type for c in board.columns}
    assert types["status"] == "status"
    assert types["date4"] == "date"
    assert types["person"] == "people"
    assert types["mirror"] == "mirror"
    raw = response.response_data["data"]["boards"][0]
    assert raw["permissions"] == "everyone"
    assert raw["tags"] == []
    assert all(r["api_version"] == API_VERSION for r in sandbox.requests())


def test_the_boards_listing_and_columns_helpers(sandbox: SandboxControl) -> None:
    """fetch_boards lists the account's boards; fetch_columns_by_board_id their columns."""
    client = sdk_client()
    boards = client.boards.fetch_boards(limit=50).data.boards
    assert ROADMAP in {b.id for b in boards}
    assert BIG_BOARD in {b.id for b in boards}
    active = client.boards.fetch_boards(
        limit=2, page=1, state=monday_sdk.BoardState.ACTIVE, board_kind=monday_sdk.BoardKind.PUBLIC
    ).data.boards
    assert len(active) == 2
    columns = client.boards.fetch_columns_by_board_id(ROADMAP).data.boards[0].columns
    assert "status" in {c.id for c in columns}


def test_the_item_paging_helper_walks_every_page(sandbox: SandboxControl) -> None:
    """fetch_all_items_by_board_id follows the cursor over several pages: every item once."""
    client = sdk_client()
    count = items_count(sandbox, ROADMAP)
    items = client.boards.fetch_all_items_by_board_id(ROADMAP, limit=10)
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)) == count
    assert all(i.group is not None and i.updated_at for i in items)
    assert all(i.subitems == [] for i in items)
    queries = [r["query"] for r in sandbox.requests()]
    assert sum("next_items_page" in q for q in queries) >= 2


def test_the_item_paging_helper_passes_500_items(sandbox: SandboxControl) -> None:
    """The helper's default page of 500 and its large-board mode both return every item."""
    client = sdk_client()
    count = items_count(sandbox, BIG_BOARD)
    assert count > 500
    items = client.boards.fetch_all_items_by_board_id(BIG_BOARD)
    assert len({i.id for i in items}) == count
    large = client.boards.fetch_all_items_by_board_id(BIG_BOARD, is_large_board=True)
    assert len({i.id for i in large}) == count


def test_the_update_date_helper_filters_by_last_update(sandbox: SandboxControl) -> None:
    """fetch_item_by_board_id_by_update_date returns the items updated in the window."""
    client = sdk_client()
    everything = client.boards.fetch_all_items_by_board_id(ROADMAP, limit=100)
    stamps = sorted(i.updated_at for i in everything)
    since, until = stamps[len(stamps) // 3], stamps[2 * len(stamps) // 3]
    expected = {i.id for i in everything if since <= i.updated_at <= until}
    window = client.boards.fetch_item_by_board_id_by_update_date(ROADMAP, since, until, limit=5)
    assert {i.id for i in window} == expected
    assert len(window) == len(expected)
    newer = client.boards.fetch_item_by_board_id_by_update_date(
        ROADMAP, since, None, limit=5, is_large_board=True
    )
    assert [i.updated_at for i in newer] == sorted(i.updated_at for i in newer)
    assert {i.id for i in newer} == {i.id for i in everything if i.updated_at >= since}


def test_column_values_read_through_the_sdk(sandbox: SandboxControl) -> None:
    """Status, date, people and mirror values read as monday gives them, display_value too."""
    client = sdk_client()
    items = client.boards.fetch_all_items_by_board_id(ROADMAP, limit=100)
    extract = monday_sdk.extract_column_value_by_id

    def filled(column_id: str) -> Any:
        return next(i for i in items if extract(i, column_id))

    status_item = filled("status")
    status = next(c for c in status_item.column_values if c.column.id == "status")
    assert status.type == "status"
    assert json.loads(status.value)["index"] in (0, 1, 2, 5)
    assert status.text in ("Working on it", "Done", "Stuck", "Not started")
    date_item = filled("date4")
    assert extract(date_item, "date4")[:4].isdigit()
    people_item = filled("person")
    people = next(c for c in people_item.column_values if c.column.id == "person")
    assert json.loads(people.value)["personsAndTeams"][0]["kind"] == "person"
    assert people.text
    mirror_item = filled("mirror")
    mirror = next(c for c in mirror_item.column_values if c.column.id == "mirror")
    assert mirror.text is None
    assert mirror.value is None
    assert mirror.display_value == extract(mirror_item, "mirror") != ""
    by_id = client.items.fetch_items_by_id([mirror_item.id, status_item.id])
    assert {i.id for i in by_id} == {mirror_item.id, status_item.id}
    assert extract_by_title(by_id, mirror_item.id, "Sprint status") == mirror.display_value


def extract_by_title(items: list[Any], item_id: str, title: str) -> Any:
    item = next(i for i in items if i.id == item_id)
    return monday_sdk.extract_column_value_by_title(item, title)


def test_create_an_item_and_change_its_values(sandbox: SandboxControl) -> None:
    """create_item and the change_* helpers write monday's shapes; a read sees every change."""
    client = sdk_client()
    created = client.items.create_item(
        ROADMAP,
        "topics",
        "Written by the SDK",
        column_values={"status": {"label": "Working on it"}, "date4": {"date": "2026-01-05"}},
    )
    item_id = created.data.create_item.id
    items = client.items
    items.change_status_column_value(ROADMAP, item_id, "status", "Done")
    items.change_date_column_value(ROADMAP, item_id, "date4", datetime(2026, 2, 3, 14, 30))
    items.change_simple_column_value(ROADMAP, item_id, "text", "hello from the SDK")
    items.change_custom_column_value(ROADMAP, item_id, "long_text", {"text": "details"})
    items.change_multiple_column_values(
        ROADMAP, item_id, {"person": {"personsAndTeams": [{"id": 61000002, "kind": "person"}]}}
    )
    (item,) = items.fetch_items_by_id([item_id])
    extract = monday_sdk.extract_column_value_by_id
    assert item.name == "Written by the SDK"
    assert item.group.id == "topics"
    assert extract(item, "status") == "Done"
    assert extract(item, "date4") == "2026-02-03 14:30"
    assert extract(item, "text") == "hello from the SDK"
    assert extract(item, "long_text") == "details"
    assert extract(item, "person") == "Jonas Berg"


def test_move_archive_and_delete_an_item(sandbox: SandboxControl) -> None:
    """move_item_to_group, archive_item_by_id and delete_item_by_id change what paging sees."""
    client = sdk_client()
    first, second, *_ = client.boards.fetch_all_items_by_board_id(ROADMAP, limit=100)
    client.items.move_item_to_group(first.id, "group_done")
    (moved,) = client.items.fetch_items_by_id([first.id])
    assert moved.group.id == "group_done"
    client.items.archive_item_by_id(first.id)
    client.items.delete_item_by_id(second.id)
    states = {i.id: i.state for i in client.items.fetch_items_by_id([first.id, second.id])}
    assert states == {first.id: "archived", second.id: "deleted"}
    remaining = {i.id for i in client.boards.fetch_all_items_by_board_id(ROADMAP, limit=100)}
    assert first.id not in remaining
    assert second.id not in remaining


def test_items_by_column_value_and_updates_helpers(sandbox: SandboxControl) -> None:
    """fetch_items_by_column_value finds items by a status label; items have no updates."""
    client = sdk_client()
    found = client.items.fetch_items_by_column_value(ROADMAP, "status", "Done", limit=5)
    page = found.data.items_page_by_column_values
    assert page.items
    (first,) = client.items.fetch_items_by_id([page.items[0].id])
    assert monday_sdk.extract_column_value_by_id(first, "status") == "Done"
    updates = client.updates.fetch_updates_for_item(first.id)
    assert updates.response_data["data"]["items"][0]["updates"] == []
    assert client.updates.fetch_updates(limit=10, page=1).response_data["data"]["updates"] == []


def test_a_wrong_token_is_the_sdks_http_401_error(sandbox: SandboxControl) -> None:
    """A wrong token fails every attempt with HTTP 401, which the SDK reports as an error."""
    with pytest.raises(Exception, match="HTTP 401") as raised:
        sdk_client("not-the-token").boards.fetch_boards_by_id(ROADMAP)
    assert type(raised.value) is Exception
    statuses = [r["status"] for r in sandbox.requests()]
    assert statuses == [401, 401]


def test_an_unknown_board(sandbox: SandboxControl) -> None:
    """An unknown board answers no board; writing to it fails with monday's not-found error."""
    client = sdk_client()
    assert client.boards.fetch_boards_by_id(UNKNOWN_BOARD).data.boards == []
    with pytest.raises(Exception, match="not found"):
        client.items.create_item(UNKNOWN_BOARD, "topics", "Nowhere")


def test_complexity_is_reported_to_the_paging_helper(sandbox: SandboxControl) -> None:
    """Each page answers complexity { query after } as the helper reads it to pace itself."""
    response = sdk_client().items.client.execute(
        "{ complexity { before query after reset_in_x_seconds } boards(ids: ["
        + ROADMAP
        + "]) { id } }"
    )
    complexity = response.response_data["data"]["complexity"]
    assert complexity["query"] > 0
    assert complexity["after"] == complexity["before"] - complexity["query"]
    assert 1 <= complexity["reset_in_x_seconds"] <= 60


@pytest.mark.parametrize("kind", ["complexity_budget", "legacy_complexity", "minute_limit"])
def test_a_rate_limit_is_waited_out_and_retried(
    sandbox: SandboxControl, waits: list[float], kind: str
) -> None:
    """An HTTP 429 (complexity budget or rate limit) is waited out and the call retried."""
    sandbox.fault(kind, times=1, retry_in_seconds=3)
    response = sdk_client().boards.fetch_boards_by_id(ROADMAP)
    assert response.data.boards[0].id == ROADMAP
    assert waits == [30]
    assert [r["status"] for r in sandbox.requests()] == [429, 200]


def test_a_lasting_complexity_error_is_raised(sandbox: SandboxControl, waits: list[float]) -> None:
    """When every attempt is refused for complexity, the SDK gives up after its attempts."""
    sandbox.fault("complexity_budget", times=5)
    with pytest.raises(Exception, match="failed after 2 attempts"):
        sdk_client(attempts=2).boards.fetch_all_items_by_board_id(ROADMAP)
    assert waits == [30, 30]
    assert [r["status"] for r in sandbox.requests()] == [429, 429]


def test_create_a_subitem_and_read_it_under_its_parent(sandbox: SandboxControl) -> None:
    """create_subitem adds a subitem on "Subitems of <board>"; the parent lists it."""
    client = sdk_client()
    parent, *_ = client.boards.fetch_all_items_by_board_id(ROADMAP, limit=5)
    created = client.items.create_subitem(
        parent.id, "Proofread the copy", column_values={"status": {"label": "Working on it"}}
    )
    subitem = created.response_data["data"]["create_subitem"]
    assert subitem["name"] == "Proofread the copy"
    assert subitem["board"]["name"] == "Subitems of Apollo Website Relaunch — Roadmap"
    assert {"id": "status", "text": "Working on it"} in subitem["column_values"]
    (read_parent,) = client.items.fetch_items_by_id([parent.id])
    assert [s.id for s in read_parent.subitems] == [subitem["id"]]
    assert read_parent.subitems[0].parent_item.id == parent.id
    (read_subitem,) = client.items.fetch_items_by_id([subitem["id"]])
    assert monday_sdk.extract_column_value_by_id(read_subitem, "status") == "Working on it"
    subitems_board = subitem["board"]["id"]
    paged = client.boards.fetch_all_items_by_board_id(subitems_board, limit=5)
    assert [i.id for i in paged] == [subitem["id"]]


def test_a_subitem_of_an_unknown_item_is_not_found(sandbox: SandboxControl) -> None:
    """create_subitem under an unknown parent fails with monday's not-found error."""
    with pytest.raises(Exception, match="not found"):
        sdk_client().items.create_subitem("1234", "Orphan")


def test_create_list_and_delete_updates(sandbox: SandboxControl) -> None:
    """create_update posts a comment the item, board and account list; delete_update drops it."""
    client = sdk_client()
    first, second, *_ = client.boards.fetch_all_items_by_board_id(ROADMAP, limit=5)
    updates = client.updates
    older = updates.create_update(first.id, "<p>Design <b>approved</b></p>")
    older_id = older.response_data["data"]["create_update"]["id"]
    newer = updates.create_update(second.id, "Ready for QA")
    newer_id = newer.response_data["data"]["create_update"]["id"]
    on_item = updates.fetch_updates_for_item(first.id).response_data["data"]["items"][0]
    (update,) = on_item["updates"]
    assert update["id"] == older_id
    assert update["body"] == "<p>Design <b>approved</b></p>"
    assert update["creator"]["name"] == "Maya Patel"
    assert update["replies"] == []
    on_board = updates.fetch_board_updates(ROADMAP)
    assert [u.id for u in on_board] == [newer_id, older_id]
    assert on_board[1].text_body == "Design approved"
    assert on_board[1].item_id == first.id
    assert datetime.fromisoformat(on_board[1].created_at)
    listed = updates.fetch_updates(limit=10, page=1).response_data["data"]["updates"]
    assert [u["id"] for u in listed] == [newer_id, older_id]
    updates.delete_update(newer_id)
    listed = updates.fetch_updates(limit=10, page=1).response_data["data"]["updates"]
    assert [u["id"] for u in listed] == [older_id]
