"""A local, wire-faithful stand-in for Microsoft Graph's mail and calendar APIs and the
Microsoft identity platform's token endpoint.

It answers as Microsoft documents (``shared/reference/microsoft-graph.md``), not as
our client happens to call, so a client written from the docs works against it:

- ``POST /{tenant}/oauth2/v2.0/token``: the client-credentials grant (form body;
  ``client_secret`` in the form or HTTP Basic), scope
  ``https://graph.microsoft.com/.default``. Errors in Entra ID's shape
  (``error``, ``error_description`` with an ``AADSTS`` code, ``error_codes``, ...):
  ``invalid_client`` (401, wrong or missing secret), ``unauthorized_client`` (unknown
  client id), ``invalid_scope``, ``unsupported_grant_type``, ``invalid_request``
  (missing parameter, unknown tenant). Tokens are JWTs (HS256 with a key of this
  sandbox instance; clients treat them as opaque) for ``expires_in`` 3599 seconds.
- ``GET /v1.0/users/{id|upn}/messages`` and ``.../mailFolders/{folder}/messages``
  (well-known folder names or ids): ``$select``, ``$filter`` (see :mod:`.odata`),
  ``$orderby`` (``InefficientFilter`` unless its properties lead the filter, in the
  same order), ``$top`` (default 10, 1-1000), ``$skip``, ``$search`` (not with
  ``$filter``/``$orderby``), ``$count``; ``@odata.context`` and an absolute
  ``@odata.nextLink``. Also ``GET .../mailFolders``, ``.../mailFolders/{folder}`` and
  ``.../messages/{id}``.
- ``GET /v1.0/users/{id}/calendarView?startDateTime=...&endDateTime=...`` (both
  required: 400 ``ErrorInvalidParameter``; recurring events expanded into
  occurrences and exceptions; ``Prefer: outlook.timezone``; paged with an opaque
  ``$skiptoken``).
- ``POST /v1.0/users/{id}/sendMail``: 202 with no body. Property names are matched
  case-insensitively (msgraph-sdk sends ``Message`` and ``SaveToSentItems``), enum
  values too (``text``/``Text``); ``@odata.type`` annotations are ignored. The mail is
  filed in the sender's Sent Items (unless ``saveToSentItems`` is false) and in the
  Inbox of every recipient who has a mailbox here.

Every ``/v1.0`` request needs ``Authorization: Bearer <token this sandbox issued>``
(401 ``InvalidAuthenticationToken`` otherwise, expired ones included). ``/me`` is
refused as for any app-only token. An unknown user is 404 ``ErrorInvalidUser``; a
user without a mailbox 404 ``MailboxNotEnabledForRESTAPI``. Errors have Graph's shape
``{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}`` and every answer carries ``request-id`` and
``client-request-id`` headers.

The data is a :class:`~.demo_data.DemoTenant` (see there for the anchor date); the
resources are :mod:`.sandbox_graph`'s, the token endpoint :mod:`.sandbox_identity`'s;
this module holds the sandbox's state, its faults, and the HTTP app.

Test control endpoints (NOT part of Graph; only here, unauthenticated):

- ``POST /sandbox/faults`` (a :class:`Fault`) -> 204; ``DELETE /sandbox/faults``;
- ``GET /sandbox/requests`` -> every token and ``/v1.0`` request (:class:`RecordedRequest`,
  secrets and tokens masked);
- ``GET /sandbox/sent`` -> every mail accepted by ``sendMail`` (:class:`SentRecord`);
- ``GET /sandbox/mailboxes`` -> the demo users (id, address, name, has_mailbox);
- ``POST /sandbox/reset`` (optional body :class:`ResetRequest`: ``anchor``, ``seed``,
  ``token_ttl_s``) -> 204: reseed, forget faults, requests and sent mail.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import parse_qsl

import jwt
import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath

from dataworkflows.runtime.app import create_app
from dataworkflows.sandboxes.controls import sandbox_controls
from dataworkflows.sandboxes.outlook.demo_data import DemoTenant
from dataworkflows.sandboxes.outlook.graph import (
    DEFAULT_PAGE,
    MAX_PAGE,
    Answer,
    GraphError,
    GraphResources,
    Query,
    SentRecord,
    graph_error_body,
)
from dataworkflows.sandboxes.outlook.identity import (
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    AadError,
    aad_body,
    basic_credentials,
    expired_secret,
    token_answer,
)

__all__ = [
    "DEFAULT_PAGE",
    "GRAPH_RESOURCE",
    "MAX_PAGE",
    "Fault",
    "FaultKind",
    "OutlookSandbox",
    "RecordedRequest",
    "ResetRequest",
    "SentRecord",
    "create_outlook_sandbox_app",
]

TOKEN_TTL_S: Final = 3599
JSON_TYPE: Final = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)

FaultKind = Literal[
    "throttled",
    "unavailable",
    "gateway_timeout",
    "server_error",
    "slow",
    "token_error",
    "invalid_token",
    "forbidden",
]
"""The failures the sandbox can produce on demand (``token_error`` at the token endpoint,
the others on ``/v1.0``)."""


class Fault(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A failure for the next ``times`` requests.

    - ``throttled``: 429 ``TooManyRequests``; ``unavailable``: 503
      ``ServiceUnavailable``; ``gateway_timeout``: 504 ``GatewayTimeout``; each with
      ``Retry-After: <retry_after>`` (an integer; None leaves the header out);
    - ``server_error``: 500 ``generalException``; ``slow``: wait ``delay_s``, then answer;
    - ``invalid_token``: 401 ``InvalidAuthenticationToken``; ``forbidden``: 403
      ``ErrorAccessDenied``;
    - ``token_error``: the token endpoint answers 401 ``invalid_client`` (an expired
      client secret, AADSTS7000222).

    ``after_processing``: do the work first (send the mail), then fail: an answer lost
    after Graph acted.
    """

    kind: FaultKind
    times: Annotated[int, msgspec.Meta(ge=1)] = 1
    retry_after: Annotated[int, msgspec.Meta(ge=0)] | None = 2
    delay_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    after_processing: bool = False


