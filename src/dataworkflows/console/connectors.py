"""The console's connectors page: whether each connector answers, its actions, and
what the engine has seen of it (calls and errors since it started, circuit breakers)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from dataworkflows.console.backend import Backend
from dataworkflows.console.pages import Pages, Req

__all__ = ["connector_handlers"]


def connector_handlers(pages: Pages, backend: Backend) -> list[HTTPRouteHandler]:
    """The handler of ``/connectors``."""

    @get("/connectors")
    async def connectors(request: Req) -> Response[Any]:
        listed = await backend.connectors()
        stats = await backend.stats()
        rows = []
        for connector in listed:
            name = connector["name"]
            calls, failed = stats.calls.get(name, 0), stats.failed.get(name, 0)
            rows.append(
                {
                    "name": name,
                    "available": connector["available"],
                    "detail": connector.get("detail") or "",
                    "actions": [a["name"] for a in connector.get("actions", [])],
                    "calls": calls,
                    "failed": failed,
                    "error_rate": f"{failed / calls:.0%}" if calls else "",
                }
            )
        return pages.page(request, "connectors.html", connectors=rows, breakers=stats.breakers)

    return [connectors]
