"""The real Monday client against the Monday sandbox over HTTP: paging, errors, waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import stamina

from dataworkflows.connectors.monday.client import MondayClient
from dataworkflows.connectors.monday.port import (
    MondayAuthError,
    MondayCursorExpired,
    MondayDailyLimit,
    MondayInvalidInput,
    MondayNotFound,
    MondayRateLimited,
    MondayUnavailable,
)
from dataworkflows.connectors.monday.service import monday_actions
from dataworkflows.connectors.toolkit.transport import RETRY_AFTER_JITTER_S
from dataworkflows.contracts import ActionFailed, ActionRequest
from dataworkflows.runtime.resilience import CircuitBreaker
from tests.support.monday import SANDBOX_TOKEN, SandboxControl, monday_sandbox_process


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxControl]:
    with monday_sandbox_process(tmp_path_factory.mktemp("monday")) as control:
        yield control


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox: SandboxControl) -> None:
    """Every test starts from the seeded workspace, with no faults."""
    sandbox.reset()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def retries() -> Iterator[None]:
    """stamina's testing mode, with up to 3 attempts (no real waiting)."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(True)


def client_for(sandbox: SandboxControl, http: httpx.AsyncClient, **kwargs: Any) -> MondayClient:
    return MondayClient(token=SANDBOX_TOKEN, http=http, url=sandbox.graphql, **kwargs)


async def big_board(client: MondayClient) -> tuple[str, int]:
    boards = await client.list_boards(limit=100)
    board = max(boards, key=lambda b: b.items_count or 0)
    assert board.items_count is not None
    return board.id, board.items_count


async def test_paging_returns_every_item_of_a_board_over_500(
    sandbox: SandboxControl, http: httpx.AsyncClient
) -> None:
    """items_page then next_items_page until the cursor is null: all items, once each."""
    client = client_for(sandbox, http)
    board_id, count = await big_board(client)
    assert count > 500
    pages = [page async for page in client.item_pages(board_id)]
    ids = [item.id for page in pages for item in page]
    assert len(pages) >= 2
    assert all(len(page) <= 500 for page in pages)
    assert len(ids) == len(set(ids)) == count
    sent = sandbox.requests()
    assert all(r["api_version"] == "2025-07" for r in sent)
    assert all(r["authorization_present"] for r in sent)


async def test_items_are_normalised(sandbox: SandboxControl, http: httpx.AsyncClient) -> None:
    """Each item has its group and columns with id, title, type, text and a parsed value."""
    client = client_for(sandbox, http)
    board_id, _ = await big_board(client)
    items = [i async for page in client.item_pages(board_id, page_size=50) for i in page][:50]
    status = next(i.columns["status"] for i in items if i.columns["status"].value)
    assert status.type == "status"
    assert isinstance(status.value, dict)
    assert "index" in status.value
    assert status.title
    assert all(item.group is not None and item.board_id == board_id for item in items)
    empty = [i.columns["status"] for i in items if i.columns["status"].value is None]
    assert all(c.text in (None, "") for c in empty)


async def test_create_then_update_round_trip(
    sandbox: SandboxControl, http: httpx.AsyncClient
) -> None:
    """The actions create an item and change several columns with monday's shapes."""
    client = client_for(sandbox, http)
    board_id, _ = await big_board(client)
    actions = monday_actions(client)
    created = await actions.invoke(
        "create_item",
        ActionRequest(
            input={
                "board_id": board_id,
                "item_name": "Ship the report",
                "column_values": {
                    "status": {"label": "Working on it"},
                    "date4": {"date": "2026-12-01"},
                },
            }
        ),
    )
    item_id = created["item"]["id"]
    updated = await actions.invoke(
        "update_item",
        ActionRequest(
            input={
                "board_id": board_id,
                "item_id": item_id,
                "column_values": {"status": {"label": "Done"}, "text": "all good"},
            }
        ),
    )
    assert updated["item"]["columns"]["status"]["text"] == "Done"
    assert updated["item"]["columns"]["text"]["text"] == "all good"
    fetched = await actions.invoke("get_item", ActionRequest(input={"item_id": item_id}))
    assert fetched["item"]["columns"]["date4"]["value"]["date"] == "2026-12-01"


async def test_invalid_column_value_is_not_retried(
    sandbox: SandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """A ColumnValueException is invalid input: one request, no retry."""
    client = client_for(sandbox, http)
    board_id, _ = await big_board(client)
    with pytest.raises(MondayInvalidInput, match="status"):
        await client.create_item(
            board_id, "x", column_values={"status": {"label": "No such label"}}
        )
    assert len(sandbox.requests()) == 2  # list_boards + the refused mutation


async def test_unknown_board_is_not_found(sandbox: SandboxControl, http: httpx.AsyncClient) -> None:
    """Paging a board that does not exist raises MondayNotFound."""
    with pytest.raises(MondayNotFound):
        [p async for p in client_for(sandbox, http).item_pages("1")]


async def test_a_garbage_cursor_is_a_cursor_error(
    sandbox: SandboxControl, http: httpx.AsyncClient
) -> None:
    """A cursor monday does not know answers CursorException, surfaced as cursor expired."""
    client = client_for(sandbox, http)
    with pytest.raises(MondayCursorExpired):
        await client.execute(
            "query ($c: String!) { next_items_page(cursor: $c, limit: 10) { cursor items { id } } }",
            {"c": "not-a-cursor"},
        )


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("unauthorized", MondayAuthError),
        ("user_unauthorized", MondayAuthError),
        ("daily_limit", MondayDailyLimit),
    ],
)
async def test_errors_that_must_not_be_retried(
    sandbox: SandboxControl,
    http: httpx.AsyncClient,
    retries: None,
    kind: str,
    error: type[Exception],
) -> None:
    """Auth errors and the daily limit fail at once: exactly one request reaches monday."""
    sandbox.fault(kind, times=3)
    with pytest.raises(error):
        await client_for(sandbox, http).list_boards()
    assert len(sandbox.requests()) == 1


