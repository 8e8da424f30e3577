"""The console's pages: sign-in, the runs, one run (with Retry and Cancel), the
workflows, the reports and the connectors, over a :class:`~.backend.Backend`.

Server-rendered (jinja2, autoescaped) with one local stylesheet. Every page but the
sign-in needs a session (:mod:`.session`); without one a page redirects to the
sign-in and comes back after it. Every form carries the session's CSRF token, and a
POST from another origin is refused. Pages are never cached and never framed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Response, Router, get, post
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from dataworkflows.console.backend import Backend, Refused, Unreachable
from dataworkflows.console.connectors import connector_handlers
from dataworkflows.console.pages import HERE, STATIC_PREFIX, Pages, Req, safe_next
from dataworkflows.console.reports import report_handlers
from dataworkflows.console.runs import run_handlers
from dataworkflows.console.session import COOKIE, SESSION_S, Sessions
from dataworkflows.console.workflows import workflow_handlers
from dataworkflows.runtime.logging import get_logger

__all__ = ["console_router"]

_log = get_logger(__name__)


def console_router(backend: Backend, api_keys: Sequence[str], *, api_docs: bool = True) -> Router:
    """The console's routes over ``backend``, signing in with ``api_keys``
    (``api_docs``: the API's documentation is served beside it, at ``/docs``)."""
    pages = Pages(Sessions(api_keys), api_docs=api_docs)

    def unreachable(request: Req, exc: Exception) -> Response[str]:
        _log.warning("console: the engine did not answer", error=str(exc))
        return pages.message(request, "The engine does not answer", str(exc), 503)

    def refused(request: Req, exc: Exception) -> Response[str]:
        assert isinstance(exc, Refused)
        return pages.message(request, "Not done", exc.detail, exc.status)

    @get("/", sync_to_thread=False)
    def home() -> Redirect:
        return Redirect("/runs", status_code=303)

    @get("/sign-in", sync_to_thread=False)
    def sign_in_form(request: Req) -> Response[str]:
        return pages.page(request, "sign_in.html", next=safe_next(request.query_params.get("next")))

    @post("/sign-in", status_code=303)
    async def sign_in(request: Req) -> Response[Any]:
        form = await request.form()
        if not pages.same_origin(request):  # no signing a victim in from another site
            return pages.message(request, "Not signed in", "Sign in from this site.", 403)
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

    static = create_static_files_router(
        path=STATIC_PREFIX, directories=[HERE / "static"], include_in_schema=False
    )
    return Router(
        path="/",
        route_handlers=[
            home,
            sign_in_form,
            sign_in,
            sign_out,
            *run_handlers(pages, backend),
            *workflow_handlers(pages, backend),
            *report_handlers(pages, backend),
            *connector_handlers(pages, backend),
            static,
        ],
        include_in_schema=False,
        before_request=pages.require_session,
        exception_handlers={Unreachable: unreachable, Refused: refused},
    )
