"""Connecting to PostgreSQL: one-line errors that name the server, and the async pool.

Nothing here knows about tables; components reach data through stored functions
(see :mod:`dataworkflows.runtime.queries`).
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool

__all__ = ["DatabaseUnavailable", "Pool", "connect", "describe_target", "open_pool", "without_nul"]

Pool = AsyncConnectionPool[psycopg.AsyncConnection[tuple[object, ...]]]
"""The connection pool every PostgreSQL adapter is given."""

CONNECT_TIMEOUT_S = 5


class DatabaseUnavailable(Exception):
    """PostgreSQL could not be reached; the message names host, port and database."""


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


async def open_pool(url: str, *, max_size: int, name: str, min_size: int = 1) -> Pool:
    """An open connection pool to ``url``, checked by one real connection.

    Raises :class:`DatabaseUnavailable` (naming the server) when it cannot connect.
    """
    # Try one connection first: the pool alone would only report a timeout.
    try:
        probe = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {describe_target(url)}: {_reason(exc)}"
        ) from None
    await probe.close()
    pool: Pool = AsyncConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        name=name,
        open=False,
        kwargs={"autocommit": True},
        configure=_configure,
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