async def test_a_wrong_token_is_an_auth_error(
    sandbox: SandboxControl, http: httpx.AsyncClient
) -> None:
    """A token the sandbox does not know gets HTTP 401, an auth error, and is never echoed."""
    client = MondayClient(token="not-the-token-123", http=http, url=sandbox.graphql)
    with pytest.raises(MondayAuthError) as caught:
        await client.list_boards()
    assert "not-the-token-123" not in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("complexity_budget", 3.0),
        ("legacy_complexity", 3.0),
        ("ip_rate_limit", 3.0),
        ("minute_limit", 3.0),
        ("concurrency_limit", 3.0),
    ],
)
async def test_rate_limits_are_retried_after_the_wait_monday_asks(
    sandbox: SandboxControl, http: httpx.AsyncClient, retries: None, kind: str, hint: float
) -> None:
    """Every rate-limit shape is retried, and the wait is what monday asked for (plus at
    most RETRY_AFTER_JITTER_S of jitter)."""
    waits: list[float] = []
    client = client_for(sandbox, http)
    original = client._upstream._backoff

    def spy(error: Exception) -> bool | float:
        result = original(error)
        if isinstance(error, MondayRateLimited):
            waits.append(float(result))
        return result

    client._upstream._backoff = spy  # type: ignore[method-assign]
    sandbox.fault(kind, times=1, retry_in_seconds=3)
    boards = await client.list_boards()
    assert boards
    assert len(waits) == 1
    assert hint <= waits[0] <= hint + RETRY_AFTER_JITTER_S
    assert len(sandbox.requests()) == 2


async def test_waits_longer_than_the_limit_go_back_to_the_engine(
    sandbox: SandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """A wait beyond max_wait_s is not slept here: the typed error carries it to the engine."""
    sandbox.fault("complexity_budget", times=1, retry_in_seconds=90)
    actions = monday_actions(client_for(sandbox, http, max_wait_s=30))
    with pytest.raises(ActionFailed) as caught:
        await actions.invoke("list_boards", ActionRequest(input={}))
    assert caught.value.error.code == "rate_limited"
    assert caught.value.error.retryable
    assert caught.value.error.retry_after_s == 90
    assert len(sandbox.requests()) == 1


@pytest.mark.parametrize("kind", ["server_error", "bad_gateway"])
async def test_server_errors_are_retried(
    sandbox: SandboxControl, http: httpx.AsyncClient, retries: None, kind: str
) -> None:
    """5xx answers (JSON or a proxy's HTML) are transient: retried, then it works."""
    sandbox.fault(kind, times=2)
    assert await client_for(sandbox, http).list_boards()
    assert len(sandbox.requests()) == 3


async def test_a_slow_answer_times_out_as_unavailable(sandbox: SandboxControl) -> None:
    """An answer slower than the client's timeout is a transient MondayUnavailable."""
    sandbox.fault("slow", times=1, delay_s=1.0)
    async with httpx.AsyncClient(timeout=0.2) as impatient:
        with pytest.raises(MondayUnavailable, match="in time"):
            await client_for(sandbox, impatient).list_boards()
    # The sandbox finishes the abandoned request later; let it, so the next test's log
    # starts clean.
    deadline = time.monotonic() + 5
    while not sandbox.requests() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert [r["status"] for r in sandbox.requests()] == [200]


async def test_the_wait_is_really_honoured(
    sandbox: SandboxControl, http: httpx.AsyncClient
) -> None:
    """Outside testing mode the client really waits retry_in_seconds before retrying."""
    stamina.set_testing(False)
    try:
        sandbox.fault("complexity_budget", times=1, retry_in_seconds=1)
        started = time.monotonic()
        await client_for(sandbox, http, attempts=2).list_boards()
        elapsed = time.monotonic() - started
    finally:
        stamina.set_testing(True)
    assert elapsed >= 1.0
    assert [r["status"] for r in sandbox.requests()] == [429, 200]


async def test_the_circuit_opens_after_repeated_failures(
    sandbox: SandboxControl, http: httpx.AsyncClient
) -> None:
    """After consecutive failures calls fail at once without reaching monday; readyz says so."""
    breaker = CircuitBreaker("monday.com", failure_threshold=3, reset_after_s=60)
    client = client_for(sandbox, http, breaker=breaker, attempts=1)
    sandbox.fault("server_error", times=10)
    for _ in range(3):
        with pytest.raises(MondayUnavailable):
            await client.list_boards()
    with pytest.raises(MondayUnavailable, match="not calling it"):
        await client.list_boards()
    assert len(sandbox.requests()) == 3
    assert breaker.problem() is not None
