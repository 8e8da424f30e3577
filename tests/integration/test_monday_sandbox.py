"""The Monday sandbox over real HTTP on 127.0.0.1 answers with monday.com's wire shapes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from dataworkflows.runtime.serving import bind_socket
from dataworkflows.sandboxes.monday.app import (
    CURSOR_TTL_S,
    MondaySandbox,
    create_monday_sandbox_app,
)
from dataworkflows.sandboxes.monday.demo_data import BIG_BOARD_ID
from dataworkflows.sandboxes.monday.faults import Fault

TOKEN = "sandbox-token-0123456789"
ROADMAP = "5012345601"  # Apollo Website Relaunch — Roadmap (has the mirror column)

PAGE_QUERY = """
query FirstPage($board: [ID!], $limit: Int!) {
  boards(ids: $board) {
    id
    items_page(limit: $limit) {
      cursor
      items {
        id name
        group { id title }
        column_values {
          id text value type column { title }
          ... on MirrorValue { display_value }
        }
      }
    }
  }
}
"""

NEXT_QUERY = """
query NextPage($cursor: String!, $limit: Int!) {
  next_items_page(cursor: $cursor, limit: $limit) {
    cursor
    items { id name group { id title } column_values { id text value type } }
  }
}
"""

ITEM_QUERY = """
query Item($ids: [ID!]!) {
  items(ids: $ids) {
    id name updated_at group { id }
    column_values {
      id text value
      ... on StatusValue { label index }
      ... on DateValue { date time }
      ... on PeopleValue { persons_and_teams { id kind } }
      ... on NumbersValue { number }
    }
  }
}
"""


class FakeClock:
    """Wall-clock seconds that a test can move forward."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    """A sandbox served on 127.0.0.1 and an HTTP client for it."""

    sandbox: MondaySandbox
    clock: FakeClock
    http: httpx.AsyncClient

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        authorization: str | None = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST /v2 as a monday client would."""
        sent = dict(headers or {})
        if authorization is not None:
            sent["Authorization"] = authorization
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.http.post("/v2", json=body, headers=sent)

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a query that must succeed."""
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # pytest owns the process's signals.
        yield


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """A fresh sandbox (seed 7) served over real HTTP on a free 127.0.0.1 port."""
    clock = FakeClock()
    sandbox = MondaySandbox(token=TOKEN, clock=clock)
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_monday_sandbox_app(sandbox),
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="none",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=10.0, trust_env=False
        ) as http:
            yield Served(sandbox=sandbox, clock=clock, http=http)
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _first_page(served: Served, board_id: str, limit: int) -> dict[str, Any]:
    data = await served.data(PAGE_QUERY, {"board": [board_id], "limit": limit})
    page: dict[str, Any] = data["boards"][0]["items_page"]
    return page


def _cells(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in item["column_values"]}


# -- reading -----------------------------------------------------------------------------


async def test_paging_past_500_items_visits_each_item_once(served: Served) -> None:
    """items_page(limit: 500) then next_items_page until cursor is null yields every item once."""
    page = await _first_page(served, BIG_BOARD_ID, 500)
    items = list(page["items"])
    assert len(items) == 500
    cursor = page["cursor"]
    pages = 1
    while cursor is not None:
        data = await served.data(NEXT_QUERY, {"cursor": cursor, "limit": 50})
        items += data["next_items_page"]["items"]
        cursor = data["next_items_page"]["cursor"]
        pages += 1
    ids = [i["id"] for i in items]
    board = served.sandbox.workspace.board(BIG_BOARD_ID)
    assert board is not None
    assert len(ids) == len(set(ids)) == board.items_count > 500
    assert ids == [i.id for i in board.items]
    assert pages >= 3


async def test_the_last_page_has_a_null_cursor(served: Served) -> None:
    """A board that fits in one page answers cursor null."""
    page = await _first_page(served, ROADMAP, 500)
    assert page["cursor"] is None
    board = served.sandbox.workspace.board(ROADMAP)
    assert board is not None
    assert len(page["items"]) == board.items_count


async def test_ids_are_strings_and_values_are_json_strings(served: Served) -> None:
    """ids are strings; value is a JSON string parsing to monday's documented shapes."""
    page = await _first_page(served, BIG_BOARD_ID, 200)
    seen: set[str] = set()
    for item in page["items"]:
        assert isinstance(item["id"], str)
        assert item["id"].isdigit()
        for cell in item["column_values"]:
            if cell["value"] is None:
                continue
            assert isinstance(cell["value"], str)
            value = json.loads(cell["value"])
            seen.add(cell["type"])
            match cell["type"]:
                case "status":
                    assert value == {"index": value["index"], "post_id": None}
                    assert isinstance(value["index"], int)
                    assert cell["text"]
                case "date":
                    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value["date"])
                    assert cell["text"].startswith(value["date"])
                case "people":
                    assert value["personsAndTeams"]
                    assert all(p["kind"] == "person" for p in value["personsAndTeams"])
                    assert all(isinstance(p["id"], int) for p in value["personsAndTeams"])
                case "text" | "numbers":
                    assert value == cell["text"]
                case "long_text":
                    assert value == {"text": cell["text"]}
    assert seen == {"status", "date", "people", "text", "numbers", "long_text"}


async def test_empty_cells_answer_like_monday(served: Served) -> None:
    """Empty status has text null; other empty cells have text ""; empty value is null."""
    page = await _first_page(served, BIG_BOARD_ID, 500)
    cells = [_cells(i) for i in page["items"]]
    empty_status = [c["status"] for c in cells if c["status"]["value"] is None]
    empty_dates = [c["date4"] for c in cells if c["date4"]["value"] is None]
    empty_people = [c["person"] for c in cells if c["person"]["value"] is None]
    assert empty_status
    assert empty_dates
    assert empty_people
    assert all(c["text"] is None for c in empty_status)
    assert all(c["text"] == "" for c in empty_dates + empty_people)


