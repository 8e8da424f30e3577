"""A local, wire-faithful stand-in for Confluence Cloud's REST APIs.

Served by ``dataworkflows serve sandbox confluence``. It answers like
``https://<site>.atlassian.net`` does (see ``shared/reference/confluence.md``), so a
client written from Atlassian's docs works against it, not only ours:

- v2 (``/wiki/api/v2``): ``GET /pages`` (``id``, ``space-id``, ``title``, ``status``,
  ``sort``, ``body-format``, ``cursor``, ``limit`` 1-250, default 25), ``POST /pages``
  (answers **200**), ``GET|PUT|DELETE /pages/{id}`` (``PUT`` needs version
  current + 1, else the observed 409 ``CONFLICT`` "Version must be incremented ..."),
  ``GET /spaces`` (``ids``, ``keys``, ``type``, ``status``, ``sort``,
  ``description-format``), ``GET /spaces/{id}`` and ``GET /spaces/{id}/pages``.
  Lists are paged with opaque, signed cursors: every page but the last carries the
  next one in ``_links.next`` *and* in ``Link: <...>; rel="next", <base>; rel="base"``.
  The link is relative to the site origin and starts with ``/wiki`` (not relative to
  ``_links.base``), and the cursor is its first parameter, not its last. Errors are
  ``{"errors": [{"status", "code", "title", "detail"}]}``.
- v1 (``/wiki/rest/api``): ``GET /search?cql=...`` over the subset of CQL in
  :mod:`.cql`, with ``start``/``limit``/``cursor``, ``excerpt`` (``highlight`` marks
  matches with ``@@@hl@@@``) and ``expand=content.space``; ``_links.next`` is relative
  to ``_links.base`` (``/rest/api/search?next=true&cursor=...``). Errors are v1's
  ``{"statusCode", "data", "message"}``. Also v1's content and space APIs over the
  same pages (:mod:`.content_v1`, :mod:`.spaces_v1`): ``GET|POST /content``,
  ``GET|PUT|DELETE /content/{id}`` (``expand``), ``/content/{id}/history``,
  ``/content/{id}/child[/page]``, ``GET /space`` and ``GET /space/{key}``, with
  ``start``/``limit`` paging, as classic clients (atlassian-python-api) call them.
- Bases and auth: the site form ``/wiki/...`` takes Basic ``email:api_token``; the
  gateway form ``/ex/confluence/{cloudId}/wiki/...`` takes a bearer token (or Basic, as
  scoped API tokens use it). With no e-mail configured, the site form takes the bearer
  token too (there is no other way in then). Whatever the form, responses describe the
  site: ``_links.base`` is ``<public_url>/wiki`` and ``next`` links are ``/wiki/...``,
  as Atlassian's gateway answers (which is what breaks naive clients). Missing or
  wrong credentials: 401 in the API's error shape (the gateway's own
  ``{"code": 401, "message": "Unauthorized"}`` on the gateway form). An unknown cloud
  id: 404. ``GET /_edge/tenant_info`` gives the cloud id, as on a real site.
- Rules: titles are unique among a space's current pages (400 "A page with this
  title already exists ..."); a body over 5 MB is 413; unknown ids 404.

The data is a :class:`~.demo_data.DemoSite` (a space per Monday demo project); writes
change it. Time (``now()`` in CQL, new versions) comes from ``clock``. This module holds
the sandbox's state, authentication, faults and routing; the APIs' handlers are in
:mod:`.pages`, :mod:`.spaces` and :mod:`.search`, what they share in :mod:`.wire` and
:mod:`.paging`.

Test control endpoints (NOT part of Confluence's API; they exist only here,
unauthenticated, for tests and demos):

- ``POST /sandbox/faults`` (body: a :class:`~.faults.Fault`) -> 204: fail the next requests
  (``conflict`` waits for the next ``PUT`` of a page);
- ``DELETE /sandbox/faults`` -> 204: forget the queued faults;
- ``GET /sandbox/requests`` -> every API request received (:class:`RecordedRequest`,
  credentials masked);
- ``POST /sandbox/reset`` -> 204: reseed the site, forget faults and requests;
- ``POST /sandbox/pages/{id}/touch`` (optional body ``{"body", "title"}``) -> 200 and the
  page: someone edits the page in the browser (its version moves on);
- ``GET /sandbox/site`` -> the cloud id, base URL, spaces and accounts.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlsplit

import msgspec
from litestar import Litestar, Request, Response, get, post, route
from litestar.enums import HttpMethod
from litestar.params import FromPath

from dataworkflows.runtime.app import create_app
from dataworkflows.sandboxes.confluence.content_v1 import CONTENT_V1_ROUTES
from dataworkflows.sandboxes.confluence.demo_data import (
    CLOUD_ID,
    DemoAccount,
    DemoPage,
    DemoSite,
    Refused,
)
from dataworkflows.sandboxes.confluence.faults import Fault, fault_answer
from dataworkflows.sandboxes.confluence.pages import (
    create_page,
    delete_page,
    get_page,
    list_pages,
    page_json,
    space_pages,
    update_page,
)
from dataworkflows.sandboxes.confluence.search import search
from dataworkflows.sandboxes.confluence.spaces import get_space, list_spaces
from dataworkflows.sandboxes.confluence.spaces_v1 import SPACES_V1_ROUTES
from dataworkflows.sandboxes.confluence.wire import (
    Answer,
    Call,
    error_answer,
    logged_json,
    masked,
    render,
)
from dataworkflows.sandboxes.controls import FaultQueue, sandbox_controls
from dataworkflows.sandboxes.world import ANCHOR

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "MAX_BODY_BYTES",
    "ConfluenceSandbox",
    "RecordedRequest",
    "create_confluence_sandbox_app",
]

DEFAULT_PUBLIC_URL: Final = "http://127.0.0.1:8203"
MAX_BODY_BYTES: Final = 5 * 1024 * 1024
"""Confluence refuses request bodies over 5 MB with 413."""


class RecordedRequest(msgspec.Struct, frozen=True):
    """One API request as received, with the status it was answered with."""

    method: str
    path: str
    """The path as sent (``/wiki/...`` or ``/ex/confluence/<cloudId>/wiki/...``)."""
    query: str
    """The raw query string."""
    authorization: str | None
    """The scheme only (``Basic ****``, ``Bearer ****``): never the credentials."""
    gateway: bool
    status: int
    at: float
    """``time.monotonic()`` when the request arrived."""
    json: Any = None
    """The JSON body of a write (None for reads; large bodies are not kept)."""


class _Touch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    body: str | None = None
    title: str | None = None


def _site_url(public_url: str) -> str:
    """The site's origin as clients reach it (any ``/wiki`` or gateway path dropped)."""
    parts = urlsplit(public_url.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"public_url must be an absolute http(s) URL, got {public_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


class ConfluenceSandbox:
    """State of one sandbox: the site's data, the credentials it accepts, faults, log.

    ``public_url`` is how clients reach the sandbox (``_links.base`` is
    ``<public_url>/wiki``); ``clock`` (seconds since the epoch) is what ``now()`` and
    new versions see; tests pass one to move time. ``anchor`` is the instant the seeded
    pages are placed before (resets keep it): the fixed Monday ``ANCHOR`` by default,
    ``demo_anchor()`` (today) when the CLI serves the sandbox.
    """

    def __init__(
        self,
        *,
        email: str | None,
        api_token: str,
        public_url: str | None = DEFAULT_PUBLIC_URL,
        seed: int = 7,
        anchor: datetime = ANCHOR,
        cloud_id: str = CLOUD_ID,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if not api_token:
            raise ValueError("the sandbox needs a non-empty API token")
        self.email = email
        self.api_token = api_token
        self.site_url = _site_url(public_url or DEFAULT_PUBLIC_URL)
        self.base = f"{self.site_url}/wiki"
        self.cloud_id = cloud_id
        self.seed = seed
        self.anchor = anchor
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.site = DemoSite.seeded(seed, anchor=anchor)
        self.requests: list[RecordedRequest] = []
        self._faults: FaultQueue[Fault] = FaultQueue()
        # Per instance, so a cursor from another (or a restarted) sandbox is refused.
        self._cursor_key = secrets.token_bytes(32)

    # -- control --------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next ``fault.times`` requests, after those queued."""
        self._faults.add(fault, fault.times)

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._faults.clear()

    def reset(self) -> None:
        """Reseed the site and forget faults and requests."""
        self.site = DemoSite.seeded(self.seed, anchor=self.anchor)
        self.requests.clear()
        self.clear_faults()

    def touch(self, page_id: str, *, body: str | None = None, title: str | None = None) -> DemoPage:
        """Someone edits the page in the browser: its version moves on."""
        return self.site.touch(page_id, now=self.now(), body=body, title=title)

    def now(self) -> datetime:
        """The sandbox's current time."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def take_fault(self, method: str, path: str, *, conflict: bool = False) -> Fault | None:
        """The first queued fault for this request (``conflict``: a conflict fault)."""

        def applies(fault: Fault) -> bool:
            return (
                (fault.kind == "conflict") == conflict
                and (fault.method is None or fault.method == method)
                and (fault.path is None or path.startswith(fault.path))
            )

        return self._faults.take(applies)

    # -- cursors --------------------------------------------------------------------

    def encode_cursor(self, payload: Mapping[str, Any]) -> str:
        """An opaque cursor carrying ``payload``, signed with this instance's key."""
        data = msgspec.json.encode(payload)
        mac = hmac.new(self._cursor_key, data, hashlib.sha256).digest()[:12]
        # Padded, like Atlassian's: the "=" reaches clients unescaped in next links.
        return base64.urlsafe_b64encode(data + mac).decode()

    def decode_cursor(self, cursor: str, scope: str) -> dict[str, Any]:
        """The payload of a cursor this sandbox issued for ``scope``, else a 400."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        data, mac = raw[:-12], raw[-12:]
        expected = hmac.new(self._cursor_key, data, hashlib.sha256).digest()[:12]
        payload: Any = None
        if data and hmac.compare_digest(mac, expected):
            payload = msgspec.json.decode(data)
        if not isinstance(payload, dict) or payload.get("scope") != scope:
            raise Refused(
                400,
                "INVALID_REQUEST_PARAMETER",
                "Provided value for 'cursor' is not the correct type. Expected type is Cursor.",
                "The provided cursor was not valid. You can get a new valid cursor by making "
                "the original pagination request again.",
            )
        return payload

    # -- HTTP -----------------------------------------------------------------------

    def _authenticate(self, header: str | None, *, gateway: bool) -> DemoAccount | None:
        """The account a request acts as, or None when its credentials are refused."""
        scheme, _, credentials = (header or "").strip().partition(" ")
        credentials = credentials.strip()
        owner = (self.site.account_by_email(self.email) if self.email else None) or (
            self.site.accounts[0]
        )
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            email, sep, token = decoded.partition(":")
            if not sep or self.email is None:
                return None
            same_email = hmac.compare_digest(email.lower().encode(), self.email.lower().encode())
            same_token = hmac.compare_digest(token.encode(), self.api_token.encode())
            return owner if same_email and same_token else None
        if scheme.lower() == "bearer":
            # The site itself takes Basic; bearer tokens go through the gateway.
            if not gateway and self.email is not None:
                return None
            return (
                owner
                if hmac.compare_digest(credentials.encode(), self.api_token.encode())
                else None
            )
        return None

    async def handle(
        self, request: Request[Any, Any, Any], rest: str, cloud_id: str | None
    ) -> Response[bytes]:
        """Answer one request to ``/wiki/...`` (``cloud_id``: via the gateway form)."""
        arrived = time.monotonic()
        raw = await request.body()
        path = "/" + rest.lstrip("/")
        flavour: Literal["v1", "v2"] = "v1" if path.startswith("/rest/") else "v2"
        gateway = cloud_id is not None
        query = request.scope.get("query_string", b"").decode("latin-1")
        header = request.headers.get("authorization")
        fault = self.take_fault(request.method.upper(), path)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
            fault = None
        answer: Answer
        if fault is not None:
            answer = fault_answer(fault, flavour, self.now)
        elif gateway and cloud_id != self.cloud_id:
            answer = Answer(404, {"code": 404, "message": "Not Found"})
        else:
            account = self._authenticate(header, gateway=gateway)
            if account is None:
                answer = (
                    Answer(401, {"code": 401, "message": "Unauthorized"})
                    if gateway
                    else error_answer(
                        flavour,
                        Refused(
                            401,
                            "UNAUTHORIZED",
                            "Unauthorized",
                            "Client must be authenticated to access this resource.",
                        ),
                    )
                )
            else:
                call = Call(
                    method=request.method.upper(),
                    path=path,
                    params=parse_qsl(query, keep_blank_values=True),
                    raw=raw,
                    flavour=flavour,
                    account=account,
                )
                try:
                    answer = self._dispatch(call)
                except Refused as refused:
                    answer = error_answer(flavour, refused)
        self.requests.append(
            RecordedRequest(
                method=request.method.upper(),
                path=request.url.path,
                query=query,
                authorization=masked(header),
                gateway=gateway,
                status=answer.status,
                at=arrived,
                json=logged_json(raw),
            )
        )
        return render(answer)

    def _dispatch(self, call: Call) -> Answer:
        routes: Sequence[
            tuple[str, re.Pattern[str], Callable[[ConfluenceSandbox, Call, str], Answer]]
        ] = (
            ("GET", re.compile(r"^/api/v2/pages/?$"), list_pages),
            ("POST", re.compile(r"^/api/v2/pages/?$"), create_page),
            ("GET", re.compile(r"^/api/v2/pages/([^/]+)$"), get_page),
            ("PUT", re.compile(r"^/api/v2/pages/([^/]+)$"), update_page),
            ("DELETE", re.compile(r"^/api/v2/pages/([^/]+)$"), delete_page),
            ("GET", re.compile(r"^/api/v2/spaces/?$"), list_spaces),
            ("GET", re.compile(r"^/api/v2/spaces/([^/]+)$"), get_space),
            ("GET", re.compile(r"^/api/v2/spaces/([^/]+)/pages$"), space_pages),
            ("GET", re.compile(r"^/rest/api/search/?$"), search),
            *((m, re.compile(p), h) for m, p, h in (*CONTENT_V1_ROUTES, *SPACES_V1_ROUTES)),
        )
        known_path = False
        for method, pattern, handler in routes:
            match = pattern.match(call.path)
            if match is None:
                continue
            known_path = True
            if method == call.method:
                return handler(self, call, match.group(1) if match.groups() else "")
        if known_path:
            raise Refused(405, "METHOD_NOT_ALLOWED", f"Method {call.method} is not allowed here")
        raise Refused(404, "NOT_FOUND", "Not Found", f"No API at /wiki{call.path}")


# -- the app -----------------------------------------------------------------------------

# PATCH too, so that a method Confluence does not take gets its 405 in Atlassian's shape.
_API_METHODS: Final = [
    HttpMethod.GET,
    HttpMethod.POST,
    HttpMethod.PUT,
    HttpMethod.DELETE,
    HttpMethod.PATCH,
]


class _SiteSummary(msgspec.Struct, frozen=True):
    cloud_id: str
    base: str
    spaces: list[dict[str, str]]
    accounts: list[dict[str, str]]


def create_confluence_sandbox_app(sandbox: ConfluenceSandbox) -> Litestar:
    """The sandbox's HTTP app: Confluence's APIs plus the ``/sandbox/*`` test controls."""

    @route("/wiki/{rest:path}", http_method=_API_METHODS, summary="Confluence (site form)")
    async def site_api(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[bytes]:
        return await sandbox.handle(request, rest, None)

    @route(
        "/ex/confluence/{cloud_id:str}/wiki/{rest:path}",
        http_method=_API_METHODS,
        summary="Confluence (api.atlassian.com gateway form)",
    )
    async def gateway_api(
        request: Request[Any, Any, Any], cloud_id: FromPath[str], rest: FromPath[str]
    ) -> Response[bytes]:
        return await sandbox.handle(request, rest, cloud_id)

    @get("/_edge/tenant_info", summary="The site's cloud id", sync_to_thread=False)
    def tenant_info() -> dict[str, str]:
        return {"cloudId": sandbox.cloud_id}

    @post("/sandbox/pages/{page_id:str}/touch", summary="Edit a page behind clients' backs")
    async def touch(request: Request[Any, Any, Any], page_id: FromPath[str]) -> Response[bytes]:
        raw = await request.body()
        try:
            change = msgspec.json.decode(raw, type=_Touch) if raw.strip() else _Touch()
        except msgspec.DecodeError as exc:
            return render(error_answer("v2", Refused(400, "INVALID_REQUEST_PARAMETER", str(exc))))
        try:
            page = sandbox.touch(page_id, body=change.body, title=change.title)
        except Refused as refused:
            return render(error_answer("v2", refused))
        return render(Answer(200, page_json(sandbox, page, "storage", with_base=True)))

    @get("/sandbox/site", summary="The site's cloud id, spaces and accounts", sync_to_thread=False)
    def site_summary() -> _SiteSummary:
        return _SiteSummary(
            cloud_id=sandbox.cloud_id,
            base=sandbox.base,
            spaces=[
                {"id": s.id, "key": s.key, "name": s.name, "homepage_id": s.homepage_id}
                for s in sandbox.site.spaces
            ],
            accounts=[
                {"account_id": a.account_id, "display_name": a.display_name, "email": a.email}
                for a in sandbox.site.accounts
            ],
        )

    routes: Sequence[Any] = [
        site_api,
        gateway_api,
        tenant_info,
        *sandbox_controls(
            sandbox, Fault, requests="Every API request received", reset="Reseed the site"
        ),
        touch,
        site_summary,
    ]
    return create_app(component="confluence-sandbox", route_handlers=routes)
