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
  ``{"statusCode", "data", "message"}``.
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
change it. Time (``now()`` in CQL, new versions) comes from ``clock``.

Test control endpoints (NOT part of Confluence's API; they exist only here,
unauthenticated, for tests and demos):

- ``POST /sandbox/faults`` (body: a :class:`Fault`) -> 204: fail the next requests
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
import html
import json
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import msgspec
from litestar import Litestar, Request, Response, get, post, route
from litestar.enums import HttpMethod
from litestar.params import FromPath

from dataworkflows.runtime.app import create_app
from dataworkflows.sandboxes.confluence import cql
from dataworkflows.sandboxes.confluence.demo_data import (
    CLOUD_ID,
    DemoAccount,
    DemoPage,
    DemoSite,
    DemoSpace,
    Refused,
    storage_text,
    version_conflict_title,
)
from dataworkflows.sandboxes.controls import sandbox_controls
from dataworkflows.sandboxes.world import ANCHOR

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_PUBLIC_URL",
    "MAX_BODY_BYTES",
    "MAX_LIMIT",
    "ConfluenceSandbox",
    "Fault",
    "FaultKind",
    "RecordedRequest",
    "create_confluence_sandbox_app",
]

DEFAULT_PUBLIC_URL: Final = "http://127.0.0.1:8203"
DEFAULT_LIMIT: Final = 25
MAX_LIMIT: Final = 250
MAX_BODY_BYTES: Final = 5 * 1024 * 1024
"""Confluence refuses request bodies over 5 MB with 413."""

FaultKind = Literal[
    "rate_limited",
    "unavailable",
    "server_error",
    "bad_gateway",
    "slow",
    "conflict",
    "unauthorized",
    "forbidden",
]
"""The failures the sandbox can produce on demand."""


