"""A store's connection failures reach the engine as DatabaseUnavailable, never as
psycopg's own errors, and a listener that stops listening releases its connection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from dataworkflows.runtime.database import DatabaseUnavailable, outages_as_unavailable


@outages_as_unavailable
class Store:
    """A store whose calls fail as psycopg's do during an outage."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.closed = False

    async def read(self) -> str:
        if self.error is not None:
            raise self.error
        return "row"

    async def notifications(self) -> AsyncIterator[str]:
        try:
            yield "listening"
            if self.error is not None:
                raise self.error
            yield "queued"
        finally:
            self.closed = True

    async def _private(self) -> str:
        raise psycopg.OperationalError("not translated: callers go through public methods")


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("connection failed: server closed\n\tthe connection"),
        PoolTimeout("couldn't get a connection after 1.50 sec"),
    ],
    ids=["connection", "pool-checkout"],
)
async def test_an_outage_is_database_unavailable_with_a_one_line_reason(error: Exception) -> None:
    """Both a broken connection and an exhausted pool are DatabaseUnavailable, and the
    message stays on one line."""
    with pytest.raises(DatabaseUnavailable) as caught:
        await Store(error).read()
    assert "\n" not in str(caught.value)
    assert str(caught.value)


async def test_other_errors_and_answers_pass_through() -> None:
    """A refusal that is not an outage keeps its type; a working call answers."""
    assert await Store(None).read() == "row"
    with pytest.raises(psycopg.DataError):
        await Store(psycopg.DataError("invalid input syntax")).read()


async def test_a_listener_that_breaks_raises_database_unavailable() -> None:
    """An outage while listening ends the notifications with DatabaseUnavailable."""
    store = Store(psycopg.OperationalError("server closed the connection"))
    seen: list[str] = []

    async def listen() -> None:
        async for payload in store.notifications():
            seen.append(payload)

    with pytest.raises(DatabaseUnavailable):
        await listen()
    assert seen == ["listening"]
    assert store.closed


async def test_a_listener_that_stops_listening_cleans_up_at_once() -> None:
    """Closing the notifications closes the store's own generator (its connection) now,
    not when it is garbage collected."""
    store = Store(None)
    listener = store.notifications()
    assert await anext(listener) == "listening"
    await listener.aclose()  # type: ignore[attr-defined]
    assert store.closed