async def test_mirror_columns_need_display_value(served: Served) -> None:
    """A mirror's text and value are always null; display_value carries what it shows."""
    page = await _first_page(served, ROADMAP, 100)
    mirrors = [_cells(i)["mirror"] for i in page["items"]]
    assert all(m["text"] is None and m["value"] is None for m in mirrors)
    assert all(isinstance(m["display_value"], str) for m in mirrors)
    assert any(m["display_value"] for m in mirrors)
    assert mirrors[0]["column"] == {"title": "Sprint status"}


async def test_aliases_fragments_variables_and_typename_work(served: Served) -> None:
    """Any well-formed query over the modelled fields runs, not just the client's."""
    query = """
    fragment Cell on ColumnValue { id __typename ... on StatusValue { label index } }
    query Aliased($ids: [ID!], $few: Int = 2) {
      roadmap: boards(ids: $ids) {
        boardId: id
        title: name
        kind: board_kind
        items_count
        lanes: groups(ids: ["topics"]) { id title color position }
        cols: columns(ids: ["status"]) { id title type settings_str }
        first: items_page(limit: $few) { items { id cells: column_values(ids: ["status"]) { ...Cell } } }
      }
      whoami: me { id name email }
    }
    """
    data = await served.data(query, {"ids": [ROADMAP]})
    board = data["roadmap"][0]
    assert board["boardId"] == ROADMAP
    assert board["title"] == "Apollo Website Relaunch — Roadmap"
    assert board["kind"] == "public"
    assert board["lanes"] == [
        {"id": "topics", "title": "Backlog", "color": "#c4c4c4", "position": "65536"}
    ]
    assert board["cols"][0]["type"] == "status"
    assert json.loads(board["cols"][0]["settings_str"])["labels"]["1"] == "Done"
    assert len(board["first"]["items"]) == 2
    cell = board["first"]["items"][0]["cells"][0]
    assert cell["__typename"] == "StatusValue"
    assert set(cell) == {"id", "__typename", "label", "index"}
    assert data["whoami"] == {
        "id": "61000001",
        "name": "Maya Patel",
        "email": "maya.patel@example.com",
    }


async def test_boards_users_and_items_queries(served: Served) -> None:
    """boards by workspace and page, users by id, and items by id answer the modelled fields."""
    project = served.sandbox.workspace.project("cygnus")
    data = await served.data(
        "query($w: [ID]) { boards(workspace_ids: $w) { id workspace_id } }",
        {"w": [project.workspace_id]},
    )
    assert data["boards"] == [
        {"id": project.roadmap_board_id, "workspace_id": project.workspace_id},
        {"id": project.sprint_board_id, "workspace_id": project.workspace_id},
    ]
    paged = await served.data("{ one: boards(limit: 4, page: 2) { id } }")
    assert [b["id"] for b in paged["one"]] == ["5012345621", BIG_BOARD_ID]
    users = await served.data('{ users(ids: ["61000002", "1"]) { id name email } }')
    assert users["users"] == [
        {"id": "61000002", "name": "Jonas Berg", "email": "jonas.berg@example.com"}
    ]
    everyone = await served.data("{ users { id } }")
    assert len(everyone["users"]) == len(served.sandbox.workspace.users)
    item_id = served.sandbox.workspace.boards[0].items[0].id
    items = await served.data(
        "query($ids: [ID!]!) { items(ids: $ids) { id board { id name } } }",
        {"ids": [item_id, "999"]},
    )
    assert items["items"] == [
        {"id": item_id, "board": {"id": ROADMAP, "name": "Apollo Website Relaunch — Roadmap"}}
    ]


# -- writing -----------------------------------------------------------------------------

CREATE = """
mutation Create($board: ID!, $name: String!, $group: String, $values: JSON, $labels: Boolean) {
  create_item(board_id: $board, item_name: $name, group_id: $group, column_values: $values,
              create_labels_if_missing: $labels) {
    id name group { id } board { id }
  }
}
"""

CHANGE = """
mutation Change($board: ID!, $item: ID, $values: JSON!) {
  change_multiple_column_values(board_id: $board, item_id: $item, column_values: $values) {
    id updated_at
  }
}
"""


async def test_create_then_change_round_trips(served: Served) -> None:
    """create_item and change_multiple_column_values take JSON-string values; reads see them."""
    values = {
        "status": {"label": "Stuck"},
        "date4": {"date": "2024-06-15", "time": "14:30:00"},
        "person": {"personsAndTeams": [{"id": 61000002, "kind": "person"}]},
        "text": "Wire test",
        "numbers": "3.5",
        "long_text": {"text": "Line one\nLine two"},
    }
    created = await served.data(
        CREATE,
        {
            "board": BIG_BOARD_ID,
            "name": "From the test",
            "group": "group_review",
            "values": json.dumps(values),
        },
    )
    item = created["create_item"]
    assert item["name"] == "From the test"
    assert item["group"] == {"id": "group_review"}
    assert item["board"] == {"id": BIG_BOARD_ID}
    read = (await served.data(ITEM_QUERY, {"ids": [item["id"]]}))["items"][0]
    cells = _cells(read)
    assert cells["status"]["label"] == cells["status"]["text"] == "Stuck"
    assert cells["status"]["index"] == 2
    assert json.loads(cells["status"]["value"]) == {"index": 2, "post_id": None}
    assert cells["date4"]["date"] == "2024-06-15"
    assert cells["date4"]["time"] == "14:30:00"
    assert cells["date4"]["text"] == "2024-06-15 14:30"
    assert cells["person"]["persons_and_teams"] == [{"id": "61000002", "kind": "person"}]
    assert cells["person"]["text"] == "Jonas Berg"
    assert cells["text"]["text"] == "Wire test"
    assert cells["numbers"]["number"] == 3.5
    assert cells["long_text"]["text"] == "Line one\nLine two"

    changed = await served.data(
        CHANGE,
        {
            "board": BIG_BOARD_ID,
            "item": item["id"],
            "values": json.dumps({"status": {"index": 1}, "text": None, "numbers": "8"}),
        },
    )
    assert changed["change_multiple_column_values"]["id"] == item["id"]
    assert changed["change_multiple_column_values"]["updated_at"] >= read["updated_at"]
    after = _cells((await served.data(ITEM_QUERY, {"ids": [item["id"]]}))["items"][0])
    assert after["status"]["text"] == "Done"
    assert after["text"]["text"] == ""
    assert after["text"]["value"] is None
    assert after["numbers"]["text"] == "8"
    assert after["date4"]["date"] == "2024-06-15"  # untouched columns keep their value


