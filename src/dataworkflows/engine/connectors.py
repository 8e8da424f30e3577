"""How the engine reaches connectors: one port, an in-process and an HTTP adapter.

:class:`Connector` is the port (catalog + invoke). In ``dev`` connectors run in the
engine's process (:class:`InProcessConnector`); in a split deployment they are
separate processes reached over the internal connector API with a service token
(:class:`HttpConnector`). :class:`ConnectorRegistry` is what the rest of the engine
uses: it knows every configured connector and caches their catalogs.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import Any, Final, Protocol
from urllib.parse import quote

import msgspec

from dataworkflows.contracts import (
    ActionCatalog,
    ActionDescriptor,
    ActionErrorEnvelope,
    ActionFailed,
    ActionRequest,
    ActionResult,
)
from dataworkflows.runtime import tracing
from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.http1 import Http1Pool, Origin, header_lines

__all__ = [
    "HTTP_CONNECTIONS",
    "Connector",
    "ConnectorRegistry",
    "ConnectorUnavailable",
    "HttpConnector",
    "InProcessConnector",
    "connector_session",
]


class ConnectorUnavailable(Exception):
    """A connector's catalog could not be read (it is down or misconfigured)."""


class Connector(Protocol):
    """Port: one connector, however it is reached."""

    name: str

    async def catalog(self) -> ActionCatalog:
        """The connector's actions with their schemas."""
        ...

    async def invoke(self, action: str, request: ActionRequest) -> dict[str, Any]:
        """Call ``action`` (qualified name); raises :class:`ActionFailed` on failure."""
        ...


class InProcessConnector:
    """A connector whose actions run in this process."""

    def __init__(self, actions: ActionSet) -> None:
        self.name = actions.connector
        self._actions = actions

    async def catalog(self) -> ActionCatalog:
        return self._actions.catalog()

    async def invoke(self, action: str, request: ActionRequest) -> dict[str, Any]:
        return await self._actions.invoke(action, request)


_request_encoder = msgspec.json.Encoder()
_result_decoder = msgspec.json.Decoder(ActionResult)
_error_decoder = msgspec.json.Decoder(ActionErrorEnvelope)
_catalog_decoder = msgspec.json.Decoder(ActionCatalog)


PROBE_TIMEOUT_S: Final = 2.0
"""How long a readiness probe waits for a connector's catalog."""

HTTP_CONNECTIONS: Final = 512
"""Most connections an engine keeps open to one connector process; calls beyond it
wait for a free one (in order)."""


def connector_session(*, timeout_s: float | None, connections: int = HTTP_CONNECTIONS) -> Http1Pool:
    """The HTTP client for :class:`HttpConnector` (close it with ``close()``).

    Our own keep-alive HTTP/1.1 client (:mod:`dataworkflows.runtime.http1`), not
    aiohttp or httpx: a step makes one small JSON call, and aiohttp spent ~136 us of
    the engine's CPU on each (httpx's pool far more at 1,000 calls in flight: it
    scans every connection for every waiting request). See bench/README.md, W5.
    """
    return Http1Pool(limit=connections, connect_timeout_s=5.0, timeout_s=timeout_s)


@functools.lru_cache(maxsize=1024)
def _action_path(action: str) -> str:
    return "/v1/actions/" + quote(action, safe="")


