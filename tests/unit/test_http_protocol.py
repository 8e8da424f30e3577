"""The served HTTP protocol: each answer leaves in one write, nothing reordered."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from dataworkflows.runtime.http_protocol import FLUSH_AT, CoalescingProtocol


class RecordingTransport(asyncio.Transport):
    """Records what the protocol writes and when it closes."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[bytes | str] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.events.append(bytes(data))

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def body_app(body: bytes) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def answer(
    app: Any, request: bytes, transport: RecordingTransport | None = None
) -> RecordingTransport:
    """Feed ``request`` to a CoalescingProtocol serving ``app``; what it wrote."""
    config = uvicorn.Config(app, lifespan="off", log_config=None, ws="none", access_log=False)
    protocol = CoalescingProtocol(config=config, server_state=ServerState(), app_state={})
    transport = transport or RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(100):
        await asyncio.sleep(0)
        if "close" in transport.events or b"".join(_bytes(transport)).endswith(b"ok"):
            break
    protocol.connection_lost(None)
    return transport


def _bytes(transport: RecordingTransport) -> list[bytes]:
    return [e for e in transport.events if isinstance(e, bytes)]


async def test_an_answer_leaves_as_one_write() -> None:
    """Status line, headers and body reach the socket in one write (one segment)."""
    transport = await answer(body_app(b"ok"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    writes = _bytes(transport)
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\nok")


async def test_a_closing_answer_is_written_before_the_close() -> None:
    """With Connection: close, the whole answer is passed on before the transport closes."""
    request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    transport = await answer(body_app(b"ok"), request)
    assert transport.events[-1] == "close"
    writes = _bytes(transport)
    assert len(writes) == 1
    assert writes[0].endswith(b"ok")


async def test_a_large_body_is_passed_on_at_once_so_flow_control_holds() -> None:
    """A body past FLUSH_AT goes to the transport in the same turn, not later."""
    big = b"x" * (FLUSH_AT + 1)
    transport = RecordingTransport()
    seen_in_turn: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-length", str(len(big) + 2).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": big, "more_body": True})
        seen_in_turn.append(len(_bytes(transport)))
        await send({"type": "http.response.body", "body": b"ok"})

    await answer(app, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", transport)
    assert seen_in_turn == [1]
    whole = b"".join(_bytes(transport))
    assert whole.startswith(b"HTTP/1.1 200 OK\r\n")
    assert whole.endswith(b"\r\n\r\n" + big + b"ok")
