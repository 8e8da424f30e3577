"""The engine's keep-alive HTTP/1.1 client against scripted servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from dataworkflows.runtime import http1
from dataworkflows.runtime.http1 import Http1Pool, Origin, ProtocolError, header_lines
from dataworkflows.runtime.serving import uvicorn_config
from tests.support.net import free_port

Handler = Callable[[int, bytes, asyncio.StreamWriter], Awaitable[bool]]
"""(connection number, request head and body, writer) -> keep the connection open?"""

JSON = header_lines({"Content-Type": "application/json"})


class Server:
    """A raw HTTP/1.1 server: it records every request and answers as scripted."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[int, bytes]] = []
        self.connections = 0
        self.open = 0
        self.most_open = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append((number, request))
                if not await self.handler(number, request, writer):
                    return
        finally:
            self.open -= 1
            writer.close()


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[tuple[Server, Origin]]:
    server = Server(handler)
    port = free_port()
    listener = await asyncio.start_server(server.serve, "127.0.0.1", port)
    try:
        yield server, Origin(f"http://127.0.0.1:{port}/base/")
    finally:
        listener.close()


def answer(status: int, body: bytes, *extra: bytes) -> bytes:
    head = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n" % (status, len(body))
    return head + b"".join(extra) + b"\r\n" + body


