"""uvicorn's HTTP/1.1 protocol with a response's writes sent together.

uvicorn writes a response's status line and headers when the app sends
``http.response.start`` and its body on ``http.response.body``: two ``send`` system
calls, and two TCP segments that the client's event loop may have to wake for twice.
For the small answers every component gives (the internal connector API above all)
that doubles the per-answer cost in the kernel on both sides. :class:`CoalescingProtocol`
hands uvicorn a transport that gathers the writes made within one turn of the event
loop and passes them on as one at the end of that turn, so a whole answer leaves in
one segment, with no added wait.

Flow control is unchanged: once the gathered bytes reach :data:`FLUSH_AT` they are
passed on at once, so the real transport's buffer limits (and uvicorn's pause on them)
still apply to a large or streamed body. A close passes the gathered bytes on first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["FLUSH_AT", "CoalescingProtocol"]

FLUSH_AT = 64 * 1024
"""Gathered bytes that are passed on at once rather than at the end of the turn."""


class _CoalescingTransport:
    """Delegates to a transport; ``write`` calls within one loop turn become one."""

    __slots__ = ("_chunks", "_loop", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._chunks: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        """Gather ``data``; it leaves at the end of this turn, or now past FLUSH_AT."""
        if not self._chunks:
            self._loop.call_soon(self._flush)
        self._chunks.append(data)
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self._flush()

    def writelines(self, data: Iterable[bytes]) -> None:
        """Gather each of ``data`` in order."""
        for chunk in data:
            self.write(chunk)

    def _flush(self) -> None:
        chunks = self._chunks
        if not chunks:
            return
        self._chunks = []
        self._size = 0
        # A transport that is closing drops writes anyway (with a warning on asyncio's).
        if not self._transport.is_closing():
            self._transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    def close(self) -> None:
        """Pass on what was gathered, then close."""
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a transport that sends each answer at once."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the connection over a coalescing view of ``transport``."""
        # The wrapper has every attribute of the transport uvicorn uses (by delegation).
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
