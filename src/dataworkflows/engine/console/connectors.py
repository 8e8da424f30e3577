"""The console's connectors page: whether each connector answers, its actions, and
what this engine has seen of it (calls and errors since it started, circuit breakers)."""

from __future__ import annotations

from collections import Counter as Tally
from typing import Any

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from dataworkflows.engine.console.pages import Pages, Req
from dataworkflows.engine.service import WorkflowService
from dataworkflows.runtime.metrics import BREAKER_STATE, CONNECTOR_CALLS

__all__ = ["connector_handlers"]

BREAKER_STATES = {0.0: "closed", 1.0: "half-open", 2.0: "open"}


def _calls() -> tuple[Tally[str], Tally[str]]:
    """Calls and failed calls per connector, counted by this process."""
    calls: Tally[str] = Tally()
    failed: Tally[str] = Tally()
    for family in CONNECTOR_CALLS.collect():
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            connector = sample.labels["connector"]
            calls[connector] += int(sample.value)
            if sample.labels["outcome"] != "ok":
                failed[connector] += int(sample.value)
    return calls, failed


def _breakers() -> list[dict[str, str]]:
    found = []
    for family in BREAKER_STATE.collect():
        for sample in family.samples:
            state = BREAKER_STATES.get(sample.value, str(sample.value))
            found.append({"upstream": sample.labels["upstream"], "state": state})
    return sorted(found, key=lambda b: b["upstream"])


def connector_handlers(pages: Pages, service: WorkflowService) -> list[HTTPRouteHandler]:
    """The handler of ``/connectors``."""

    @get("/connectors")
    async def connectors(request: Req) -> Response[Any]:
        if pages.cookie_of(request) is None:
            return pages.to_sign_in(request)
        catalogs = await service.connectors.catalogs(refresh=True)
        calls, failed = _calls()
        rows = []
        for name, catalog in catalogs.items():
            available = not isinstance(catalog, str)
            rows.append(
                {
                    "name": name,
                    "available": available,
                    "detail": "" if available else catalog,
                    "actions": [a.name for a in catalog.actions] if available else [],  # type: ignore[union-attr]
                    "calls": calls[name],
                    "failed": failed[name],
                    "error_rate": f"{failed[name] / calls[name]:.0%}" if calls[name] else "",
                }
            )
        return pages.page(request, "connectors.html", connectors=rows, breakers=_breakers())

    return [connectors]
