"""The console's report pages: each project's reports, newest first, and one report
rendered, with what changed since the previous one."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode
from uuid import UUID

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from dataworkflows.console.backend import Backend
from dataworkflows.console.pages import Pages, Req

__all__ = ["report_handlers"]

CHANGE_TITLES: Final = {
    "newly_done": "Done since",
    "newly_blocked": "Newly blocked",
    "newly_overdue": "Newly overdue",
    "new_tasks": "New",
    "slipped": "Slipped",
    "reopened": "Reopened",
    "removed": "Removed",
}
"""The lists of a report's ``changes``, in the order shown."""
READABLE: Final = ("markdown", "text")
"""Renderings shown first, when a report has them."""
SOURCE_FIELDS: Final = {"markdown": "text", "text": "text", "confluence": "body"}
"""The field of a stored rendering that holds its text, by format: the report workflow
stores ``{"format": "markdown", "text": ...}`` and ``{"format": "confluence", "body":
...}``. Others (Slack's blocks) are shown as their JSON."""


def rendering_text(name: str, rendering: Any) -> str | None:
    """The text of rendering ``name`` to show as it is, or None to show it as JSON."""
    if isinstance(rendering, str):
        return rendering
    field = SOURCE_FIELDS.get(name)
    if field is not None and isinstance(rendering, dict):
        text = rendering.get(field)
        if isinstance(text, str):
            return text
    return None


def report_handlers(pages: Pages, backend: Backend) -> list[HTTPRouteHandler]:
    """The handlers of ``/reports`` and ``/reports/{id}``."""

    def _none(request: Req) -> Response[Any]:
        return pages.message(request, "No reports", "This engine does not keep reports.", 404)

    @get("/reports")
    async def reports(request: Req) -> Response[Any]:
        projects = await backend.projects()
        if projects is None:
            return _none(request)
        keys = {p["key"] for p in projects}
        project = request.query_params.get("project") or None
        project = project if project in keys else None
        cursor = request.query_params.get("cursor") or None
        page = await backend.reports(project, cursor)
        if page is None:
            return _none(request)
        older = None
        if page["next_cursor"]:
            older = urlencode(
                {**({"project": project} if project else {}), "cursor": page["next_cursor"]}
            )
        return pages.page(
            request,
            "reports.html",
            projects=projects,
            project=project,
            reports=page["reports"],
            older=older,
        )

    @get("/reports/{report_id:uuid}")
    async def report(request: Req, report_id: FromPath[UUID]) -> Response[Any]:
        found = await backend.report(report_id)
        if found is None:
            return pages.message(request, "No such report", f"There is no report {report_id}.", 404)
        outputs: dict[str, Any] = found.get("outputs") or {}
        shown = request.query_params.get("format")
        if shown not in outputs:
            shown = next((f for f in (*READABLE, *sorted(outputs)) if f in outputs), None)
        rendering = outputs.get(shown) if shown else None
        text = rendering_text(shown, rendering) if shown else None
        changes = found.get("changes") or {}
        return pages.page(
            request,
            "report.html",
            report=found,
            formats=sorted(outputs),
            shown=shown,
            rendering=text,
            structured=rendering if text is None else None,
            summary=found.get("summary") or {},
            changes=changes,
            lists=[
                (title, changes.get(name) or [], (changes.get("more") or {}).get(name, 0))
                for name, title in CHANGE_TITLES.items()
            ],
        )

    return [reports, report]