class HttpConnector:
    """A connector process reached over the internal connector API.

    ``session`` is a :func:`connector_session` (shared by every HTTP connector)."""

    def __init__(self, name: str, *, base_url: str, token: str, session: Http1Pool) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._origin = Origin(self.base_url)
        self._headers = header_lines(
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
        self._session = session

    async def _send(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        headers = self._headers
        if tracing.active():
            carrier: dict[str, str] = {}
            tracing.inject(carrier)  # the connector process continues the step's trace
            headers += header_lines(carrier)
        target = self._origin.path + path
        return await self._session.request(self._origin, method, target, headers, body)

    async def catalog(self) -> ActionCatalog:
        try:
            status, content = await self._send("GET", "/v1/actions", None)
        except OSError as exc:  # TimeoutError and ConnectionError included
            raise ConnectorUnavailable(
                f"connector {self.name} at {self.base_url} does not answer ({type(exc).__name__})"
            ) from None
        if status in (401, 403):
            raise ConnectorUnavailable(
                f"connector {self.name} at {self.base_url} refused the service token "
                "(check DW_SERVICE_TOKEN)"
            )
        if status != 200:
            raise ConnectorUnavailable(
                f"connector {self.name} at {self.base_url} answered {status} to GET /v1/actions"
            )
        try:
            return _catalog_decoder.decode(content)
        except msgspec.DecodeError:
            raise ConnectorUnavailable(
                f"connector {self.name} at {self.base_url} sent a malformed catalog"
            ) from None

    async def probe(self) -> str | None:
        """For ``/readyz``: None when the connector answers and accepts our token, else
        what is wrong in one line."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await self.catalog()
        except ConnectorUnavailable as exc:
            return str(exc)
        except TimeoutError:
            return (
                f"connector {self.name} at {self.base_url} did not answer in {PROBE_TIMEOUT_S:g} s"
            )
        return None

    async def invoke(self, action: str, request: ActionRequest) -> dict[str, Any]:
        try:
            status, content = await self._send(
                "POST", _action_path(action), _request_encoder.encode(request)
            )
        except TimeoutError:
            raise ActionFailed.of(
                "upstream_unavailable", f"connector {self.name} did not answer in time"
            ) from None
        except OSError as exc:  # refused, reset, closed mid-answer, TLS
            raise ActionFailed.of(
                "upstream_unavailable",
                f"connector {self.name} at {self.base_url} is unreachable ({type(exc).__name__})",
            ) from None
        if status == 200:
            try:
                return _result_decoder.decode(content).output
            except msgspec.DecodeError:
                raise ActionFailed.of(
                    "upstream_error", f"connector {self.name} sent a malformed result"
                ) from None
        try:
            raise ActionFailed(_error_decoder.decode(content).error)
        except msgspec.DecodeError:
            pass
        if status in (401, 403):
            raise ActionFailed.of(
                "auth_failed",
                f"connector {self.name} refused the service token (check DW_SERVICE_TOKEN)",
                retryable=False,
            )
        retryable = status in (429, 502, 503, 504)
        raise ActionFailed.of(
            "upstream_unavailable" if retryable else "upstream_error",
            f"connector {self.name} answered HTTP {status}",
            retryable=retryable,
        )


class ConnectorRegistry:
    """Every connector the engine can use, by name, with cached catalogs."""

    def __init__(self, connectors: Sequence[Connector]) -> None:
        self._connectors = {c.name: c for c in connectors}
        self._catalogs: dict[str, ActionCatalog] = {}
        self._lock = asyncio.Lock()

    def add(self, connector: Connector) -> None:
        """Add (or replace) a connector: one built after the registry (the engine's own
        ``workflows``, which needs the service the registry is part of)."""
        self._connectors[connector.name] = connector
        self._catalogs.pop(connector.name, None)

    @property
    def names(self) -> list[str]:
        """The configured connectors."""
        return sorted(self._connectors)

    def get(self, name: str) -> Connector | None:
        """The connector called ``name``, or None."""
        return self._connectors.get(name)

    async def catalogs(self, *, refresh: bool = False) -> dict[str, ActionCatalog | str]:
        """Each connector's catalog, or why it could not be read."""
        async with self._lock:
            result: dict[str, ActionCatalog | str] = {}
            for name, connector in sorted(self._connectors.items()):
                if refresh or name not in self._catalogs:
                    try:
                        self._catalogs[name] = await connector.catalog()
                    except ConnectorUnavailable as exc:
                        result[name] = str(exc)
                        continue
                result[name] = self._catalogs[name]
            return result

    async def descriptors(
        self, *, refresh: bool = False
    ) -> tuple[dict[str, ActionDescriptor], dict[str, str]]:
        """Every known action by qualified name, and the connectors that did not answer."""
        actions: dict[str, ActionDescriptor] = {}
        unavailable: dict[str, str] = {}
        for name, catalog in (await self.catalogs(refresh=refresh)).items():
            if isinstance(catalog, str):
                unavailable[name] = catalog
            else:
                actions.update((a.name, a) for a in catalog.actions)
        return actions, unavailable

    async def invoke(self, action: str, request: ActionRequest) -> dict[str, Any]:
        """Call a qualified action on its connector."""
        connector = self._connectors.get(action.split(".", 1)[0])
        if connector is None:
            raise ActionFailed.of("not_found", f"no connector serves {action!r}")
        return await connector.invoke(action, request)
