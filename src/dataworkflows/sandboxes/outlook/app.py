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
resources are :mod:`.graph`'s, the token endpoint :mod:`.identity`'s, the sandbox's
state and faults :mod:`.state`'s; this module holds the HTTP app.

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
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import parse_qsl

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from dataworkflows.runtime.app import create_app
from dataworkflows.sandboxes.controls import sandbox_controls
from dataworkflows.sandboxes.outlook.graph import GraphResources
from dataworkflows.sandboxes.outlook.graph_common import (
    DEFAULT_PAGE,
    MAX_PAGE,
    Answer,
    GraphError,
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
    instance_discovery,
    known_tenant,
    openid_configuration,
    token_answer,
    unknown_tenant,
)
from dataworkflows.sandboxes.outlook.state import (
    Fault,
    FaultKind,
    OutlookSandbox,
    RecordedRequest,
    ResetRequest,
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


JSON_TYPE: Final = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)


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


def _json(status: int, body: Any) -> Response[bytes]:
    return Response(
        json.dumps(body).encode(),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers={"Cache-Control": "max-age=86400, private"} if status == 200 else {},
    )


def create_outlook_sandbox_app(sandbox: OutlookSandbox) -> Litestar:
    """The sandbox's HTTP app: the token endpoint, ``/v1.0``, and the ``/sandbox/*`` controls."""

    @post(
        "/{tenant:str}/oauth2/v2.0/token",
        summary="The identity platform's token endpoint",
        status_code=200,
    )
    async def token(tenant: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _answer_token(sandbox, request, tenant)

    @get(
        "/{tenant:str}/v2.0/.well-known/openid-configuration",
        summary="The tenant's OpenID Connect discovery document",
    )
    async def openid_config(tenant: FromPath[str]) -> Response[bytes]:
        if not known_tenant(sandbox, tenant):
            return _json(400, aad_body(unknown_tenant(tenant)))
        return _json(200, openid_configuration(sandbox.public_url, sandbox.tenant_id))

    @get("/common/discovery/instance", summary="The identity platform's instance discovery")
    async def discovery_instance(
        authorization_endpoint: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        return _json(200, instance_discovery(sandbox.public_url, authorization_endpoint))

    @get("/{tenant:str}/discovery/v2.0/keys", summary="The tenant's token signing keys")
    async def signing_keys(tenant: FromPath[str]) -> Response[bytes]:
        if not known_tenant(sandbox, tenant):
            return _json(400, aad_body(unknown_tenant(tenant)))
        # The sandbox's tokens are not signed with published keys: resource servers
        # (Graph, here) check them, and it is the sandbox.
        return _json(200, {"keys": []})

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
        openid_config,
        discovery_instance,
        signing_keys,
        graph_get,
        graph_post,
        *sandbox_controls(sandbox, Fault, reset=None),
        sent_mail,
        mailboxes,
        reset,
    ]
    return create_app(component="outlook-sandbox", route_handlers=routes)
