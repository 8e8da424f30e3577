"""The console's pages: sign-in, the runs, one run (with Retry and Cancel).

Server-rendered (jinja2, autoescaped) with one local stylesheet. Every page but the
sign-in needs a session (:mod:`.session`); without one a page redirects to the
sign-in and comes back after it. Every form carries the session's CSRF token, and a
POST from another origin is refused. Pages are never cached and never framed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from dataworkflows.engine.api_bodies import attempt_view, run_view
from dataworkflows.engine.console.pages import HERE, PAGE_SIZE, STATUSES, Pages, Req, safe_next
from dataworkflows.engine.console.session import COOKIE, SESSION_S, Sessions
from dataworkflows.engine.console.workflows import workflow_handlers
from dataworkflows.engine.errors import EngineError, NotFound
from dataworkflows.engine.service import WorkflowService

__all__ = ["console_router"]


def console_router(service: WorkflowService, api_keys: Sequence[str]) -> Router:
    """The console's routes over ``service``, signing in with ``api_keys``."""
    pages = Pages(Sessions(api_keys))

    @get("/", sync_to_thread=False)
    def home() -> Redirect:
        return Redirect("/runs", status_code=303)

    @get("/sign-in", sync_to_thread=False)
    def sign_in_form(request: Req) -> Response[str]:
        return pages.page(request, "sign_in.html", next=safe_next(request.query_params.get("next")))

    @post("/sign-in", status_code=303)
    async def sign_in(request: Req) -> Response[Any]:
        form = await request.form()
        target = safe_next(str(form.get("next", "")))
        key = str(form.get("api_key", ""))
        if not pages.sessions.key_matches(key):
            return pages.page(
                request,
                "sign_in.html",
                code=401,
                next=target,
                problem="That is not one of the engine's API keys.",
            )
        answer = Redirect(target, status_code=303)
        answer.set_cookie(
            COOKIE,
            pages.sessions.issue(key.strip()),
            max_age=SESSION_S,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https"
            or request.headers.get("x-forwarded-proto") == "https",
        )
        return answer

    @post("/sign-out", status_code=303)
    async def sign_out(request: Req) -> Response[Any]:
        if not await pages.form_ok(request):
            return pages.message(request, "Not signed out", "The form has expired; reload it.", 403)
        answer = Redirect("/sign-in", status_code=303)
        answer.delete_cookie(COOKIE, path="/")
        return answer

    @get("/runs")
    async def runs(request: Req) -> Response[Any]:
        if pages.cookie_of(request) is None:
            return pages.to_sign_in(request)
        status = request.query_params.get("status") or None
        workflow = (request.query_params.get("workflow") or "").strip()[:100] or None
        found = await service.list_runs(
            workflow=workflow,
            status=status if status in STATUSES else None,
            created_after=None,
            created_before=None,
            after=None,
            limit=PAGE_SIZE,
        )
        views = [msgspec.to_builtins(run_view(r, service.redact)) for r in found]
        live = any(v["status"] in ("queued", "running") for v in views)
        return pages.page(
            request,
            "runs.html",
            runs=views,
            statuses=STATUSES,
            chosen=status,
            workflow=workflow,
            history_since=await service.store.history_since(),
            next_cursor=None,
            next_query=urlencode({}),
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

    static = create_static_files_router(
        path="/console/static", directories=[HERE / "static"], include_in_schema=False
    )
    return Router(
        path="/",
        route_handlers=[
            home,
            sign_in_form,
            sign_in,
            sign_out,
            runs,
            run,
            retry,
            cancel,
            *workflow_handlers(pages, service),
            static,
        ],
        include_in_schema=False,
    )
