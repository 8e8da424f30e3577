"""Serving one or several ASGI apps in one process until Ctrl-C or SIGTERM.

uvicorn's own signal capture assumes one server per process and re-raises the signal
when it stops; ``dev`` runs several servers, so signals are handled here once and
every server is asked to stop gracefully (a second Ctrl-C forces it: open connections
are not waited for, but each app's own shutdown still runs, briefly). Sockets are
bound before any server starts, so a port in use is reported as a clear error naming
the address instead of a traceback from inside uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, Final

import uvicorn
from uvicorn.lifespan.on import LifespanOn

from dataworkflows.runtime.http_protocol import CoalescingProtocol
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.tls import TlsFiles

__all__ = [
    "AddressUnavailable",
    "ServedApp",
    "Terminated",
    "bind_socket",
    "display_host",
    "local_url",
    "serve_until_stopped",
    "sigterm_raises",
    "uvicorn_config",
]

FORCED_SHUTDOWN_S: Final = 2.0
"""How long, after a forced stop, each app's own shutdown (its lifespan) may take."""

_log = get_logger(__name__)

# Made directly, not by getLogger: logging's configuration never sees it to re-enable it.
_ABANDONED = logging.Logger(f"{__name__}.abandoned-lifespan")
_ABANDONED.addHandler(logging.NullHandler())
_ABANDONED.propagate = False
"""Where an abandoned lifespan reports its cancellation at exit: nowhere (it was said)."""


class Terminated(BaseException):
    """SIGTERM arrived outside the serving loop; unwinds like KeyboardInterrupt."""


class AddressUnavailable(Exception):
    """The address to listen on cannot be bound; the message names it."""


@dataclass(frozen=True, slots=True)
class ServedApp:
    """An ASGI app and the bound socket it answers on."""

    name: str
    app: Any
    sock: socket.socket
    tls: TlsFiles | None = None
    """Serve HTTPS with this certificate (None: plain HTTP)."""

    @property
    def port(self) -> int:
        """The port the socket is bound to (useful when it was 0)."""
        return int(self.sock.getsockname()[1])


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` so ``finally`` blocks run (no orphans)."""

    def raise_terminated(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def bind_socket(host: str, port: int, *, variable: str = "DW_PORT") -> socket.socket:
    """A listening TCP socket on ``host:port``, or :class:`AddressUnavailable`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise AddressUnavailable(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = f"; another process uses it: stop it or choose another port with {variable}"
        raise AddressUnavailable(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}"
        ) from None
    sock.setblocking(False)
    return sock


def uvicorn_config(app: Any, *, tls: TlsFiles | None = None) -> uvicorn.Config:
    """How every component's ASGI ``app`` is served (lifespan on, no access log)."""
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
        http=CoalescingProtocol,
        # No component reads the client's address or scheme (links are built from
        # settings), so X-Forwarded-* rewriting would be work per request for
        # nothing: 3% of a connector's CPU per call (bench/w5.py).
        proxy_headers=False,
        ws="none",  # no component serves websockets
        # Idle keep-alive connections close after this; runtime.http1's clients let
        # go of them sooner (MAX_IDLE_S), so a reused one is never closing under them.
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        ssl_certfile=None if tls is None else str(tls.cert_file),
        ssl_keyfile=None if tls is None else str(tls.key_file),
    )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Signals are handled once for all servers in serve_until_stopped().
        yield


async def serve_until_stopped(
    apps: Sequence[ServedApp],
    *,
    on_started: Callable[[], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``apps`` until SIGINT/SIGTERM (or ``stop`` is set), then shut down gracefully.

    ``on_started`` runs once every server accepts connections.
    """
    stop = stop or asyncio.Event()
    servers = [_Server(uvicorn_config(served.app, tls=served.tls)) for served in apps]
    loop = asyncio.get_running_loop()

    def request_stop(signum: signal.Signals) -> None:
        if stop.is_set():
            if not all(server.force_exit for server in servers):
                _log.warning("stopping at once", signal=signum.name)
            for server in servers:
                server.force_exit = True
        else:
            _log.info("stopping", signal=signum.name, hint="send it again to stop at once")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_stop, signum)
    try:
        tasks = [
            asyncio.create_task(server.serve(sockets=[served.sock]), name=served.name)
            for server, served in zip(servers, apps, strict=True)
        ]
        while not all(s.started for s in servers):
            done = [t for t in tasks if t.done()]
            if done:
                break
            await asyncio.sleep(0.01)
        else:
            if on_started is not None:
                on_started()
        stop_wait = asyncio.create_task(stop.wait())
        await asyncio.wait([stop_wait, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for server in servers:
            server.should_exit = True
        stop_wait.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(_end_lifespan(server) for server in servers))
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _end_lifespan(server: uvicorn.Server) -> None:
    """Run the app's shutdown if a forced stop skipped it.

    uvicorn skips it when forced; the app's lifespan task, still waiting, is then
    cancelled when the event loop closes, and uvicorn logs that as an error with a
    traceback. The app's shutdown (closing its clients, stopping its background work)
    is quick, so it runs here, for at most :data:`FORCED_SHUTDOWN_S`.
    """
    lifespan = getattr(server, "lifespan", None)
    if not isinstance(lifespan, LifespanOn) or lifespan.error_occurred:
        return
    if not lifespan.startup_event.is_set() or lifespan.shutdown_event.is_set():
        return
    try:
        await asyncio.wait_for(lifespan.shutdown(), FORCED_SHUTDOWN_S)
    except TimeoutError:
        _log.warning("an app did not shut down in time", seconds=FORCED_SHUTDOWN_S)
        # Its lifespan is cancelled when the loop closes; uvicorn would log that as an
        # error with a traceback, after this warning has said what happened.
        lifespan.logger = _ABANDONED


def display_host(host: str) -> str:
    """``host`` as one writes it in a URL to reach it from this machine."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def local_url(host: str, port: int, *, https: bool = False) -> str:
    """Where a component bound to ``host``:``port`` is reached from this machine."""
    return f"{'https' if https else 'http'}://{display_host(host)}:{port}"
