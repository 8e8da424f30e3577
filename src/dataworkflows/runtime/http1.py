"""A lean keep-alive HTTP/1.1 client for the internal connector API.

The engine calls connector processes once per step, with a small JSON body each way,
over connections it keeps open. A general client spends most of such a call on what
it does not need here (URL objects, header multidicts, cookie jars, tracing hooks,
streaming bodies): aiohttp cost the engine ~136 us of CPU per call (bench/w5.py).
This one writes the request as one buffer and reads the answer with httptools (the C
parser uvicorn uses), on a plain :class:`asyncio.Protocol`.

What it does not do, by design: redirects, proxies, cookies, compression, chunked
request bodies, HTTP/2. Answers must be chunked or have a length. A connection that
breaks mid-call is closed and the call fails with :class:`ConnectionError`; nothing is
retried here (the engine's retry policy decides).
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from typing import Final, cast
from urllib.parse import urlsplit

import httptools

__all__ = ["MAX_ANSWER_BYTES", "Http1Pool", "Origin", "ProtocolError", "header_lines"]

MAX_ANSWER_BYTES: Final = 64 * 1024 * 1024
"""The largest answer body read; a bigger one fails the call (the connection is closed)."""

MAX_IDLE_S: Final = 4.0
"""How long a connection may wait idle and still be reused (uvicorn keeps 5 s)."""


def header_lines(headers: dict[str, str]) -> bytes:
    """``headers`` as the ``Name: value\\r\\n`` lines :meth:`Http1Pool.request` takes.

    Raises ValueError for a name or value that would break the request's framing (a
    line break in a configured token must not become a second header)."""
    lines = []
    for name, value in headers.items():
        line = f"{name}: {value}"
        if "\r" in line or "\n" in line or not name or ":" in name:
            raise ValueError(f"header {name!r} cannot be sent: it holds a line break or colon")
        if not line.isascii():
            raise ValueError(f"header {name!r} cannot be sent: it is not ASCII")
        lines.append(line.encode("ascii") + b"\r\n")
    return b"".join(lines)


class ProtocolError(ConnectionError):
    """The server's answer was not valid HTTP/1.1, or was too large."""