async def test_a_new_item_appears_at_the_end_of_the_board(served: Served) -> None:
    """Items created through the API are read back by paging the board."""
    created = await served.data(CREATE, {"board": ROADMAP, "name": "Launch party"})
    page = await _first_page(served, ROADMAP, 500)
    assert page["items"][-1]["id"] == created["create_item"]["id"]
    assert page["items"][-1]["group"]["id"] == "topics"


async def test_updated_at_moves_on_change(served: Served) -> None:
    """change_multiple_column_values moves updated_at forward (the sandbox's clock)."""
    item_id = served.sandbox.workspace.boards[0].items[0].id
    before = (await served.data(ITEM_QUERY, {"ids": [item_id]}))["items"][0]["updated_at"]
    served.clock.now += 10
    changed = await served.data(
        CHANGE, {"board": ROADMAP, "item": item_id, "values": '{"text": "moved"}'}
    )
    assert changed["change_multiple_column_values"]["updated_at"] > before


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ('{"status": {"label": "Dne"}}', "status"),
        ('{"date4": {"date": "2024-02-30"}}', "date4"),
        ('{"no_such_column": "x"}', "no_such_column"),
        ('{"mirror": "Done"}', "mirror"),
        ('{"status": {"label": "Done"', None),
    ],
)
async def test_refused_column_values_are_column_value_exceptions(
    served: Served, values: str, column: str | None
) -> None:
    """Bad labels, dates, column ids or JSON: HTTP 200, ColumnValueException, create_item null."""
    response = await served.post(CREATE, {"board": ROADMAP, "name": "x", "values": values})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"create_item": None}
    error = body["errors"][0]
    assert error["extensions"]["code"] == "ColumnValueException"
    assert error["path"] == ["create_item"]
    if column is not None:
        assert repr(column) in error["message"]
    board = served.sandbox.workspace.board(ROADMAP)
    assert board is not None
    assert all(i.name != "x" for i in board.items)


async def test_missing_labels_are_created_when_asked(served: Served) -> None:
    """create_labels_if_missing: true turns an unknown status label into a new label."""
    created = await served.data(
        CREATE,
        {
            "board": ROADMAP,
            "name": "y",
            "values": '{"status": {"label": "On hold"}}',
            "labels": True,
        },
    )
    read = (await served.data(ITEM_QUERY, {"ids": [created["create_item"]["id"]]}))["items"][0]
    assert _cells(read)["status"]["text"] == "On hold"


async def test_unknown_board_or_item_is_resource_not_found(served: Served) -> None:
    """An unknown board or item answers HTTP 200 with ResourceNotFoundException."""
    for response in (
        await served.post(CREATE, {"board": "1234", "name": "x"}),
        await served.post(CHANGE, {"board": ROADMAP, "item": "1234", "values": "{}"}),
    ):
        assert response.status_code == 200
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "ResourceNotFoundException"
        assert next(iter(body["data"].values())) is None


# -- transport ---------------------------------------------------------------------------

NOT_AUTHENTICATED = {
    "message": "Not Authenticated",
    "extensions": {"code": "UNAUTHENTICATED", "status_code": 401},
}


@pytest.mark.parametrize("authorization", [None, "", "wrong-token", f"Bearer wrong-{TOKEN}"])
async def test_missing_or_wrong_token_is_401(served: Served, authorization: str | None) -> None:
    """Without the right token: HTTP 401, errors[].extensions.code UNAUTHENTICATED, no data."""
    response = await served.post("{ me { id } }", authorization=authorization)
    assert response.status_code == 401
    body = response.json()
    assert body["errors"] == [NOT_AUTHENTICATED]
    assert "data" not in body
    uuid.UUID(body["extensions"]["request_id"])


@pytest.mark.parametrize("authorization", [TOKEN, f"Bearer {TOKEN}", f"bearer {TOKEN}"])
async def test_raw_token_and_bearer_are_accepted(served: Served, authorization: str) -> None:
    """The raw token (monday's documented form) and 'Bearer <token>' both authenticate."""
    response = await served.post("{ me { id } }", authorization=authorization)
    assert response.status_code == 200
    assert response.json()["data"] == {"me": {"id": "61000001"}}


async def test_every_answer_has_request_id_and_ratelimit_headers(served: Served) -> None:
    """request_id in extensions, RateLimit-Policy and a counting RateLimit header on each reply."""
    first = await served.post("{ me { id } }")
    second = await served.post("{ me { id } }", authorization=None)
    for response in (first, second):
        uuid.UUID(response.json()["extensions"]["request_id"])
        assert response.headers["RateLimit-Policy"] == '"minuteRate";q=5000;w=60'
    assert first.json()["extensions"]["request_id"] != second.json()["extensions"]["request_id"]
    remaining = []
    for response in (first, second):
        match = re.fullmatch(r'"minuteRate";r=(\d+);t=(\d+)', response.headers["RateLimit"])
        assert match is not None
        remaining.append(int(match.group(1)))
        assert 1 <= int(match.group(2)) <= 60
    assert remaining == [4999, 4998]


