"""Connecting to PostgreSQL: one-line errors that name the server, and the async pool.

Nothing here knows about tables; components reach data through stored functions
(see :mod:`dataworkflows.runtime.queries`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Final, LiteralString, TypeVar

import msgspec
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

__all__ = [
    "DatabaseUnavailable",
    "Pool",
    "StoredFunctions",
    "connect",
    "describe_target",
    "open_pool",
    "outages_as_unavailable",
    "without_nul",
]

Pool = AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]]
"""The connection pool every PostgreSQL adapter is given."""

CONNECT_TIMEOUT_S = 5
CHECKOUT_TIMEOUT_S = 1.5
"""How long a caller waits for a connection: during an outage a request answers 503
after this, not after psycopg_pool's default 30 s."""
RECONNECT_EVERY_S = 1.0
RECONNECT_FOR_S = 7 * 24 * 3600.0
"""Reconnection goes on at a steady pace for this long (a week) rather than giving up."""


class _SteadyAttempt(AttemptWithBackoff):
    """A reconnection attempt every second or so, for as long as it takes.

    psycopg_pool doubles the wait after each failed attempt (1, 2, 4 ... s): after a
    minute-long outage the pool would find the database back only half a minute
    later. A pool holds a handful of connections, so one attempt per second each is
    no load worth saving a server from.
    """

    INITIAL_DELAY = RECONNECT_EVERY_S
    DELAY_BACKOFF = 1.0


class _RecoveringPool(AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]]):
    """A pool that retries lost connections at a steady pace (see :class:`_SteadyAttempt`)."""

    async def _add_connection(
        self, attempt: AttemptWithBackoff | None, growing: bool = False
    ) -> None:
        # psycopg_pool makes a fresh attempt here when given none; the subsequent ones
        # reuse it, so one steady attempt sets the pace of the whole reconnection.
        await super()._add_connection(
            attempt or _SteadyAttempt(timeout=self.reconnect_timeout), growing=growing
        )


class DatabaseUnavailable(Exception):
    """PostgreSQL could not be reached (or no connection was free in time): worth trying
    again later. Stores raise it for every connection failure, so that nothing above
    them needs to know psycopg."""


_OUTAGE: Final = (psycopg.OperationalError, PoolTimeout)


def _unavailable(exc: Exception) -> DatabaseUnavailable:
    return DatabaseUnavailable(" ".join(str(exc).split()) or type(exc).__name__)


_C = TypeVar("_C", bound=type)


def outages_as_unavailable(cls: _C) -> _C:
    """Class decorator for a store: its public coroutines and async generators raise
    :class:`DatabaseUnavailable` where psycopg would raise a connection failure."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if inspect.iscoroutinefunction(member):
            setattr(cls, name, _translated_coroutine(member))
        elif inspect.isasyncgenfunction(member):
            setattr(cls, name, _translated_generator(member))
    return cls


def _translated_coroutine(
    method: Callable[..., Awaitable[object]],
) -> Callable[..., Awaitable[object]]:
    @functools.wraps(method)
    async def translated(*args: object, **kwargs: object) -> object:
        try:
            return await method(*args, **kwargs)
        except _OUTAGE as exc:
            raise _unavailable(exc) from exc

    return translated


def _translated_generator(
    method: Callable[..., AsyncGenerator[object, None]],
) -> Callable[..., AsyncGenerator[object, None]]:
    @functools.wraps(method)
    async def translated(*args: object, **kwargs: object) -> AsyncGenerator[object, None]:
        # aclosing: when the caller stops listening, the inner generator's cleanup
        # (closing its connection) runs now, not whenever it is garbage collected.
        async with contextlib.aclosing(method(*args, **kwargs)) as inner:
            try:
                async for item in inner:
                    yield item
            except _OUTAGE as exc:
                raise _unavailable(exc) from exc

    return translated


_T = TypeVar("_T")


class StoredFunctions:
    """Base of a PostgreSQL adapter: calls of stored functions over a pool, rows back
    as dicts or converted to a struct."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def _rows(self, query: LiteralString, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(query, params)
            return await cursor.fetchall()

    async def _typed(
        self, query: LiteralString, params: dict[str, Any], into: type[_T]
    ) -> list[_T]:
        return [msgspec.convert(row, into) for row in await self._rows(query, params)]

    async def _one(self, query: LiteralString, params: dict[str, Any], into: type[_T]) -> _T | None:
        rows = await self._typed(query, params, into)
        return rows[0] if rows else None


def describe_target(url: str) -> str:
    """Where ``url`` points, for messages: ``127.0.0.1:5432 database "test"``.

    Never includes the password.
    """
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    dbname = params.get("dbname") or params.get("user") or "postgres"
    if host.startswith("/"):
        return f'the socket in {host} (port {port}), database "{dbname}"'
    return f'{host}:{port}, database "{dbname}"'


def _reason(exc: psycopg.Error) -> str:
    # libpq's message spans lines ("connection failed: ...\n\tIs the server running...");
    # one line reads better in logs and terminals.
    text = " ".join(str(exc).split())
    for prefix in ("connection failed: ", "connection is bad: "):
        text = text.removeprefix(prefix)
    return text or type(exc).__name__


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
    """A synchronous connection to ``url``, or :class:`DatabaseUnavailable`."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {describe_target(url)}: {_reason(exc)}"
        ) from None


async def _configure(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
    # msgspec parses json/jsonb columns several times faster than the json module.
    set_json_loads(msgspec.json.decode, conn)


async def open_pool(
    url: str, *, max_size: int, name: str, min_size: int = 1, check: bool = True
) -> Pool:
    """An open connection pool to ``url``, checked by one real connection.

    Through a database outage: a caller waits at most :data:`CHECKOUT_TIMEOUT_S` for a
    connection; with ``check`` every connection is tested before it is handed out (a
    cheap round trip), so that one broken by the outage is replaced instead of failing
    the caller's query after the database is back; lost connections are retried every
    second. Raises :class:`DatabaseUnavailable` (naming the server) when it cannot
    connect at all.
    """
    # Try one connection first: the pool alone would only report a timeout.
    try:
        probe = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {describe_target(url)}: {_reason(exc)}"
        ) from None
    await probe.close()
    pool: Pool = _RecoveringPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        name=name,
        open=False,
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
        configure=_configure,
        check=AsyncConnectionPool.check_connection if check else None,
        timeout=CHECKOUT_TIMEOUT_S,
        reconnect_timeout=RECONNECT_FOR_S,
    )
    await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
    return pool


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters in strings replaced by U+FFFD.

    PostgreSQL's json and jsonb cannot hold NUL, and step outputs and report data come
    from other systems' free text: one odd character must not lose the whole record.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    if isinstance(value, msgspec.Struct):
        return without_nul(msgspec.to_builtins(value))
    return value