class RecordedRequest(msgspec.Struct, frozen=True):
    """One request as received, with its answer's status. Credentials are masked."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    """``Bearer ***`` / ``Basic ***`` when a credential was sent, else None."""
    client_request_id: str | None
    retry_attempt: str | None
    """The ``Retry-Attempt`` header msgraph-sdk's retry handler adds to a repeat."""
    prefer: str | None
    form: dict[str, str] | None
    """A token request's form fields (``client_secret`` masked)."""
    status: int
    at: float
    """``time.monotonic()`` of this process when the request arrived."""


class ResetRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Optional settings for ``POST /sandbox/reset``."""

    anchor: date | None = None
    """The date the demo data is placed around (default: today, UTC)."""
    seed: int | None = None
    token_ttl_s: Annotated[int, msgspec.Meta(ge=1, le=86_400)] | None = None


@dataclass(slots=True)
class _QueuedFault:
    fault: Fault
    remaining: int


class OutlookSandbox:
    """State of one sandbox: the tenant's data, its app registration, faults, logs.

    ``public_url`` is how clients reach this sandbox (``@odata.nextLink`` and
    ``@odata.context`` start with it). ``anchor`` fixes the demo data's date (default:
    today in UTC); ``clock`` (seconds since the epoch) dates tokens and sent mail.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        public_url: str,
        seed: int = 7,
        anchor: date | None = None,
        clock: Callable[[], float] = time.time,
        token_ttl_s: int = TOKEN_TTL_S,
    ) -> None:
        if not (tenant_id and client_id and client_secret):
            raise ValueError("the sandbox needs a tenant id, a client id and a client secret")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.seed = seed
        self.token_ttl_s = token_ttl_s
        self.fixed_anchor = anchor
        self.tenant = DemoTenant.seeded(seed, anchor=anchor or self._today())
        self.requests: list[RecordedRequest] = []
        self.sent: list[SentRecord] = []
        self._api_faults: deque[_QueuedFault] = deque()
        self._token_faults: deque[_QueuedFault] = deque()
        # Per instance: tokens of another (or a restarted) sandbox are refused.
        self._key = secrets.token_bytes(32)

    def _today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()

    def now(self) -> datetime:
        """The sandbox's current time."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next ``fault.times`` requests it applies to."""
        queue = self._token_faults if fault.kind == "token_error" else self._api_faults
        queue.append(_QueuedFault(fault, fault.times))

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._api_faults.clear()
        self._token_faults.clear()

    def reset(
        self, *, anchor: date | None = None, seed: int | None = None, token_ttl_s: int | None = None
    ) -> None:
        """Reseed (with a new anchor or seed if given); forget faults, requests, sent mail."""
        if seed is not None:
            self.seed = seed
        if anchor is not None:
            self.fixed_anchor = anchor
        if token_ttl_s is not None:
            self.token_ttl_s = token_ttl_s
        self.tenant = DemoTenant.seeded(self.seed, anchor=self.fixed_anchor or self._today())
        self.requests.clear()
        self.sent.clear()
        self.clear_faults()

    def take_fault(self, *, token: bool) -> Fault | None:
        """The fault for the request arriving now, if one is queued."""
        queue = self._token_faults if token else self._api_faults
        if not queue:
            return None
        queued = queue[0]
        queued.remaining -= 1
        if queued.remaining <= 0:
            queue.popleft()
        return queued.fault

    def issue_token(self) -> str:
        """A new access token for the registered app."""
        now = int(self.clock())
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.token_ttl_s,
            "app_displayname": "Data Workflows",
            "appid": self.client_id,
            "idtyp": "app",
            "roles": ["Calendars.Read", "Mail.Read", "Mail.Send"],
            "tid": self.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        return jwt.encode(claims, self._key, algorithm="HS256", headers={"typ": "JWT"})

    def token_problem(self, authorization: str | None) -> str | None:
        """Why ``authorization`` is not a valid bearer token of this sandbox, or None."""
        if not authorization or not authorization.strip():
            return "Access token is empty."
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "Access token is empty."
        try:
            claims = jwt.decode(
                token.strip(),
                self._key,
                algorithms=["HS256"],
                audience=[GRAPH_RESOURCE, GRAPH_APP_ID],
                options={"verify_exp": False, "require": ["exp", "aud"]},
            )
        except jwt.InvalidAudienceError:
            return "Access token validation failure. Invalid audience."
        except jwt.DecodeError:
            return "IDX14100: JWT is not well formed, there are no dots (.) or it is not a JWS."
        except jwt.InvalidTokenError:
            return "Access token validation failure."
        if claims.get("appid") != self.client_id:
            return "Access token validation failure."
        if float(claims["exp"]) <= self.clock():
            return "Lifetime validation failed, the token is expired."
        return None

    def skiptoken(self, offset: int, window: str) -> str:
        """An opaque, signed paging token for ``offset`` into ``window``."""
        payload = json.dumps({"o": offset, "w": window}, separators=(",", ":")).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def read_skiptoken(self, token: str, window: str) -> int | None:
        """The offset of a skiptoken this sandbox issued for ``window``, else None."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        payload, mac = raw[:-12], raw[-12:]
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        if not payload or not hmac.compare_digest(mac, expected):
            return None
        data = json.loads(payload)
        if data.get("w") != window:
            return None
        return int(data["o"])


_AUTHENTICATE: Final = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
    f'authorize", client_id="{GRAPH_APP_ID}"'
)


def _fault_error(fault: Fault) -> GraphError:
    retry = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    match fault.kind:
        case "throttled":
            return GraphError(429, "TooManyRequests", "Please retry again later.", retry)
        case "unavailable":
            return GraphError(
                503, "ServiceUnavailable", "The service is temporarily unavailable.", retry
            )
        case "gateway_timeout":
            return GraphError(
                504, "GatewayTimeout", "The gateway did not receive a response.", retry
            )
        case "server_error":
            return GraphError(500, "generalException", "General exception while processing.")
        case "invalid_token":
            return GraphError(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
                {"WWW-Authenticate": _AUTHENTICATE},
            )
        case "forbidden":
            return GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
    raise AssertionError(f"{fault.kind} is not an API error")  # pragma: no cover


def _masked(header: str | None) -> str | None:
    if not header or not header.strip():
        return None
    scheme = header.strip().split(" ", 1)[0]
    return f"{scheme} ***"


# -- HTTP --------------------------------------------------------------------------------


def _response(answer: Answer, request_id: str, client_request_id: str) -> Response[bytes]:
    headers = {
        **answer.headers,
        "request-id": request_id,
        "client-request-id": client_request_id,
        "x-ms-ags-diagnostic": json.dumps(
            {"ServerInfo": {"DataCenter": "Sandbox", "Slice": "E", "Ring": "5", "ScaleUnit": "000"}}
        ),
    }
    if answer.body is None:
        return Response(b"", status_code=answer.status, headers=headers)
    return Response(
        json.dumps(answer.body).encode(),
        status_code=answer.status,
        media_type=JSON_TYPE,
        headers=headers,
    )


async def _answer_graph(
    sandbox: OutlookSandbox, request: Request[Any, Any, Any], path: str
) -> Response[bytes]:
    arrived = time.monotonic()
    raw = await request.body()
    query_string = request.scope.get("query_string", b"").decode("latin-1")
    query = Query.parse(query_string)
    authorization = request.headers.get("authorization")
    client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
    request_id = str(uuid.uuid4())
    prefer = request.headers.get("prefer")
    segments = [s for s in path.split("/") if s]
    graph = GraphResources(sandbox)
    fault = sandbox.take_fault(token=False)
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay_s)
        fault = None
    try:
        if fault is not None and not fault.after_processing:
            raise _fault_error(fault)
        problem = sandbox.token_problem(authorization)
        if problem is not None:
            raise GraphError(
                401, "InvalidAuthenticationToken", problem, {"WWW-Authenticate": _AUTHENTICATE}
            )
        answer = (
            graph.post(segments, raw)
            if request.method == "POST"
            else graph.get(segments, query, prefer)
        )
        if fault is not None:
            raise _fault_error(fault)
    except GraphError as exc:
        body = graph_error_body(exc.code, exc.message, request_id, client_request_id)
        answer = Answer(exc.status, body, exc.headers)
    sandbox.requests.append(
        RecordedRequest(
            method=request.method,
            path=f"/v1.0{path if path.startswith('/') else '/' + path}",
            query=dict(query.raw),
            authorization=_masked(authorization),
            client_request_id=request.headers.get("client-request-id"),
            retry_attempt=request.headers.get("retry-attempt"),
            prefer=prefer,
            form=None,
            status=answer.status,
            at=arrived,
        )
    )
    return _response(answer, request_id, client_request_id)


async def _answer_token(
    sandbox: OutlookSandbox, request: Request[Any, Any, Any], tenant: str
) -> Response[bytes]:
    arrived = time.monotonic()
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    form: dict[str, str] = {}
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        form = dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    authorization = request.headers.get("authorization")
    fault = sandbox.take_fault(token=True)
    result: AadError | dict[str, Any]
    if fault is not None:
        result = expired_secret(sandbox.client_id)
    else:
        result = token_answer(sandbox, tenant, form, basic_credentials(authorization))
    if isinstance(result, AadError):
        status, body = result.status, aad_body(result)
    else:
        status, body = 200, result
    sandbox.requests.append(
        RecordedRequest(
            method="POST",
            path=f"/{tenant}/oauth2/v2.0/token",
            query={},
            authorization=_masked(authorization),
            client_request_id=request.headers.get("client-request-id"),
            retry_attempt=None,
            prefer=None,
            form={k: ("***" if k == "client_secret" else v) for k, v in form.items()},
            status=status,
            at=arrived,
        )
    )
    headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
    return Response(
        json.dumps(body).encode(),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )


class _MailboxInfo(msgspec.Struct, frozen=True):
    id: str
    address: str
    name: str
    has_mailbox: bool


def create_outlook_sandbox_app(sandbox: OutlookSandbox) -> Litestar:
    """The sandbox's HTTP app: the token endpoint, ``/v1.0``, and the ``/sandbox/*`` controls."""

    @post(
        "/{tenant:str}/oauth2/v2.0/token",
        summary="The identity platform's token endpoint",
        status_code=200,
    )
    async def token(tenant: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _answer_token(sandbox, request, tenant)

    @get("/v1.0/{path:path}", summary="Microsoft Graph v1.0 (reads)")
    async def graph_get(path: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _answer_graph(sandbox, request, path)

    @post("/v1.0/{path:path}", summary="Microsoft Graph v1.0 (sendMail)", status_code=202)
    async def graph_post(path: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _answer_graph(sandbox, request, path)

    @get("/sandbox/sent", summary="Every mail sendMail accepted", sync_to_thread=False)
    def sent_mail() -> list[SentRecord]:
        return list(sandbox.sent)

    @get("/sandbox/mailboxes", summary="The demo users", sync_to_thread=False)
    def mailboxes() -> list[_MailboxInfo]:
        return [
            _MailboxInfo(id=p.id, address=p.address, name=p.name, has_mailbox=p.has_mailbox)
            for p in sandbox.tenant.people
        ]

    @post("/sandbox/reset", summary="Reseed the tenant", status_code=200)
    async def reset(request: Request[Any, Any, Any]) -> Response[bytes]:
        raw = await request.body()
        try:
            settings = (
                msgspec.json.decode(raw, type=ResetRequest) if raw.strip() else ResetRequest()
            )
        except msgspec.DecodeError as exc:  # ValidationError included
            return Response(str(exc).encode(), status_code=400, media_type="text/plain")
        sandbox.reset(anchor=settings.anchor, seed=settings.seed, token_ttl_s=settings.token_ttl_s)
        return Response(b"", status_code=204)

    routes: Sequence[Any] = [
        token,
        graph_get,
        graph_post,
        *sandbox_controls(sandbox, Fault, reset=None),
        sent_mail,
        mailboxes,
        reset,
    ]
    return create_app(component="outlook-sandbox", route_handlers=routes)