async def test_the_minute_quota_is_enforced(served: Served) -> None:
    """Past the per-minute quota: 429 "Minute limit rate exceeded" until the minute is over."""
    served.sandbox.minute_quota = 2
    assert (await served.post("{ me { id } }")).status_code == 200
    assert (await served.post("{ me { id } }")).status_code == 200
    limited = await served.post("{ me { id } }")
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["message"] == "Minute limit rate exceeded"
    assert limited.headers["RateLimit"].startswith('"minuteRate";r=0;')
    assert int(limited.headers["Retry-After"]) >= 1
    served.clock.now += 61
    assert (await served.post("{ me { id } }")).status_code == 200


async def test_requests_are_recorded_with_api_version(served: Served) -> None:
    """Each POST /v2 is logged with its query, variables, API-Version and answer status."""
    await served.post(
        "query($n: Int) { users(limit: $n) { id } }", {"n": 1}, headers={"API-Version": "2025-07"}
    )
    await served.post("{ me { id } }", authorization=None)
    first, second = served.sandbox.requests
    assert first.api_version == "2025-07"
    assert first.variables == {"n": 1}
    assert first.status == 200
    assert first.authorization_present
    assert second.api_version is None
    assert not second.authorization_present
    assert second.status == 401
    assert first.at <= second.at


async def test_malformed_queries_are_graphql_errors_without_data(served: Served) -> None:
    """A syntax error, unknown field or mistyped variable: HTTP 200, errors[].message, no data."""
    parse_error = await served.post("{ boards { id ")
    invalid = await served.post("{ boards { id color_of_the_sky } }")
    for response, code in (
        (parse_error, "GRAPHQL_PARSE_FAILED"),
        (invalid, "GRAPHQL_VALIDATION_FAILED"),
    ):
        assert response.status_code == 200
        body = response.json()
        assert "data" not in body
        assert body["errors"][0]["message"]
        assert body["errors"][0]["extensions"]["code"] == code
    assert "color_of_the_sky" in invalid.json()["errors"][0]["message"]
    mistyped = await served.post("query($n: Int!) { users(limit: $n) { id } }", {"n": "many"})
    assert mistyped.status_code == 200
    assert "data" not in mistyped.json()
    assert mistyped.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_body_without_query_is_400(served: Served) -> None:
    """No query string (or no JSON at all) is a transport error: HTTP 400 with errors."""
    no_query = await served.http.post(
        "/v2", json={"variables": {}}, headers={"Authorization": TOKEN}
    )
    not_json = await served.http.post("/v2", content=b"query {", headers={"Authorization": TOKEN})
    for response in (no_query, not_json):
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"]
    assert no_query.json()["errors"][0]["message"] == "No query string was present"


# -- paging errors -----------------------------------------------------------------------


async def _cursor_of_another_sandbox() -> str:
    other = create_monday_sandbox_app(MondaySandbox(token=TOKEN))
    transport = httpx.ASGITransport(app=other)  # type: ignore[arg-type]  # Litestar is ASGI
    async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as http:
        body = {"query": PAGE_QUERY, "variables": {"board": [BIG_BOARD_ID], "limit": 10}}
        response = await http.post("/v2", json=body, headers={"Authorization": TOKEN})
    cursor: str = response.json()["data"]["boards"][0]["items_page"]["cursor"]
    return cursor


async def test_garbage_and_forged_cursors_are_cursor_exceptions(served: Served) -> None:
    """A garbage, edited or foreign cursor answers HTTP 200, CursorException and data null."""
    page = await _first_page(served, BIG_BOARD_ID, 10)
    cursor = page["cursor"]
    forged = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    foreign = await _cursor_of_another_sandbox()
    for bad in ("garbage", "", forged, foreign):
        response = await served.post(NEXT_QUERY, {"cursor": bad, "limit": 10})
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "CursorException"


async def test_cursors_expire_after_60_minutes(served: Served) -> None:
    """A cursor works for 60 minutes; after that it is a CursorException."""
    cursor = (await _first_page(served, BIG_BOARD_ID, 10))["cursor"]
    served.clock.now += CURSOR_TTL_S - 5
    assert (await served.post(NEXT_QUERY, {"cursor": cursor, "limit": 10})).json()["data"]
    served.clock.now += 10
    body = (await served.post(NEXT_QUERY, {"cursor": cursor, "limit": 10})).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "CursorException"
    assert "expired" in body["errors"][0]["message"]