class Origin:
    """Where requests go: scheme, host and port, with the bytes every request repeats."""

    __slots__ = ("host", "host_header", "key", "path", "port", "tls")

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        default = 443 if self.tls else 80
        self.port = parts.port or default
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != default:
            netloc = f"{netloc}:{self.port}"
        self.host_header = netloc.encode("idna")
        self.path = parts.path.rstrip("/")
        """The base URL's path (no trailing slash): request targets start with it."""
        self.key = (self.host, self.port, self.tls)
        """What the pool keeps connections by: one set per host, port and scheme."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request on it at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._body: list[bytes] = []
        self._size = 0
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._complete = False
        self.idle_since = 0.0
        """When the connection was last put back idle (time.monotonic)."""

    # -- asyncio.Protocol --------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but behave as one.
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        if self._answer is None:
            # Bytes nobody asked for: the connection cannot be trusted any more.
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ProtocolError("the server asked to upgrade the connection"))
        except httptools.HttpParserError as exc:
            self._fail(ProtocolError(f"the answer is not valid HTTP/1.1 ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError("the connection closed before the answer was complete"))

    # -- httptools callbacks -------------------------------------------------
    def on_body(self, body: bytes) -> None:
        if self.closed:
            return
        self._size += len(body)
        if self._size > MAX_ANSWER_BYTES:
            # Not raised: httptools would hide it behind its own callback error.
            self._fail(ProtocolError(f"the answer is larger than {MAX_ANSWER_BYTES} bytes"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer = self._answer
        self._complete = True
        if answer is not None and not answer.done():
            answer.set_result((self._parser.get_status_code(), b"".join(self._body)))
        if not self._parser.should_keep_alive():
            self.close()

    # -- for the pool ------------------------------------------------------
    def send(self, request: bytes, answer: asyncio.Future[tuple[int, bytes]]) -> None:
        """Write one request; ``answer`` gets (status, body) or a ConnectionError."""
        assert self.transport is not None
        self._answer = answer
        self._body = []
        self._size = 0
        self._complete = False
        if self.closed:  # lost while it changed hands: connection_lost has been and gone
            answer.set_exception(ConnectionError("the connection closed before the request"))
            return
        self.transport.write(request)

    def reusable(self) -> bool:
        """Whether the last request finished cleanly and the connection stays open."""
        return self._complete and not self.closed

    def release(self) -> None:
        self._answer = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_exception(exc)
        self.close()


class _OriginPool:
    """The connections to one origin: idle ones, and callers waiting in line.

    ``open`` counts every connection that is open, being opened, or promised to a
    waiter; a waiter is handed either a connection or (None) the right to open one."""

    __slots__ = ("idle", "open", "waiters")

    def __init__(self) -> None:
        self.idle: collections.deque[_Connection] = collections.deque()
        self.open = 0
        self.waiters: collections.deque[asyncio.Future[_Connection | None]] = collections.deque()


class Http1Pool:
    """Keep-alive connections to any number of origins, at most ``limit`` to each.

    Callers beyond the limit wait in order for a connection to come free.
    ``connect_timeout_s`` bounds opening a connection and ``timeout_s`` (None: no
    bound) the whole call, waiting in line included. A call that times out or is
    cancelled mid-way closes its connection: the answer it missed must not be read
    as the next call's.

    A connection idle for ``max_idle_s`` is closed rather than reused. The default is
    below uvicorn's keep-alive timeout (5 s), which every component is served with:
    a request written just as the server closes an idle connection would fail, and
    its step would wait for a retry.
    """

    def __init__(
        self,
        *,
        limit: int = 512,
        connect_timeout_s: float = 5.0,
        timeout_s: float | None = None,
        max_idle_s: float = MAX_IDLE_S,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.max_idle_s = max_idle_s
        self.connect_timeout_s = connect_timeout_s
        self.timeout_s = timeout_s
        self._pools: dict[tuple[str, int, bool], _OriginPool] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def request(
        self, origin: Origin, method: str, target: str, headers: bytes, body: bytes | None
    ) -> tuple[int, bytes]:
        """Send one request and read its whole answer: (status, body).

        ``headers`` are ready-encoded ``Name: value\\r\\n`` lines (no Host or
        Content-Length: this adds them). Raises :class:`ConnectionError` (and
        :class:`OSError`) when the origin cannot be reached or the connection breaks.
        """
        if self.timeout_s is not None:
            async with asyncio.timeout(self.timeout_s):
                return await self._request(origin, method, target, headers, body)
        return await self._request(origin, method, target, headers, body)

    async def _request(
        self, origin: Origin, method: str, target: str, headers: bytes, body: bytes | None
    ) -> tuple[int, bytes]:
        if self._closed:
            raise ConnectionError("the HTTP client is closed")
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\n%s" % (
            method.encode("ascii"),
            target.encode("ascii"),
            origin.host_header,
            headers,
        )
        if body is None:
            request = head + b"\r\n"
        else:
            request = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        pool = self._pools.get(origin.key)
        if pool is None:
            pool = self._pools[origin.key] = _OriginPool()
        connection = await self._acquire(pool, origin)
        answer: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        try:
            connection.send(request, answer)
            return await answer
        finally:
            self._release(pool, connection)

    async def _acquire(self, pool: _OriginPool, origin: Origin) -> _Connection:
        if not pool.waiters and pool.idle:
            fresh_since = time.monotonic() - self.max_idle_s
            while pool.idle:
                connection = pool.idle.pop()  # the most recently used: the least likely stale
                if not connection.closed and connection.idle_since > fresh_since:
                    return connection
                # Closed by the server, or about to be; the ones behind it are older.
                connection.close()
                pool.open -= 1
        if pool.open < self.limit and not pool.waiters:
            pool.open += 1
        else:
            waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
            pool.waiters.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if not waiter.done():
                    pool.waiters.remove(waiter)
                elif not waiter.cancelled():
                    # Handed something just as we were cancelled: pass it on.
                    handed = waiter.result()
                    if handed is None:
                        self._give_slot(pool)
                    else:
                        self._release(pool, handed)
                raise
            if handed is not None and not handed.closed:
                return handed
            # Handed a slot, or a connection that closed on its way: open a new one.
        try:
            return await self._connect(origin)
        except BaseException:
            self._give_slot(pool)
            raise

    async def _connect(self, origin: Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        context = None
        if origin.tls:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        async with asyncio.timeout(self.connect_timeout_s):
            transport, connection = await loop.create_connection(
                _Connection, origin.host, origin.port, ssl=context
            )
        # uvloop may call connection_made only after create_connection returns.
        connection.transport = transport
        return connection

    def _release(self, pool: _OriginPool, connection: _Connection) -> None:
        """Hand a used connection to the next waiter, keep it idle, or close it."""
        if not connection.reusable() or self._closed:
            connection.close()
            self._give_slot(pool)
            return
        connection.release()
        connection.idle_since = time.monotonic()
        while pool.waiters:
            waiter = pool.waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        pool.idle.append(connection)

    @staticmethod
    def _give_slot(pool: _OriginPool) -> None:
        """A connection is gone: let the next waiter open one, or free its slot."""
        while pool.waiters:
            waiter = pool.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        pool.open -= 1

    async def __aenter__(self) -> Http1Pool:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every idle connection; later calls fail, calls in flight finish."""
        self._closed = True
        for pool in self._pools.values():
            while pool.idle:
                pool.idle.pop().close()
                pool.open -= 1
        await asyncio.sleep(0)  # let the transports close