async def echo(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(answer(200, request.split(b"\r\n\r\n", 1)[1]))
    await writer.drain()
    return True


async def test_calls_share_one_kept_alive_connection() -> None:
    """Calls one after another reuse one connection, and each gets its own body back."""
    async with serving(echo) as (server, origin), Http1Pool() as pool:
        for n in range(3):
            status, body = await pool.request(origin, "POST", "/x", JSON, b'{"n":%d}' % n)
            assert (status, body) == (200, b'{"n":%d}' % n)
    assert server.connections == 1
    head = server.requests[0][1].split(b"\r\n")
    assert head[0] == b"POST /x HTTP/1.1"
    assert f"Host: 127.0.0.1:{origin.port}".encode() in head
    assert b"Content-Type: application/json" in head
    assert b"Content-Length: 7" in head
    assert origin.path == "/base"


async def test_a_connection_idle_too_long_is_closed_not_reused() -> None:
    """Past ``max_idle_s`` the pool opens a new connection and closes the stale one."""
    async with serving(echo) as (server, origin), Http1Pool(max_idle_s=0.05) as pool:
        assert await pool.request(origin, "POST", "/x", JSON, b"1") == (200, b"1")
        await asyncio.sleep(0.1)
        assert await pool.request(origin, "POST", "/x", JSON, b"2") == (200, b"2")
        for _ in range(100):  # the server notices the close on its next read
            if server.open == 1:
                break
            await asyncio.sleep(0.01)
        assert (server.connections, server.open) == (2, 1)
        assert [number for number, _ in server.requests] == [1, 2]


def test_the_client_lets_go_of_idle_connections_before_the_server_does() -> None:
    """Clients drop idle connections before the servers' keep-alive timeout closes them."""
    assert uvicorn_config(None).timeout_keep_alive > http1.MAX_IDLE_S


async def test_a_chunked_answer_is_read_whole() -> None:
    """A chunked answer arrives as one body, and the connection stays usable."""

    async def chunked(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"3\r\nabc\r\n")
        await writer.drain()
        writer.write(b"2\r\nde\r\n0\r\n\r\n")
        return True

    async with serving(chunked) as (server, origin), Http1Pool() as pool:
        assert await pool.request(origin, "GET", "/", b"", None) == (201, b"abcde")
        assert await pool.request(origin, "GET", "/", b"", None) == (201, b"abcde")
    assert server.connections == 1


async def test_connection_close_is_honoured() -> None:
    """An answer with ``Connection: close`` is the last one on its connection."""

    async def closing(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(200, b"ok", b"Connection: close\r\n"))
        await writer.drain()
        return False

    async with serving(closing) as (server, origin), Http1Pool() as pool:
        for _ in range(3):
            assert await pool.request(origin, "GET", "/", b"", None) == (200, b"ok")
    assert server.connections == 3


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """After the server drops an idle connection (its keep-alive timeout), the next
    call opens a new one instead of failing."""

    async def once(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(200, b"ok"))
        await writer.drain()
        return False  # closes without saying so

    async with serving(once) as (server, origin), Http1Pool() as pool:
        assert await pool.request(origin, "GET", "/", b"", None) == (200, b"ok")
        await asyncio.sleep(0.05)
        assert await pool.request(origin, "GET", "/", b"", None) == (200, b"ok")
    assert server.connections == 2


async def test_calls_beyond_the_limit_wait_in_order() -> None:
    """With a limit of 2, ten concurrent calls never hold more than two connections,
    and all of them finish."""

    async def slow(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.02)
        return await echo(number, request, writer)

    async with serving(slow) as (server, origin), Http1Pool(limit=2) as pool:
        answers = await asyncio.gather(
            *(pool.request(origin, "POST", "/", b"", b"%d" % n) for n in range(10))
        )
    assert [body for _, body in answers] == [b"%d" % n for n in range(10)]
    assert server.most_open == 2
    # First come, first served: the calls reached the server in the order made.
    assert [r.rsplit(b"\r\n\r\n", 1)[1] for _, r in server.requests] == [
        b"%d" % n for n in range(10)
    ]


async def test_a_timed_out_call_gives_its_connection_up() -> None:
    """A call that times out closes its connection, so its late answer is never read
    as the next call's; a caller waiting in line that times out frees its place."""

    async def late_first(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"late" in request:
            await asyncio.sleep(0.3)
        return await echo(number, request, writer)

    async with serving(late_first) as (server, origin), Http1Pool(limit=1, timeout_s=0.2) as pool:
        first = asyncio.create_task(pool.request(origin, "POST", "/", b"", b"late"))
        await asyncio.sleep(0.01)
        with pytest.raises(TimeoutError):  # still waiting in line behind the first
            await asyncio.wait_for(pool.request(origin, "POST", "/", b"", b"queued"), 0.05)
        with pytest.raises(TimeoutError):
            await first
        assert await pool.request(origin, "POST", "/", b"", b"next") == (200, b"next")
    assert server.connections == 2
    assert [r.rsplit(b"\r\n\r\n", 1)[1] for _, r in server.requests] == [b"late", b"next"]


async def test_a_connection_broken_mid_answer_fails_the_call_only() -> None:
    """The server dying mid-answer is a ConnectionError; the next call works."""

    async def half(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        if number == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
            await writer.drain()
            return False
        return await echo(number, request, writer)

    async with serving(half) as (_, origin), Http1Pool() as pool:
        with pytest.raises(ConnectionError):
            await pool.request(origin, "POST", "/", b"", b"a")
        assert await pool.request(origin, "POST", "/", b"", b"b") == (200, b"b")


async def test_garbage_and_oversized_answers_are_protocol_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Something that is not HTTP, or an answer over the size bound, fails the call
    with a ProtocolError and closes the connection."""

    async def garbage(number: int, request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"garbage" in request:
            writer.write(b"SMTP ready\r\n\r\n")
        else:
            writer.write(answer(200, b"x" * 100))
        await writer.drain()
        return True

    monkeypatch.setattr(http1, "MAX_ANSWER_BYTES", 64)
    async with serving(garbage) as (server, origin), Http1Pool() as pool:
        with pytest.raises(ProtocolError):
            await pool.request(origin, "POST", "/", b"", b"garbage")
        with pytest.raises(ProtocolError, match="larger than 64 bytes"):
            await pool.request(origin, "POST", "/", b"", b"big")
    assert server.connections == 2


async def test_nobody_listening_is_an_os_error() -> None:
    """A refused connection raises OSError (the engine's 'unreachable'), and a closed
    pool refuses calls."""
    pool = Http1Pool()
    with pytest.raises(OSError, match="onnect"):
        await pool.request(Origin(f"http://127.0.0.1:{free_port()}"), "GET", "/", b"", None)
    await pool.close()
    with pytest.raises(ConnectionError, match="closed"):
        await pool.request(Origin("http://127.0.0.1:9"), "GET", "/", b"", None)


def test_header_lines_refuse_what_would_break_the_request() -> None:
    """A line break, a colon in a name, or a non-ASCII value is refused, not sent."""
    assert header_lines({"A": "b", "C-D": "e f"}) == b"A: b\r\nC-D: e f\r\n"
    for bad in ({"A": "b\r\nX-Injected: 1"}, {"A:B": "c"}, {"": "c"}, {"A": "\u00e9"}):
        with pytest.raises(ValueError, match="cannot be sent"):
            header_lines(bad)


def test_origins_take_scheme_host_port_and_path() -> None:
    """Default ports, IPv6 hosts and base paths give the right Host and target."""
    plain = Origin("http://connector")
    assert (plain.port, plain.tls, plain.host_header, plain.path) == (80, False, b"connector", "")
    tls = Origin("https://[::1]:8443/api/")
    assert (tls.port, tls.tls, tls.host_header, tls.path) == (8443, True, b"[::1]:8443", "/api")
    for bad in ("ftp://x", "http://", "connector:80"):
        with pytest.raises(ValueError, match="not an http"):
            Origin(bad)
