"""Network helpers for tests (127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import uvicorn

from dataworkflows.runtime.serving import bind_socket, uvicorn_config


def _ephemeral_low() -> int:
    """The lowest port the kernel hands out to outgoing connections."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


_LOW: Final = 10_000
_EPHEMERAL_LOW: Final = _ephemeral_low()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, for a server a test
    starts later (often in another process).

    Taken below the kernel's ephemeral range where there is room: a port the kernel
    picks for ``bind(0)`` is one it may give the next outgoing connection (to
    PostgreSQL, say) before the server binds it, which failed a test with "Address
    already in use".
    """
    if _EPHEMERAL_LOW - _LOW >= 1_000:
        for _ in range(50):
            port = random.randrange(_LOW, _EPHEMERAL_LOW)  # noqa: S311 - not a secret
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # pytest owns the process's signals.
        yield


@asynccontextmanager
async def serve_in_process(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI ``app`` (lifespan on) in this event loop on a free 127.0.0.1 port;
    its base URL."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = _Server(uvicorn_config(app))  # served as the components are
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