async def test_a_bad_cursor_through_boards_nulls_the_board(served: Served) -> None:
    """boards { items_page(cursor:) } with a bad cursor answers data.boards == [null]."""
    query = 'query($c: String) { boards(ids: ["%s"]) { id items_page(cursor: $c) { cursor } } }'
    response = await served.post(query % BIG_BOARD_ID, {"c": "not-a-cursor"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"boards": [None]}
    assert body["errors"][0]["extensions"]["code"] == "CursorException"
    assert body["errors"][0]["path"] == ["boards", 0, "items_page"]


async def test_a_cursor_continues_through_boards_too(served: Served) -> None:
    """A valid cursor passed to boards { items_page(cursor:) } continues the same board."""
    page = await _first_page(served, BIG_BOARD_ID, 10)
    query = 'query($c: String) { boards(ids: ["%s"]) { items_page(limit: 10, cursor: $c) { items { id } } } }'
    data = await served.data(query % BIG_BOARD_ID, {"c": page["cursor"]})
    board = served.sandbox.workspace.board(BIG_BOARD_ID)
    assert board is not None
    assert [i["id"] for i in data["boards"][0]["items_page"]["items"]] == [
        i.id for i in board.items[10:20]
    ]


@pytest.mark.parametrize("limit", [501, 0])
async def test_page_limits_outside_1_to_500_are_refused(served: Served, limit: int) -> None:
    """limit above 500 (or below 1) is an error with a clear message, for both page queries."""
    first = await served.post(PAGE_QUERY, {"board": [BIG_BOARD_ID], "limit": limit})
    cursor = (await _first_page(served, BIG_BOARD_ID, 5))["cursor"]
    following = await served.post(NEXT_QUERY, {"cursor": cursor, "limit": limit})
    for response in (first, following):
        assert response.status_code == 200
        error = response.json()["errors"][0]
        assert "500" in error["message"]
        assert str(limit) in error["message"]
        assert error["extensions"]["code"] == "InvalidArgumentException"
    assert first.json()["data"] == {"boards": [None]}
    assert following.json()["data"] is None


# -- faults ------------------------------------------------------------------------------


def _error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["errors"][0]
    return error


@pytest.mark.parametrize(
    ("kind", "message", "code"),
    [
        ("complexity_budget", "Complexity budget exhausted", "COMPLEXITY_BUDGET_EXHAUSTED"),
        ("ip_rate_limit", None, "IP_RATE_LIMIT_EXCEEDED"),
        ("minute_limit", "Minute limit rate exceeded", "RATE_LIMIT_EXCEEDED"),
        ("concurrency_limit", "Concurrency limit exceeded", "CONCURRENCY_LIMIT_EXCEEDED"),
    ],
)
async def test_rate_limit_faults(served: Served, kind: Any, message: str | None, code: str) -> None:
    """Rate-limit faults: HTTP 429, errors[].extensions code and retry_in_seconds, Retry-After."""
    served.sandbox.inject(Fault(kind=kind, retry_in_seconds=7))
    response = await served.post("{ me { id } }")
    assert response.status_code == 429
    error = _error_of(response)
    assert error["extensions"]["code"] == code
    assert error["extensions"]["retry_in_seconds"] == 7
    if message is not None:
        assert error["message"] == message
    assert response.headers["Retry-After"] == "7"
    assert "RateLimit" in response.headers
    uuid.UUID(response.json()["extensions"]["request_id"])
    assert (await served.post("{ me { id } }")).status_code == 200


async def test_legacy_complexity_fault_uses_the_top_level_format(served: Served) -> None:
    """legacy_complexity answers 429 with error_code/status_code/error_message at the top."""
    served.sandbox.inject(Fault(kind="legacy_complexity", retry_in_seconds=3))
    response = await served.post("{ me { id } }")
    assert response.status_code == 429
    body = response.json()
    assert body["error_code"] == "ComplexityException"
    assert body["status_code"] == 429
    assert body["error_message"] == "Complexity budget exhausted, budget resets in 3 seconds"
    assert body["error_data"] == {}
    assert "errors" not in body
    assert response.headers["Retry-After"] == "3"


async def test_daily_limit_fault_counts_to_midnight_utc(served: Served) -> None:
    """daily_limit: 429 DAILY_LIMIT_EXCEEDED, retry_in_seconds = seconds to midnight UTC."""
    served.clock.now = 1_795_000_000.0  # 2026-11-18T11:06:40Z: 46,400 s before midnight
    served.sandbox.inject(Fault(kind="daily_limit"))
    response = await served.post("{ me { id } }")
    assert response.status_code == 429
    error = _error_of(response)
    assert error["extensions"]["code"] == "DAILY_LIMIT_EXCEEDED"
    assert "midnight UTC" in error["message"]
    assert error["extensions"]["retry_in_seconds"] == 46_400
    assert response.headers["Retry-After"] == "46400"


async def test_server_error_fault(served: Served) -> None:
    """server_error: HTTP 500 with INTERNAL_SERVER_ERROR in errors[].extensions."""
    served.sandbox.inject(Fault(kind="server_error"))
    response = await served.post("{ me { id } }")
    assert response.status_code == 500
    assert response.json()["errors"] == [
        {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    ]
    assert "Retry-After" not in response.headers


async def test_bad_gateway_fault_is_an_html_page(served: Served) -> None:
    """bad_gateway: HTTP 502 with an HTML body, as a proxy in front of monday answers."""
    served.sandbox.inject(Fault(kind="bad_gateway"))
    response = await served.post("{ me { id } }")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_unauthorized_fault_looks_like_a_wrong_token(served: Served) -> None:
    """unauthorized: the same 401 as a wrong token, although the token is right."""
    served.sandbox.inject(Fault(kind="unauthorized"))
    response = await served.post("{ me { id } }")
    assert response.status_code == 401
    assert response.json()["errors"] == [NOT_AUTHENTICATED]


async def test_user_unauthorized_fault_is_a_200_with_a_path(served: Served) -> None:
    """user_unauthorized: HTTP 200, UserUnauthorizedException with status_code 403 and a path."""
    served.sandbox.inject(Fault(kind="user_unauthorized"))
    response = await served.post("query { me { id } }")
    assert response.status_code == 200
    error = _error_of(response)
    assert error["message"] == "User unauthorized to perform action"
    assert error["path"] == ["me"]
    assert error["extensions"]["code"] == "UserUnauthorizedException"
    assert error["extensions"]["status_code"] == 403


async def test_slow_fault_delays_then_answers(served: Served) -> None:
    """slow waits delay_s and then answers normally."""
    served.sandbox.inject(Fault(kind="slow", delay_s=0.2))
    started = time.monotonic()
    response = await served.post("{ me { id } }")
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
    assert response.json()["data"] == {"me": {"id": "61000001"}}


async def test_faults_honour_times_and_injection_order(served: Served) -> None:
    """A fault hits exactly its next `times` requests, then the next queued fault, then none."""
    served.sandbox.inject(Fault(kind="server_error", times=2))
    served.sandbox.inject(Fault(kind="minute_limit"))
    statuses = [(await served.post("{ me { id } }")).status_code for _ in range(4)]
    assert statuses == [500, 500, 429, 200]
    assert [r.status for r in served.sandbox.requests] == statuses


async def test_clear_faults_forgets_queued_faults(served: Served) -> None:
    """clear_faults drops every queued fault."""
    served.sandbox.inject(Fault(kind="server_error", times=5))
    served.sandbox.clear_faults()
    assert (await served.post("{ me { id } }")).status_code == 200


async def test_control_endpoints_over_http(served: Served) -> None:
    """POST/DELETE /sandbox/faults, GET /sandbox/requests and POST /sandbox/reset work over HTTP."""
    injected = await served.http.post("/sandbox/faults", json={"kind": "server_error", "times": 3})
    assert injected.status_code == 204
    assert (await served.post("{ me { id } }")).status_code == 500
    assert (await served.http.delete("/sandbox/faults")).status_code == 204
    assert (await served.post("{ me { id } }")).status_code == 200
    log = (await served.http.get("/sandbox/requests")).json()
    assert [entry["status"] for entry in log] == [500, 200]
    assert log[0]["query"] == "{ me { id } }"
    assert set(log[0]) == {
        "authorization_present",
        "api_version",
        "query",
        "variables",
        "status",
        "at",
    }
    refused = await served.http.post("/sandbox/faults", json={"kind": "meteor_strike"})
    assert refused.status_code == 400

    await served.data(CREATE, {"board": ROADMAP, "name": "Temporary"})
    await served.http.post("/sandbox/faults", json={"kind": "server_error"})
    assert (await served.http.post("/sandbox/reset")).status_code == 204
    assert served.sandbox.requests == []
    assert (await served.post("{ me { id } }")).status_code == 200
    board = served.sandbox.workspace.board(ROADMAP)
    assert board is not None
    assert all(i.name != "Temporary" for i in board.items)


# -- monday's 2025-07 schema -------------------------------------------------------------


def _select_everything(type_name: str, depth: int) -> str:
    """A selection of every field of ``type_name`` without required arguments, ``depth`` deep."""
    from graphql import (
        GraphQLInterfaceType,
        GraphQLObjectType,
        GraphQLUnionType,
        get_named_type,
        is_required_argument,
    )

    from dataworkflows.sandboxes.monday.schema import build_sandbox_schema

    schema = build_sandbox_schema()

    def select(named: Any, level: int, prefix: str = "") -> str:
        # Value types share field names with different types: alias them apart.
        if isinstance(named, GraphQLUnionType):
            return " ".join(f"... on {t.name} {{ __typename }}" for t in named.types)
        parts = ["__typename"]
        for name, field in named.fields.items():
            if any(is_required_argument(a) for a in field.args.values()):
                continue
            inner = get_named_type(field.type)
            if isinstance(inner, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                if level < depth:
                    parts.append(f"{prefix}{name}: {name} {{ {select(inner, level + 1)} }}")
            else:
                parts.append(f"{prefix}{name}: {name}")
        if isinstance(named, GraphQLInterfaceType):
            parts += [
                f"... on {t.name} {{ {select(t, level, f'{t.name}_')} }}"
                for t in schema.get_possible_types(named)
            ]
        return " ".join(parts)

    return select(schema.get_type(type_name), 1)


async def test_every_field_answers_for_the_demo_data(served: Served) -> None:
    """Any field of monday's schema can be asked for: data where modelled, else null or []."""
    query = f"""
    {{
      complexity {{ before query after reset_in_x_seconds }}
      me {{ {_select_everything("User", 2)} }}
      account {{ {_select_everything("Account", 2)} }}
      tags {{ id name color }}
      updates {{ id body }}
      teams {{ id name }}
      workspaces {{ id name kind state }}
      boards(ids: ["{ROADMAP}"]) {{
        {_select_everything("Board", 2)}
        page: items_page(limit: 3) {{ cursor items {{ {_select_everything("Item", 3)} }} }}
      }}
    }}
    """
    response = await served.post(query)
    body = response.json()
    assert "errors" not in body, body["errors"][:3]
    board = body["data"]["boards"][0]
    assert board["permissions"] == "everyone"
    assert board["tags"] == []
    assert board["updated_at"].endswith("Z")
    assert board["top_group"]["id"] == "topics"
    assert board["workspace"]["id"] == board["workspace_id"]
    item = board["page"]["items"][0]
    assert item["subitems"] == []
    assert item["parent_item"] is None
    assert item["updates"] == []
    cells = {c["id"]: c for c in item["column_values"]}
    assert cells["mirror"]["__typename"] == "MirrorValue"
    assert cells["mirror"]["MirrorValue_mirrored_items"] == []
    assert body["data"]["tags"] == []
    assert body["data"]["me"]["account"]["slug"]


async def test_relation_and_dependency_fragments_are_valid(served: Served) -> None:
    """The SDK's ``... on BoardRelationValue/DependencyValue { display_value }`` validate."""
    data = await served.data(
        """
        query($b: [ID!]) {
          boards(ids: $b) { updated_at items_page(limit: 2) { items { subitems { id }
            column_values {
              ... on MirrorValue { display_value }
              ... on BoardRelationValue { display_value linked_item_ids }
              ... on DependencyValue { display_value linked_items { id } }
              ... on StatusValue { is_done label_style { color border } }
              type
            } } } }
        }
        """,
        {"b": [ROADMAP]},
    )
    cells = data["boards"][0]["items_page"]["items"][0]["column_values"]
    status = next(c for c in cells if c["type"] == "status")
    if status.get("label_style") is not None:
        assert status["label_style"]["color"].startswith("#")
    assert all(isinstance(c["display_value"], str) for c in cells if c["type"] == "mirror")


async def test_complexity_is_charged_against_a_minute_budget(served: Served) -> None:
    """complexity reports before/query/after; a query over the budget left is refused (429)."""
    first = await served.data("{ complexity { before query after } me { id } }")
    second = await served.data("{ complexity { before query after } me { id } }")
    assert (
        first["complexity"]["after"] == first["complexity"]["before"] - first["complexity"]["query"]
    )
    assert second["complexity"]["before"] == first["complexity"]["after"]
    served.sandbox.complexity.per_minute = 10
    refused = await served.post(PAGE_QUERY, {"board": [BIG_BOARD_ID], "limit": 500})
    assert refused.status_code == 429
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "COMPLEXITY_BUDGET_EXHAUSTED"
    assert error["extensions"]["retry_in_seconds"] >= 1
    served.clock.now += 61
    assert (await served.post("{ me { id } }")).status_code == 200


async def test_items_by_column_values_and_group_pages_continue_by_cursor(served: Served) -> None:
    """items_page_by_column_values and Group.items_page page on, with next_items_page."""
    board = served.sandbox.workspace.board(BIG_BOARD_ID)
    assert board is not None
    done = [i.id for i in board.items if getattr(i.cells.get("status"), "index", None) == 1]
    query = """
    query($b: ID!) { items_page_by_column_values(board_id: $b, limit: 20,
        columns: [{column_id: "status", column_values: ["Done"]}]) { cursor items { id } } }
    """
    page = (await served.data(query, {"b": BIG_BOARD_ID}))["items_page_by_column_values"]
    seen = [i["id"] for i in page["items"]]
    cursor = page["cursor"]
    while cursor is not None:
        data = await served.data(NEXT_QUERY, {"cursor": cursor, "limit": 20})
        seen += [i["id"] for i in data["next_items_page"]["items"]]
        cursor = data["next_items_page"]["cursor"]
    assert seen == done
    grouped = await served.data(
        'query($b: [ID!]) { boards(ids: $b) { groups(ids: ["group_done"]) {'
        " items_page(limit: 5) { cursor items { id group { id } } } } } }",
        {"b": [BIG_BOARD_ID]},
    )
    group_page = grouped["boards"][0]["groups"][0]["items_page"]
    assert {i["group"]["id"] for i in group_page["items"]} == {"group_done"}
    following = await served.data(NEXT_QUERY, {"cursor": group_page["cursor"], "limit": 5})
    assert following["next_items_page"]["items"]


async def test_items_page_query_params_filter_and_order(served: Served) -> None:
    """query_params rules (a status by index, ids) and order_by apply across pages."""
    board = served.sandbox.workspace.board(ROADMAP)
    assert board is not None
    done = [i for i in board.items if getattr(i.cells.get("status"), "index", None) == 1]
    query = """
    query($b: [ID!]) { boards(ids: $b) { items_page(limit: 3, query_params: {
        rules: [{column_id: "status", compare_value: [1], operator: any_of}],
        order_by: [{column_id: "name", direction: desc}]}) { cursor items { id name } } } }
    """
    page = (await served.data(query, {"b": [ROADMAP]}))["boards"][0]["items_page"]
    seen = list(page["items"])
    cursor = page["cursor"]
    while cursor is not None:
        data = await served.data(NEXT_QUERY, {"cursor": cursor, "limit": 3})
        seen += data["next_items_page"]["items"]
        cursor = data["next_items_page"]["cursor"]
    assert {i["id"] for i in seen} == {i.id for i in done}
    assert [i["name"] for i in seen] == sorted((i.name for i in done), reverse=True)
    picked = [done[0].id, board.items[1].id]
    by_ids = await served.data(
        "query($b: [ID!], $ids: [ID!]) { boards(ids: $b) {"
        " items_page(query_params: {ids: $ids}) { items { id } } } }",
        {"b": [ROADMAP], "ids": picked},
    )
    found = {i["id"] for i in by_ids["boards"][0]["items_page"]["items"]}
    assert found == set(picked)


# -- subitems and updates ----------------------------------------------------------------

CREATE_SUBITEM = """
mutation($parent: ID!, $name: String!, $values: JSON) {
  create_subitem(parent_item_id: $parent, item_name: $name, column_values: $values) {
    id name state parent_item { id }
    board { id name type board_kind workspace_id }
    column_values(ids: ["status"]) { id text }
  }
}
"""

SUBITEMS_QUERY = """
query($ids: [ID!]) {
  items(ids: $ids) { id name parent_item { id } board { id } subitems { id name board { id } } }
}
"""

CREATE_UPDATE = """
mutation($item: ID, $body: String!, $parent: ID) {
  create_update(item_id: $item, body: $body, parent_id: $parent) {
    id body text_body item_id created_at updated_at edited_at creator { id name }
    creator_id item { id } replies { id }
  }
}
"""


def _seeded_items(served: Served, count: int) -> list[str]:
    board = served.sandbox.workspace.board(ROADMAP)
    assert board is not None
    return [i.id for i in board.items[:count]]


async def test_create_subitem_lives_on_the_subitems_board(served: Served) -> None:
    """create_subitem answers an Item on "Subitems of <board>", listed under its parent."""
    (parent,) = _seeded_items(served, 1)
    first = (
        await served.data(
            CREATE_SUBITEM,
            {"parent": parent, "name": "Check copy", "values": '{"status": {"label": "Done"}}'},
        )
    )["create_subitem"]
    second = (await served.data(CREATE_SUBITEM, {"parent": parent, "name": "Check links"}))[
        "create_subitem"
    ]
    assert first["board"] == {
        "id": "5013345601",
        "name": "Subitems of Apollo Website Relaunch — Roadmap",
        "type": "sub_items_board",
        "board_kind": "public",
        "workspace_id": "1200101",
    }
    assert second["board"]["id"] == first["board"]["id"]  # one stable subitems board
    assert first["parent_item"] == {"id": parent}
    assert first["state"] == "active"
    assert first["column_values"] == [{"id": "status", "text": "Done"}]
    assert int(second["id"]) > int(first["id"]) > int(parent)
    data = await served.data(SUBITEMS_QUERY, {"ids": [parent, first["id"]]})
    by_id = {i["id"]: i for i in data["items"]}
    assert [s["id"] for s in by_id[parent]["subitems"]] == [first["id"], second["id"]]
    assert by_id[parent]["parent_item"] is None
    assert by_id[first["id"]]["parent_item"] == {"id": parent}
    assert by_id[first["id"]]["board"] == {"id": "5013345601"}
    assert by_id[first["id"]]["subitems"] == []
    board = await served.data('{ boards(ids: ["5013345601"]) { items_count name } }')
    assert board["boards"] == [{"items_count": 2, "name": first["board"]["name"]}]


async def test_create_subitem_refuses_like_create_item(served: Served) -> None:
    """An unknown parent is ResourceNotFoundException; a bad value ColumnValueException."""
    unknown = await served.post(CREATE_SUBITEM, {"parent": "1234", "name": "x"})
    assert unknown.status_code == 200
    body = unknown.json()
    assert body["data"] == {"create_subitem": None}
    error = body["errors"][0]
    assert error["extensions"]["code"] == "ResourceNotFoundException"
    assert error["extensions"]["error_data"] == {"resource_type": "item", "resource_id": "1234"}
    (parent,) = _seeded_items(served, 1)
    refused = await served.post(
        CREATE_SUBITEM, {"parent": parent, "name": "x", "values": '{"nope": "1"}'}
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "ColumnValueException"
    assert (await served.data(SUBITEMS_QUERY, {"ids": [parent]}))["items"][0]["subitems"] == []


async def test_updates_are_created_listed_newest_first_and_deleted(served: Served) -> None:
    """create_update stores an update by "me"; Item/Board/root updates list newest first."""
    first_item, other_item = _seeded_items(served, 2)
    created = []
    for item, body in (
        (first_item, "<p>Kick-off <b>done</b> &amp; noted</p>"),
        (other_item, "Second"),
        (first_item, "Third"),
    ):
        served.clock.now += 5
        data = await served.data(CREATE_UPDATE, {"item": item, "body": body})
        created.append(data["create_update"])
    first = created[0]
    me = (await served.data("{ me { id name } }"))["me"]
    assert first["body"] == "<p>Kick-off <b>done</b> &amp; noted</p>"
    assert first["text_body"] == "Kick-off done & noted"
    assert first["item_id"] == first_item
    assert first["item"] == {"id": first_item}
    assert first["creator"] == me
    assert first["creator_id"] == me["id"]
    assert first["created_at"] == first["updated_at"] == first["edited_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["created_at"])
    assert first["replies"] == []
    reply = (await served.data(CREATE_UPDATE, {"parent": first["id"], "body": "Thanks!"}))[
        "create_update"
    ]
    assert reply["item_id"] == first_item
    ids = [u["id"] for u in created]
    listing = await served.data(
        """query($item: [ID!], $board: [ID!], $picked: [ID!]) {
          items(ids: $item) { updates { id replies { id body creator { id } } } }
          boards(ids: $board) { updates(limit: 2, page: 1) { id item_id } }
          updates { id }
          picked: updates(ids: $picked) { id }
        }""",
        {"item": [first_item], "board": [ROADMAP], "picked": [ids[1], reply["id"]]},
    )
    assert listing["picked"] == [{"id": ids[1]}]  # replies are not listed on their own
    item_updates = listing["items"][0]["updates"]
    assert [u["id"] for u in item_updates] == [ids[2], ids[0]]
    assert item_updates[1]["replies"] == [
        {"id": reply["id"], "body": "Thanks!", "creator": {"id": me["id"]}}
    ]
    assert [u["id"] for u in listing["boards"][0]["updates"]] == [ids[2], ids[1]]
    assert [u["id"] for u in listing["updates"]] == ids[::-1]
    page_two = await served.data("{ updates(limit: 2, page: 2) { id } }")
    assert page_two["updates"] == [{"id": ids[0]}]
    deleted = await served.data(
        "mutation($id: ID!) { delete_update(id: $id) { id } }", {"id": ids[2]}
    )
    assert deleted["delete_update"] == {"id": ids[2]}
    assert [u["id"] for u in (await served.data("{ updates { id } }"))["updates"]] == [
        ids[1],
        ids[0],
    ]


async def test_updates_of_unknown_items_or_updates_are_not_found(served: Served) -> None:
    """create_update on an unknown item or parent, delete_update of an unknown id: not found."""
    for response in (
        await served.post(CREATE_UPDATE, {"item": "1234", "body": "x"}),
        await served.post(CREATE_UPDATE, {"parent": "1234", "body": "x"}),
        await served.post("mutation { delete_update(id: 1234) { id } }"),
    ):
        assert response.status_code == 200
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "ResourceNotFoundException"
        assert next(iter(body["data"].values())) is None


async def test_reset_forgets_subitems_and_updates(served: Served) -> None:
    """POST /sandbox/reset forgets created subitems, their board and updates."""
    (parent,) = _seeded_items(served, 1)
    await served.data(CREATE_SUBITEM, {"parent": parent, "name": "Temporary"})
    await served.data(CREATE_UPDATE, {"item": parent, "body": "Temporary"})
    assert (await served.http.post("/sandbox/reset")).status_code == 204
    data = await served.data(
        "query($ids: [ID!]) { items(ids: $ids) { subitems { id } updates { id } }"
        ' updates { id } boards(ids: ["5013345601"]) { id } }',
        {"ids": [parent]},
    )
    assert data == {"items": [{"subitems": [], "updates": []}], "updates": [], "boards": []}


async def test_root_fields_the_demo_account_has_nothing_for_answer_empty(served: Served) -> None:
    """Queries for what the sandbox does not model with data (docs, folders, webhooks,
    assets) answer as monday does for an account with none, not with a validation error;
    `version` names the API version that answered."""
    data = await served.data(
        """{ version { kind value } versions { value }
             docs(limit: 5) { id name } folders { id name }
             webhooks(board_id: 5012345601) { id event } assets(ids: [1]) { id } }"""
    )
    assert data["version"] == {"kind": "current", "value": "2025-07"}
    assert data["versions"] == [{"value": "2025-07"}]
    assert (data["docs"], data["folders"], data["webhooks"], data["assets"]) == ([], [], [], [])
