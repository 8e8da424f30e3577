"""The console's run pages: the runs (filtered, paged, refreshing while runs are in
flight) and one run with its steps, with Retry and Cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect

from dataworkflows.engine.api_bodies import attempt_view, run_view
from dataworkflows.engine.console.pages import PAGE_SIZE, STATUSES, Pages, Req
from dataworkflows.engine.errors import EngineError, NotFound
from dataworkflows.engine.service import WorkflowService
from dataworkflows.runtime.paging import decode_cursor, encode_cursor
from dataworkflows.runtime.problems import Problem

__all__ = ["run_handlers"]


def _day(text: str | None) -> datetime | None:
    """A ``YYYY-MM-DD`` filter as the start of that day, UTC; None when not one."""
    try:
        return datetime.strptime(text or "", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def run_handlers(pages: Pages, service: WorkflowService) -> list[HTTPRouteHandler]:
    """The handlers of ``/runs`` and ``/runs/{id}``."""

    @get("/runs")
    async def runs(request: Req) -> Response[Any]:
        if pages.cookie_of(request) is None:
            return pages.to_sign_in(request)
        query = request.query_params
        status = query.get("status") or None
        status = status if status in STATUSES else None
        workflow = (query.get("workflow") or "").strip()[:100] or None
        since, until = _day(query.get("since")), _day(query.get("until"))
        try:
            after = decode_cursor(query["cursor"]) if query.get("cursor") else None
        except Problem:
            after = None
        found = await service.list_runs(
            workflow=workflow,
            status=status,
            created_after=since,
            created_before=until + timedelta(days=1) if until else None,
            after=after,
            limit=PAGE_SIZE,
        )
        views = [msgspec.to_builtins(run_view(r, service.redact)) for r in found]
        kept = {k: v for k, v in query.items() if k != "cursor" and v}
        older = None
        if len(found) == PAGE_SIZE:
            cursor = encode_cursor(found[-1].created_at, found[-1].id)
            older = urlencode({**kept, "cursor": cursor})
        live = any(v["status"] in ("queued", "running") for v in views) and after is None
        return pages.page(
            request,
            "runs.html",
            runs=views,
            statuses=STATUSES,
            chosen=status,
            workflow=workflow,
            since=query.get("since") if since else "",
            until=query.get("until") if until else "",
            history_since=await service.store.history_since(),
            older=older,
            refresh=5 if live else None,
        )

    @get("/runs/{run_id:uuid}")
    async def run(request: Req, run_id: FromPath[UUID]) -> Response[Any]:
        if pages.cookie_of(request) is None:
            return pages.to_sign_in(request)
        try:
            record, attempts, events, children = await service.run_detail(run_id)
        except NotFound:
            return pages.message(request, "No such run", f"There is no run {run_id}.", 404)
        view = msgspec.to_builtins(run_view(record, service.redact))
        return pages.page(
            request,
            "run.html",
            run=view,
            steps=[msgspec.to_builtins(attempt_view(a)) for a in attempts],
            events=msgspec.to_builtins(events),
            children=[msgspec.to_builtins(run_view(c, service.redact)) for c in children],
            refresh=2 if view["status"] in ("queued", "running") else None,
        )

    async def act(request: Req, run_id: UUID, what: str) -> Response[Any]:
        if pages.cookie_of(request) is None:
            return pages.to_sign_in(request)
        if not await pages.form_ok(request):
            return pages.message(request, "Not done", "The form has expired; reload the page.", 403)
        try:
            await (service.retry(run_id) if what == "retry" else service.cancel(run_id))
        except NotFound:
            return pages.message(request, "No such run", f"There is no run {run_id}.", 404)
        except EngineError as exc:
            return pages.message(request, f"Cannot {what} this run", str(exc), 409)
        return Redirect(f"/runs/{run_id}", status_code=303)

    @post("/runs/{run_id:uuid}/retry", status_code=303)
    async def retry(request: Req, run_id: FromPath[UUID]) -> Response[Any]:
        return await act(request, run_id, "retry")

    @post("/runs/{run_id:uuid}/cancel", status_code=303)
    async def cancel(request: Req, run_id: FromPath[UUID]) -> Response[Any]:
        return await act(request, run_id, "cancel")

    return [runs, run, retry, cancel]
