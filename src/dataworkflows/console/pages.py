"""What every console page shares: rendering, the session, form checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader
from litestar import Request, Response
from litestar.response import Redirect

from dataworkflows.console.session import COOKIE, Sessions
from dataworkflows.contracts.runs import format_duration

__all__ = ["HERE", "PAGE_SIZE", "STATIC_PREFIX", "STATUSES", "Pages", "Req", "safe_next"]

HERE: Final = Path(__file__).parent
STATIC_PREFIX: Final = "/console/static"
OPEN_PATHS: Final = frozenset({"/", "/sign-in", "/sign-out"})
"""Pages that answer without a session: ``/`` only redirects to ``/runs``, and sign-out
refuses on its own (no CSRF token)."""
STATUSES: Final = ("queued", "running", "waiting", "succeeded", "failed", "cancelled")
PAGE_SIZE: Final = 50
HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
_ENV: Final = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
_ENV.filters["duration"] = format_duration

Req = Request[Any, Any, Any]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never ``//host``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/runs"
    return target


class Pages:
    """Rendering, sessions and form checks shared by the console's handlers."""

    def __init__(self, sessions: Sessions, *, api_docs: bool = True) -> None:
        self.sessions = sessions
        self.api_docs = api_docs

    def cookie_of(self, request: Req) -> str | None:
        value = request.cookies.get(COOKIE)
        return value if self.sessions.valid(value) else None

    def page(
        self, request: Req, template: str, *, code: int = 200, **context: Any
    ) -> Response[str]:
        cookie = self.cookie_of(request)
        html = _ENV.get_template(template).render(
            signed_in=cookie is not None,
            api_docs=self.api_docs,
            csrf=self.sessions.csrf(cookie) if cookie else "",
            **context,
        )
        return Response(html, media_type="text/html", status_code=code, headers=HEADERS)

    def message(self, request: Req, heading: str, text: str, code: int) -> Response[str]:
        return self.page(request, "message.html", code=code, heading=heading, message=text)

    async def require_session(self, request: Req) -> Redirect | None:
        """The console router's ``before_request``: every page but the sign-in (and the
        stylesheet) redirects there without a session, and comes back after it."""
        path = request.url.path
        if path in OPEN_PATHS or path.startswith(STATIC_PREFIX + "/"):
            return None
        return self.to_sign_in(request) if self.cookie_of(request) is None else None

    @staticmethod
    def to_sign_in(request: Req) -> Redirect:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/sign-in?next={quote(here, safe='')}", status_code=303)

    @staticmethod
    def same_origin(request: Req) -> bool:
        """Whether a POST comes from this site's own pages (when the browser says)."""
        origin = request.headers.get("origin")
        return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"

    async def form_ok(self, request: Req) -> bool:
        """Whether a form may act: same origin, signed in, the session's CSRF token."""
        form = await request.form()
        if not self.same_origin(request):
            return False
        return self.sessions.csrf_ok(self.cookie_of(request), str(form.get("csrf", "")))
