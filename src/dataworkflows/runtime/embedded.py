"""An embedded PostgreSQL server for ``dev`` and the tests (the ``pgserver`` wheel).

The server keeps its data in a directory of ours (``.dataworkflows/pgdata`` for
``dev``), listens only on a unix socket, and is stopped (a fast shutdown: committed
data is on disk) when the owner leaves the context, including on Ctrl-C and SIGTERM
once the caller turns those into exceptions (see :mod:`dataworkflows.runtime.serving`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg import sql

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresUnavailable"]


class EmbeddedPostgresUnavailable(Exception):
    """The embedded server cannot start here; the message says why and what to do."""


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir``, as a context manager.

    ``database`` is created on first start; :attr:`url` connects to it.
    """

    def __init__(self, data_dir: Path, *, database: str = "dataworkflows") -> None:
        self.data_dir = data_dir.resolve()
        self.database = database
        self._server: Any = None

    @property
    def url(self) -> str:
        """The connection URL of :attr:`database` (a unix-socket URL)."""
        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL server is not running")
        return str(self._server.get_uri(self.database))

    def admin_url(self) -> str:
        """A URL to the ``postgres`` maintenance database (to create databases)."""
        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL server is not running")
        return str(self._server.get_uri("postgres"))

    def start(self) -> None:
        """Start the server (or attach to the one already running on this data)."""
        try:
            with warnings.catch_warnings():
                # platformdirs warns at import time when XDG_RUNTIME_DIR is unset
                # (containers, CI); pgserver then uses /tmp, which is fine.
                warnings.simplefilter("ignore")
                from pgserver.postgres_server import get_server
        except ImportError:
            raise EmbeddedPostgresUnavailable(
                "the embedded PostgreSQL (pgserver) is not installed for this Python; "
                "it has wheels for Python 3.11 and 3.12: use one of those, or set DATABASE_URL"
            ) from None
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._server = get_server(self.data_dir, cleanup_mode="stop")
        except Exception as exc:
            log = self.data_dir / "log"
            raise EmbeddedPostgresUnavailable(
                f"the embedded PostgreSQL in {self.data_dir} did not start "
                f"({type(exc).__name__}); its log is {log}"
            ) from exc
        self._ensure_database()

    def _ensure_database(self) -> None:
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def stop(self) -> None:
        """Stop the server (a fast shutdown) unless another process still uses it."""
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