class Fault(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A failure for the next ``times`` API requests (``conflict``: page ``PUT``\\s).

    - ``rate_limited``: 429 with ``Retry-After: <retry_after>`` (none when null) and
      the ``X-RateLimit-*`` headers;
    - ``unavailable``: 503 with ``Retry-After`` likewise;
    - ``server_error``: 500; ``bad_gateway``: 502 with a proxy's HTML page;
    - ``slow``: wait ``delay_s``, then answer normally;
    - ``conflict``: the next page ``PUT`` answers 409 as for a stale version;
    - ``unauthorized``: 401; ``forbidden``: 403.

    ``method`` and ``path`` (a prefix of the path after ``/wiki``, e.g.
    ``/api/v2/pages``) limit which requests the fault hits; others pass it by.
    """

    kind: FaultKind
    times: Annotated[int, msgspec.Meta(ge=1)] = 1
    retry_after: Annotated[int, msgspec.Meta(ge=0)] | None = 2
    delay_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    method: Literal["GET", "POST", "PUT", "DELETE"] | None = None
    path: str | None = None


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


@dataclass(slots=True)
class _QueuedFault:
    fault: Fault
    remaining: int


@dataclass(slots=True)
class _Answer:
    """What the sandbox answers: a JSON document (or an HTML page, or nothing)."""

    status: int
    body: dict[str, Any] | str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Call:
    """One authenticated API request, parsed."""

    method: str
    path: str
    """The path after ``/wiki``."""
    params: list[tuple[str, str]]
    raw: bytes
    flavour: Literal["v1", "v2"]
    account: DemoAccount


_PAGE_SORTS: Final = frozenset(
    {
        "id",
        "-id",
        "created-date",
        "-created-date",
        "modified-date",
        "-modified-date",
        "title",
        "-title",
    }
)
_SPACE_SORTS: Final = frozenset({"id", "-id", "key", "-key", "name", "-name"})
_PAGE_STATUSES: Final = frozenset({"current", "archived", "deleted", "trashed", "draft"})
_LIST_BODY_FORMATS: Final = frozenset({"storage", "atlas_doc_format"})
_PAGE_BODY_FORMATS: Final = frozenset({"storage", "atlas_doc_format", "view"})
_EXCERPTS: Final = frozenset(
    {"highlight", "indexed", "none", "highlight_unescaped", "indexed_unescaped"}
)
_DIGITS_RE: Final = re.compile(r"^\d+$")
_WORD_RE: Final = re.compile(r"\w+")
_MACRO_RE: Final = re.compile(r"</?(?:ac|ri):[^>]*>")
_HTML_BAD_GATEWAY: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _tiny(page_id: str) -> str:
    """Confluence's tiny link: the id's little-endian bytes in URL-safe base64."""
    number = int(page_id)
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "little")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(name: str, why: str) -> Refused:
    return Refused(400, "INVALID_REQUEST_PARAMETER", f"Provided value for '{name}' {why}")


class _Params:
    """A request's query parameters (repeated and comma-separated lists both accepted)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.pairs if k == name), None)

    def values(self, name: str) -> list[str]:
        return [
            item.strip()
            for key, value in self.pairs
            if key == name
            for item in value.split(",")
            if item.strip()
        ]

    def ids(self, name: str, most: int) -> list[str]:
        values = self.values(name)
        if any(not _DIGITS_RE.match(v) for v in values):
            raise _invalid(name, "is not the correct type. Expected type is Long.")
        if len(values) > most:
            raise _invalid(name, f"is not valid. At most {most} values are allowed.")
        return values

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"-?\d+", raw):
            raise _invalid(name, "is not the correct type. Expected type is Integer.")
        value = int(raw)
        if not low <= value <= high:
            raise _invalid(name, f"is not valid. It must be between {low} and {high}.")
        return value

    def choice(self, name: str, allowed: frozenset[str]) -> str | None:
        value = self.get(name)
        if value is not None and value not in allowed:
            raise _invalid(name, f"is not valid. Valid values are: {', '.join(sorted(allowed))}.")
        return value


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
        self._faults: deque[_QueuedFault] = deque()
        # Per instance, so a cursor from another (or a restarted) sandbox is refused.
        self._cursor_key = secrets.token_bytes(32)

    # -- control --------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next ``fault.times`` requests, after those queued."""
        self._faults.append(_QueuedFault(fault, fault.times))

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

    def _take(self, method: str, path: str, *, conflict: bool = False) -> Fault | None:
        """The first queued fault for this request (``conflict``: a conflict fault)."""
        for queued in self._faults:
            fault = queued.fault
            if (fault.kind == "conflict") != conflict:
                continue
            if fault.method is not None and fault.method != method:
                continue
            if fault.path is not None and not path.startswith(fault.path):
                continue
            queued.remaining -= 1
            if queued.remaining <= 0:
                self._faults.remove(queued)
            return fault
        return None

    # -- cursors --------------------------------------------------------------------

    def _encode_cursor(self, payload: Mapping[str, Any]) -> str:
        data = msgspec.json.encode(payload)
        mac = hmac.new(self._cursor_key, data, hashlib.sha256).digest()[:12]
        # Padded, like Atlassian's: the "=" reaches clients unescaped in next links.
        return base64.urlsafe_b64encode(data + mac).decode()

    def _decode_cursor(self, cursor: str, scope: str) -> dict[str, Any]:
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
        fault = self._take(request.method.upper(), path)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
            fault = None
        answer: _Answer
        if fault is not None:
            answer = self._fault_answer(fault, flavour)
        elif gateway and cloud_id != self.cloud_id:
            answer = _Answer(404, {"code": 404, "message": "Not Found"})
        else:
            account = self._authenticate(header, gateway=gateway)
            if account is None:
                answer = (
                    _Answer(401, {"code": 401, "message": "Unauthorized"})
                    if gateway
                    else _error(
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
                call = _Call(
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
                    answer = _error(flavour, refused)
        self.requests.append(
            RecordedRequest(
                method=request.method.upper(),
                path=request.url.path,
                query=query,
                authorization=_masked(header),
                gateway=gateway,
                status=answer.status,
                at=arrived,
                json=_logged_json(raw),
            )
        )
        return _render(answer)

    def _fault_answer(self, fault: Fault, flavour: Literal["v1", "v2"]) -> _Answer:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        match fault.kind:
            case "rate_limited":
                reset = self.now() + timedelta(seconds=fault.retry_after or 1)
                headers |= {
                    "X-RateLimit-Limit": "100",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-NearLimit": "true",
                    "X-RateLimit-Reset": _iso(reset),
                    "RateLimit-Reason": "confluence-quota-tenant-based",
                }
                refused = Refused(429, "TOO_MANY_REQUESTS", "Rate limit exceeded")
            case "unavailable":
                refused = Refused(503, "SERVICE_UNAVAILABLE", "Service Unavailable")
            case "server_error":
                headers = {}
                refused = Refused(500, "INTERNAL_SERVER_ERROR", "Internal Server Error")
            case "bad_gateway":
                return _Answer(502, _HTML_BAD_GATEWAY)
            case "unauthorized":
                refused = Refused(401, "UNAUTHORIZED", "Unauthorized")
                headers = {}
            case _:
                refused = Refused(
                    403,
                    "FORBIDDEN",
                    "The calling user does not have permission to perform this operation",
                )
                headers = {}
        answer = _error(flavour, refused)
        answer.headers |= headers
        return answer

    def _dispatch(self, call: _Call) -> _Answer:
        routes: Sequence[tuple[str, re.Pattern[str], Callable[[_Call, str], _Answer]]] = (
            ("GET", re.compile(r"^/api/v2/pages/?$"), self._list_pages),
            ("POST", re.compile(r"^/api/v2/pages/?$"), self._create_page),
            ("GET", re.compile(r"^/api/v2/pages/([^/]+)$"), self._get_page),
            ("PUT", re.compile(r"^/api/v2/pages/([^/]+)$"), self._update_page),
            ("DELETE", re.compile(r"^/api/v2/pages/([^/]+)$"), self._delete_page),
            ("GET", re.compile(r"^/api/v2/spaces/?$"), self._list_spaces),
            ("GET", re.compile(r"^/api/v2/spaces/([^/]+)$"), self._get_space),
            ("GET", re.compile(r"^/api/v2/spaces/([^/]+)/pages$"), self._space_pages),
            ("GET", re.compile(r"^/rest/api/search/?$"), self._search),
        )
        known_path = False
        for method, pattern, handler in routes:
            match = pattern.match(call.path)
            if match is None:
                continue
            known_path = True
            if method == call.method:
                return handler(call, match.group(1) if match.groups() else "")
        if known_path:
            raise Refused(405, "METHOD_NOT_ALLOWED", f"Method {call.method} is not allowed here")
        raise Refused(404, "NOT_FOUND", "Not Found", f"No API at /wiki{call.path}")

    # -- v2 pages -------------------------------------------------------------------

    def _page_json(
        self, page: DemoPage, body_format: str | None, *, with_base: bool = False
    ) -> dict[str, Any]:
        space = self.site.space(page.space_id)
        key = space.key if space else ""
        body: dict[str, Any] = {}
        if body_format == "storage":
            body = {"storage": {"representation": "storage", "value": page.body}}
        elif body_format == "atlas_doc_format":
            body = {
                "atlas_doc_format": {
                    "representation": "atlas_doc_format",
                    "value": json.dumps(_adf(page.body), separators=(",", ":")),
                }
            }
        elif body_format == "view":
            body = {"view": {"representation": "view", "value": _MACRO_RE.sub("", page.body)}}
        links = {
            "editui": f"/pages/resumedraft.action?draftId={page.id}",
            "webui": f"/spaces/{key}/pages/{page.id}/{quote_plus(page.title)}",
            "edituiv2": f"/spaces/{key}/pages/edit-v2/{page.id}",
            "tinyui": f"/x/{_tiny(page.id)}",
        }
        if with_base:
            links["base"] = self.base
        return {
            "parentType": "page" if page.parent_id else None,
            "parentId": page.parent_id,
            "spaceId": page.space_id,
            "ownerId": page.owner_id or page.author_id,
            "lastOwnerId": None,
            "createdAt": _iso(page.created_at),
            "authorId": page.author_id,
            "position": page.position,
            "version": {
                "number": page.version,
                "message": page.version_message,
                "minorEdit": page.minor_edit,
                "authorId": page.version_author_id,
                "createdAt": _iso(page.version_created_at),
            },
            "body": body,
            "status": page.status,
            "title": page.title,
            "id": page.id,
            "_links": links,
        }

    def _list_pages(self, call: _Call, _: str) -> _Answer:
        params = _Params(call.params)
        space_ids = params.ids("space-id", 100)
        return self._pages_listing(call, params, space_ids=space_ids, depth_root=False)

    def _space_pages(self, call: _Call, space_id: str) -> _Answer:
        space = self._require_space(space_id)
        params = _Params(call.params)
        depth = params.choice("depth", frozenset({"all", "root"}))
        return self._pages_listing(call, params, space_ids=[space.id], depth_root=depth == "root")

    def _pages_listing(
        self, call: _Call, params: _Params, *, space_ids: list[str], depth_root: bool
    ) -> _Answer:
        limit = params.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        sort = params.choice("sort", _PAGE_SORTS)
        body_format = params.choice("body-format", _LIST_BODY_FORMATS)
        statuses = set(params.values("status")) or {"current", "archived"}
        if not statuses <= _PAGE_STATUSES:
            raise _invalid(
                "status", f"is not valid. Valid values are: {', '.join(sorted(_PAGE_STATUSES))}."
            )
        ids = set(params.ids("id", 250))
        title = params.get("title")
        pages = [
            p
            for p in self.site.pages.values()
            if p.status in statuses
            and (not space_ids or p.space_id in space_ids)
            and (not ids or p.id in ids)
            and (title is None or p.title == title)
            and (not depth_root or p.parent_id is None)
        ]
        order = sort or "id"
        key: Callable[[DemoPage], Any] = {
            "id": lambda p: int(p.id),
            "created-date": lambda p: _iso(p.created_at),
            "modified-date": lambda p: _iso(p.modified_at),
            "title": lambda p: p.title.casefold(),
        }[order.lstrip("-")]
        chunk, cursor = self._keyset(
            pages,
            key=key,
            descending=order.startswith("-"),
            limit=limit,
            cursor=params.get("cursor"),
            scope=f"pages:{order}",
        )
        results = [self._page_json(p, body_format) for p in chunk]
        return self._listing(call, results, cursor, limit)

    def _keyset(
        self,
        items: list[Any],
        *,
        key: Callable[[Any], Any],
        descending: bool,
        limit: int,
        cursor: str | None,
        scope: str,
    ) -> tuple[list[Any], str | None]:
        """One page of ``items`` in order, after the cursor's position; and the next cursor."""

        def position(item: Any) -> tuple[Any, int]:
            return key(item), int(item.id)

        ordered = sorted(items, key=position, reverse=descending)
        start = 0
        if cursor is not None:
            payload = self._decode_cursor(cursor, scope)
            after = (payload["k"], payload["i"])
            start = next(
                (
                    n
                    for n, item in enumerate(ordered)
                    if (position(item) < after if descending else position(item) > after)
                ),
                len(ordered),
            )
        chunk = ordered[start : start + limit]
        if not chunk or start + limit >= len(ordered):
            return chunk, None
        last_key, last_id = position(chunk[-1])
        return chunk, self._encode_cursor({"scope": scope, "k": last_key, "i": last_id})

    def _listing(
        self, call: _Call, results: list[dict[str, Any]], cursor: str | None, limit: int
    ) -> _Answer:
        links: dict[str, str] = {}
        headers: dict[str, str] = {}
        if cursor is not None:
            kept = [(k, v) for k, v in call.params if k not in ("cursor", "limit")]
            kept.append(("limit", str(limit)))
            rest = "&".join(f"{quote(k, safe='-')}={quote(v, safe=',')}" for k, v in kept)
            # As Atlassian does: origin-relative with /wiki, the cursor first and unescaped.
            next_link = f"/wiki{call.path}?cursor={cursor}&{rest}"
            links["next"] = next_link
            headers["Link"] = f'<{next_link}>; rel="next", <{self.base}>; rel="base"'
        links["base"] = self.base
        return _Answer(200, {"results": results, "_links": links}, headers)

    def _require_page(self, page_id: str) -> DemoPage:
        if not _DIGITS_RE.match(page_id):
            raise _invalid("id", "is not the correct type. Expected type is Long.")
        page = self.site.page(page_id)
        if page is None:
            raise Refused(404, "NOT_FOUND", "Not Found", f"Page with id {page_id} not found")
        return page

    def _get_page(self, call: _Call, page_id: str) -> _Answer:
        params = _Params(call.params)
        body_format = params.choice("body-format", _PAGE_BODY_FORMATS)
        page = self._require_page(page_id)
        return _Answer(200, self._page_json(page, body_format, with_base=True))

    def _json_body(self, call: _Call) -> dict[str, Any]:
        if len(call.raw) > self.max_body_bytes:
            raise Refused(
                413,
                "REQUEST_ENTITY_TOO_LARGE",
                "Request entity too large",
                f"The request body exceeds {self.max_body_bytes} bytes",
            )
        try:
            document = json.loads(call.raw or b"null")
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise Refused(
                400, "INVALID_REQUEST_PARAMETER", "The request body must be a JSON object"
            )
        return document

    def _create_page(self, call: _Call, _: str) -> _Answer:
        document = self._json_body(call)
        params = _Params(call.params)
        space_id = _id_member(document, "spaceId", required=True)
        assert space_id is not None
        status = document.get("status", "current")
        if status not in ("current", "draft"):
            raise _invalid("status", "is not valid. Valid values are: current, draft.")
        title = document.get("title")
        if not isinstance(title, str) and not (status == "draft" and title is None):
            raise Refused(400, "INVALID_REQUEST_PARAMETER", "A current page must have a title")
        page = self.site.create_page(
            space_id=space_id,
            title=title or "",
            body=_storage_from(document.get("body")),
            parent_id=_id_member(document, "parentId", required=False),
            author_id=call.account.account_id,
            now=self.now(),
            status=status,
            root_level=params.get("root-level") == "true",
        )
        return _Answer(200, self._page_json(page, "storage", with_base=True))

    def _update_page(self, call: _Call, page_id: str) -> _Answer:
        page = self._require_page(page_id)
        document = self._json_body(call)
        if str(document.get("id", "")) != page_id:
            raise Refused(
                400, "INVALID_REQUEST_PARAMETER", "The id in the body must match the page's id"
            )
        status = document.get("status")
        if status not in ("current", "archived"):
            raise _invalid("status", "is not valid. Valid values are: current, archived.")
        title = document.get("title")
        if not isinstance(title, str):
            raise Refused(400, "INVALID_REQUEST_PARAMETER", "title is required")
        if "body" not in document:
            raise Refused(400, "INVALID_REQUEST_PARAMETER", "body is required")
        version = document.get("version")
        number = version.get("number") if isinstance(version, dict) else None
        if not isinstance(number, int) or isinstance(number, bool):
            raise Refused(400, "INVALID_REQUEST_PARAMETER", "version.number is required")
        message = version.get("message") if isinstance(version, dict) else None
        if self._take("PUT", call.path, conflict=True) is not None:
            raise Refused(409, "CONFLICT", version_conflict_title(page.version, number))
        updated = self.site.update_page(
            page_id,
            title=title,
            body=_storage_from(document.get("body")),
            version=number,
            message=message if isinstance(message, str) else "",
            author_id=call.account.account_id,
            now=self.now(),
            status=status,
            parent_id=_id_member(document, "parentId", required=False),
            minor_edit=bool(isinstance(version, dict) and version.get("minorEdit")),
        )
        return _Answer(200, self._page_json(updated, "storage", with_base=True))

    def _delete_page(self, call: _Call, page_id: str) -> _Answer:
        self._require_page(page_id)
        self.site.trash_page(page_id, purge=_Params(call.params).get("purge") == "true")
        return _Answer(204, None)

    # -- v2 spaces ------------------------------------------------------------------

    def _space_json(
        self, space: DemoSpace, description: str | None, *, with_base: bool = False
    ) -> dict[str, Any]:
        links = {"webui": f"/spaces/{space.key}"}
        if with_base:
            links["base"] = self.base
        described: dict[str, Any] | None = None
        if description == "plain":
            described = {"plain": {"value": space.description, "representation": "plain"}}
        elif description == "view":
            described = {
                "view": {
                    "value": f"<p>{html.escape(space.description)}</p>",
                    "representation": "view",
                }
            }
        return {
            "id": space.id,
            "key": space.key,
            "name": space.name,
            "type": space.type,
            "status": space.status,
            "authorId": space.author_id,
            "createdAt": _iso(space.created_at),
            "homepageId": space.homepage_id,
            "description": described,
            "icon": None,
            "spaceOwnerId": space.author_id,
            "currentActiveAlias": space.key,
            "_links": links,
        }

    def _require_space(self, space_id: str) -> DemoSpace:
        if not _DIGITS_RE.match(space_id):
            raise _invalid("id", "is not the correct type. Expected type is Long.")
        space = self.site.space(space_id)
        if space is None:
            raise Refused(404, "NOT_FOUND", "Not Found", f"Space with id {space_id} not found")
        return space

    def _list_spaces(self, call: _Call, _: str) -> _Answer:
        params = _Params(call.params)
        limit = params.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        sort = params.choice("sort", _SPACE_SORTS) or "id"
        description = params.choice("description-format", frozenset({"plain", "view"}))
        ids = set(params.ids("ids", 100))
        keys = set(params.values("keys"))
        types = set(params.values("type"))
        statuses = set(params.values("status"))
        spaces = [
            s
            for s in self.site.spaces
            if (not ids or s.id in ids)
            and (not keys or s.key in keys)
            and (not types or s.type in types)
            and (not statuses or s.status in statuses)
        ]
        key: Callable[[DemoSpace], Any] = {
            "id": lambda s: int(s.id),
            "key": lambda s: s.key,
            "name": lambda s: s.name.casefold(),
        }[sort.lstrip("-")]
        chunk, cursor = self._keyset(
            spaces,
            key=key,
            descending=sort.startswith("-"),
            limit=limit,
            cursor=params.get("cursor"),
            scope=f"spaces:{sort}",
        )
        return self._listing(call, [self._space_json(s, description) for s in chunk], cursor, limit)

    def _get_space(self, call: _Call, space_id: str) -> _Answer:
        params = _Params(call.params)
        description = params.choice("description-format", frozenset({"plain", "view"}))
        space = self._require_space(space_id)
        return _Answer(200, self._space_json(space, description, with_base=True))

    # -- v1 search ------------------------------------------------------------------

    def _indexed(self, page: DemoPage) -> cql.Indexed:
        space = self.site.space(page.space_id)
        return cql.Indexed(
            id=page.id,
            type="page",
            space_key=space.key if space else "",
            space_title=space.name if space else "",
            title=page.title,
            text=storage_text(page.body),
            created=page.created_at,
            modified=page.modified_at,
            ancestors=tuple(self.site.ancestors(page)),
            parent=page.parent_id,
            creator=page.author_id,
            contributors=frozenset({page.author_id, page.version_author_id}),
        )

    def _search(self, call: _Call, _: str) -> _Answer:
        started = time.perf_counter()
        params = _Params(call.params)
        query_text = params.get("cql")
        if not query_text:
            raise Refused(400, "BAD_REQUEST", "CQL query parameter is required")
        # v1 clamps a limit it does not like instead of refusing it.
        limit = max(1, min(params.integer("limit", DEFAULT_LIMIT, -(10**9), 10**9), MAX_LIMIT))
        start = params.integer("start", 0, 0, 10**9)
        cursor = params.get("cursor")
        scope = "search:" + hashlib.sha256(query_text.encode()).hexdigest()[:16]
        if cursor:
            start = int(self._decode_cursor(cursor, scope)["k"])
        excerpt = params.choice("excerpt", _EXCERPTS) or "highlight"
        expand = set(params.values("expand"))
        now = self.now()
        try:
            query = cql.parse(query_text)
            documents = [
                (page, self._indexed(page))
                for page in self.site.pages.values()
                if page.status == "current"
            ]
            hits = [
                (page, doc)
                for page, doc in documents
                if cql.matches(query.where, doc, now=now, current_user=call.account.account_id)
            ]
        except cql.CqlError as exc:
            raise Refused(
                400, "BAD_REQUEST", f"Could not parse cql : {query_text}", str(exc)
            ) from None
        terms = cql.search_terms(query.where)
        if query.order:
            for name, descending in reversed(query.order):
                hits.sort(key=_ordered_by(name), reverse=descending)
        else:
            hits.sort(
                key=lambda hit: (cql.relevance(hit[1], terms), hit[1].modified, int(hit[1].id)),
                reverse=True,
            )
        chunk = hits[start : start + limit]
        results = [
            self._search_result(page, doc, terms, excerpt, "content.space" in expand)
            for page, doc in chunk
        ]
        links: dict[str, str] = {
            "base": self.base,
            "context": "/wiki",
            "self": f"{self.base}/rest/api/search?{_query(call.params)}",
        }
        if start + limit < len(hits):
            links["next"] = self._search_link("next", query_text, start + limit, limit, scope)
        if start > 0:
            links["prev"] = self._search_link(
                "prev", query_text, max(0, start - limit), limit, scope
            )
        return _Answer(
            200,
            {
                "results": results,
                "start": start,
                "limit": limit,
                "size": len(results),
                "totalSize": len(hits),
                "cqlQuery": query_text,
                "searchDuration": max(1, round((time.perf_counter() - started) * 1000)),
                "_links": links,
            },
        )

    def _search_link(
        self, direction: str, query_text: str, start: int, limit: int, scope: str
    ) -> str:
        cursor = self._encode_cursor({"scope": scope, "k": start, "i": 0})
        encoded = quote(query_text, safe="")
        # Relative to _links.base (which ends in /wiki): v1's rule, unlike v2's.
        return (
            f"/rest/api/search?{direction}=true&cursor={cursor}&limit={limit}"
            f"&start={start}&cql={encoded}"
        )

    def _search_result(
        self, page: DemoPage, doc: cql.Indexed, terms: list[str], excerpt: str, with_space: bool
    ) -> dict[str, Any]:
        space = self.site.space(page.space_id)
        key = space.key if space else ""
        webui = f"/spaces/{key}/pages/{page.id}/{quote_plus(page.title)}"
        content: dict[str, Any] = {
            "id": page.id,
            "type": "page",
            "status": page.status,
            "title": page.title,
            "childTypes": {},
            "macroRenderedOutput": {},
            "restrictions": {},
            "_expandable": {
                "container": f"/rest/api/space/{key}",
                "metadata": "",
                "extensions": "",
                "operations": "",
                "children": f"/rest/api/content/{page.id}/child",
                "history": f"/rest/api/content/{page.id}/history",
                "ancestors": "",
                "body": "",
                "version": "",
                "descendants": f"/rest/api/content/{page.id}/descendant",
                "space": f"/rest/api/space/{key}",
            },
            "_links": {
                "webui": webui,
                "self": f"{self.base}/rest/api/content/{page.id}",
                "tinyui": f"/x/{_tiny(page.id)}",
            },
        }
        if with_space and space is not None:
            content["space"] = {
                "id": int(space.id),
                "key": space.key,
                "name": space.name,
                "type": space.type,
                "status": space.status,
                "_links": {
                    "webui": f"/spaces/{space.key}",
                    "self": f"{self.base}/rest/api/space/{space.key}",
                },
            }
            del content["_expandable"]["space"]
        highlight = excerpt.startswith("highlight")
        escape = not excerpt.endswith("_unescaped")
        return {
            "content": content,
            "title": _marked(page.title, terms, escape=escape) if highlight else page.title,
            "excerpt": _excerpt(doc.text, terms, excerpt),
            "url": webui,
            "resultGlobalContainer": {
                "title": space.name if space else "",
                "displayUrl": f"/spaces/{key}",
            },
            "breadcrumbs": [],
            "entityType": "content",
            "iconCssClass": "aui-icon content-type-page",
            "lastModified": _iso(page.modified_at),
            "friendlyLastModified": page.modified_at.strftime("%b %d, %Y"),
            "score": float(cql.relevance(doc, terms)),
        }


# -- rendering helpers -------------------------------------------------------------------


def _ordered_by(name: str) -> Callable[[tuple[DemoPage, cql.Indexed]], Any]:
    def key(hit: tuple[DemoPage, cql.Indexed]) -> Any:
        return cql.sort_key(hit[1], name)

    return key


def _error(flavour: Literal["v1", "v2"], refused: Refused) -> _Answer:
    """An error in the shape of the API that was called."""
    if flavour == "v2":
        error = {
            "status": refused.status,
            "code": refused.code,
            "title": refused.title,
            "detail": refused.detail,
        }
        return _Answer(refused.status, {"errors": [error]})
    message = refused.title if refused.detail is None else f"{refused.title}: {refused.detail}"
    return _Answer(
        refused.status,
        {
            "statusCode": refused.status,
            "data": {
                "authorized": refused.status not in (401, 403),
                "valid": refused.status != 400,
                "errors": [],
                "successful": False,
            },
            "message": message,
        },
    )


def _render(answer: _Answer) -> Response[bytes]:
    headers = {"ATL-TraceId": uuid.uuid4().hex[:16], **answer.headers}
    if isinstance(answer.body, str):
        return Response(
            answer.body.encode(), status_code=answer.status, media_type="text/html", headers=headers
        )
    if answer.body is None:
        return Response(b"", status_code=answer.status, headers=headers)
    return Response(
        msgspec.json.encode(answer.body),
        status_code=answer.status,
        media_type="application/json;charset=UTF-8",
        headers=headers,
    )


def _masked(header: str | None) -> str | None:
    if not header:
        return None
    scheme = header.strip().partition(" ")[0]
    return f"{scheme} ****"


def _logged_json(raw: bytes) -> Any:
    if not raw or len(raw) > 100_000:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _id_member(document: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = document.get(name)
    if value is None:
        if required:
            raise Refused(400, "INVALID_REQUEST_PARAMETER", f"{name} is required")
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int)
        or not _DIGITS_RE.match(str(value))
    ):
        raise _invalid(name, "is not the correct type. Expected type is Long.")
    return str(value)


def _storage_from(body: Any) -> str:
    """A write's body as storage XHTML (storage as is; ADF and wiki text as paragraphs)."""
    if body is None:
        return ""
    if not isinstance(body, dict) or not isinstance(body.get("value"), str):
        raise Refused(
            400, "INVALID_REQUEST_PARAMETER", 'body must be {"representation": ..., "value": ...}'
        )
    representation = body.get("representation")
    value: str = body["value"]
    if representation == "storage":
        return value
    if representation == "wiki":
        return "".join(f"<p>{html.escape(line)}</p>" for line in value.splitlines() if line)
    if representation == "atlas_doc_format":
        try:
            document = json.loads(value)
        except ValueError:
            raise Refused(
                400, "INVALID_REQUEST_PARAMETER", "The ADF body is not valid JSON"
            ) from None
        return "".join(f"<p>{html.escape(text)}</p>" for text in _adf_paragraphs(document))
    raise _invalid(
        "body.representation", "is not valid. Valid values are: storage, atlas_doc_format, wiki."
    )


def _adf_paragraphs(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    if node.get("type") == "paragraph":
        return ["".join(_adf_text(node))]
    return [p for child in node.get("content") or [] for p in _adf_paragraphs(child)]


def _adf_text(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    if node.get("type") == "text" and isinstance(node.get("text"), str):
        return [node["text"]]
    return [t for child in node.get("content") or [] for t in _adf_text(child)]


def _adf(body: str) -> dict[str, Any]:
    """A minimal Atlassian Document Format rendering of a storage body (its words)."""
    text = storage_text(body)
    paragraph: dict[str, Any] = {"type": "paragraph", "content": []}
    if text:
        paragraph["content"] = [{"type": "text", "text": text}]
    return {"type": "doc", "version": 1, "content": [paragraph]}


def _marked(text: str, terms: list[str], *, escape: bool) -> str:
    """``text`` with searched words between ``@@@hl@@@`` and ``@@@endhl@@@``."""

    def escaped(part: str) -> str:
        return html.escape(part) if escape else part

    out: list[str] = []
    last = 0
    for match in _WORD_RE.finditer(text):
        out.append(escaped(text[last : match.start()]))
        word = match.group()
        if terms and any(word.lower().startswith(t) for t in terms):
            out.append(f"@@@hl@@@{escaped(word)}@@@endhl@@@")
        else:
            out.append(escaped(word))
        last = match.end()
    out.append(escaped(text[last:]))
    return "".join(out)


def _excerpt(text: str, terms: list[str], mode: str) -> str:
    if mode == "none":
        return ""
    at = 0
    if terms:
        for match in _WORD_RE.finditer(text):
            if any(match.group().lower().startswith(t) for t in terms):
                at = max(0, match.start() - 60)
                break
    snippet = text[at : at + 240]
    if at > 0:
        snippet = "..." + snippet.split(" ", 1)[-1]
    if at + 240 < len(text):
        snippet = snippet.rsplit(" ", 1)[0] + "..."
    escape = not mode.endswith("_unescaped")
    if mode.startswith("highlight"):
        return _marked(snippet, terms, escape=escape)
    return html.escape(snippet) if escape else snippet


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
            return _render(_error("v2", Refused(400, "INVALID_REQUEST_PARAMETER", str(exc))))
        try:
            page = sandbox.touch(page_id, body=change.body, title=change.title)
        except Refused as refused:
            return _render(_error("v2", refused))
        return _render(_Answer(200, sandbox._page_json(page, "storage", with_base=True)))

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
