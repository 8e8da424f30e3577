"""A local, wire-faithful stand-in for Slack: its Web API, response_urls, and Slack's
side of slash commands, @mentions and button clicks towards the bot.

Served by ``dataworkflows serve sandbox slack`` (and ``dev`` without Slack
credentials). Written from Slack's documentation, not from our client: another
client written from the same docs must work against it. The shapes and their sources
are described in :mod:`.webapi` (Web API and response_urls) and
:mod:`.driver` (what is sent to the bot); the data is the seeded
:mod:`.demo_data` workspace matching the Monday demo account.

Slack's endpoints:

- ``GET|POST /api/<method>``: ``auth.test``, ``chat.postMessage``, ``chat.update``,
  ``chat.postEphemeral``, ``conversations.history``, ``conversations.replies``,
  ``conversations.list``, ``conversations.info``, ``users.info``, ``users.list`` (and
  ``api.test``).
  Arguments as query parameters, ``application/x-www-form-urlencoded`` or
  ``application/json; charset=utf-8`` bodies (a JSON body without charset works and
  answers ``warning: missing_charset``, as Slack does). The token as
  ``Authorization: Bearer`` or, in form bodies, the legacy ``token`` field; a missing
  token is ``not_authed``, a wrong one ``invalid_auth`` (HTTP 200). Unknown methods
  answer ``unknown_method``.
- ``POST /commands/<team>/<id>/<secret>`` and ``POST /actions/<team>/<id>/<secret>``:
  the response_urls the sandbox hands out (as ``https://hooks.slack.com/...`` does).

Test controls (NOT part of Slack; they exist only here, unauthenticated):

- ``POST /sandbox/faults`` (a :class:`Fault`) -> 204; ``DELETE /sandbox/faults`` -> 204;
- ``GET /sandbox/requests``: every Web API call and response_url post (token masked);
- ``POST /sandbox/reset`` -> 204: reseed; forget faults, logs, response_urls;
- ``POST /sandbox/clock`` ``{"advance_s": 1800}``: move sandbox time forward;
- ``GET /sandbox/workspace``: team, bot, users and channels (ids to use in tests);
- ``GET /sandbox/channels/{id}/messages``: the full history, thread replies included,
  oldest first, each as the Web API shows it (plus ``channel``);
- ``GET /sandbox/responses``: every minted response_url with its uses and posts;
- ``GET /sandbox/ephemeral``: messages shown to one user only;
- ``GET /sandbox/deliveries``: everything sent to the bot and how it answered;
- ``POST /sandbox/send/{command,mention,url_verification,action}``: play Slack
  towards the bot (:mod:`.driver`).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

import msgspec
from litestar import Litestar, Request, Response, get, post, route
from litestar.params import FromPath

from dataworkflows.contracts.slack_signing import sign_request
from dataworkflows.runtime.app import create_app
from dataworkflows.runtime.credentials import bearer_token
from dataworkflows.sandboxes.controls import sandbox_controls
from dataworkflows.sandboxes.slack.api_base import ApiAnswer
from dataworkflows.sandboxes.slack.driver import (
    send_action,
    send_command,
    send_mention,
    send_url_verification,
)
from dataworkflows.sandboxes.slack.driver_base import (
    ActionDelivery,
    CommandDelivery,
    DriverError,
    MentionDelivery,
    VerificationDelivery,
)
from dataworkflows.sandboxes.slack.response_url import handle_response_url
from dataworkflows.sandboxes.slack.state import (
    Fault,
    FaultKind,
    RecordedRequest,
    SlackSandbox,
)
from dataworkflows.sandboxes.slack.views import channel_view, message_view
from dataworkflows.sandboxes.slack.webapi import handle_method

__all__ = [
    "Fault",
    "FaultKind",
    "RecordedRequest",
    "SlackSandbox",
    "create_slack_sandbox_app",
    "sign_request",
]

JSON_UTF8: Final = "application/json; charset=utf-8"
_HTML_UNAVAILABLE: Final = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head>"
    "<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)

S = TypeVar("S", bound=msgspec.Struct)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        msgspec.json.encode(body), status_code=status, media_type=JSON_UTF8, headers=headers
    )


def _masked(args: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if k == "token" else v) for k, v in args.items()}


async def _parse_api(
    request: Request[Any, Any, Any],
) -> tuple[dict[str, Any], str | None, str, str | None, list[str]]:
    """(arguments, token, where the token came from, a parse error, warnings)."""
    args: dict[str, Any] = dict(request.query_params)
    token: str | None = None
    source = "none"
    header_token = bearer_token(request.headers.get("authorization"))
    if header_token is not None:
        token, source = header_token, "header"
    raw = await request.body() if request.method == "POST" else b""
    content_type = request.headers.get("content-type") or ""
    media = content_type.split(";")[0].strip().lower()
    warnings: list[str] = []
    if not raw.strip():
        return args, token, source, None, warnings
    if media == "application/json":
        if "charset" not in content_type.lower():
            warnings.append("missing_charset")
        try:
            document = json.loads(raw)
        except ValueError:
            return args, token, source, "invalid_json", warnings
        if not isinstance(document, dict):
            return args, token, source, "json_not_object", warnings
        # Slack reads no token from JSON bodies: those need the Authorization header.
        args.update({k: v for k, v in document.items() if k != "token"})
        return args, token, source, None, warnings
    if media in ("application/x-www-form-urlencoded", ""):
        try:
            form = urllib.parse.parse_qsl(
                raw.decode(), keep_blank_values=True, strict_parsing=False
            )
        except UnicodeDecodeError:
            return args, token, source, "invalid_charset", warnings
        fields = dict(form)
        form_token = fields.pop("token", None)
        if token is None and form_token:
            token, source = form_token, "form"
        args.update(fields)
        return args, token, source, None, warnings
    return args, token, source, "invalid_form_data", warnings


def _fault_answer(fault: Fault) -> tuple[int, Any, dict[str, str]]:
    match fault.kind:
        case "ratelimited":
            body = {"ok": False, "error": "ratelimited"}
            return 429, body, {"Retry-After": str(fault.retry_after)}
        case "invalid_auth":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        case "server_error" if fault.status == 500:
            return 500, {"ok": False, "error": "internal_error"}, {}
        case "server_error":
            return fault.status, _HTML_UNAVAILABLE, {}
    raise AssertionError(f"no answer for fault {fault.kind}")  # pragma: no cover


def _render_fault(fault: Fault) -> Response[bytes]:
    status, body, headers = _fault_answer(fault)
    if isinstance(body, str):
        return Response(body.encode(), status_code=status, media_type="text/html", headers=headers)
    return _json(body, status, headers)


async def _answer_api(
    sandbox: SlackSandbox, request: Request[Any, Any, Any], method: str
) -> Response[bytes]:
    arrived = time.monotonic()
    args, token, source, refusal, warnings = await _parse_api(request)
    fault = sandbox.take_fault(method)
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay_s)
        fault = None
    response: Response[bytes]
    if fault is not None:
        status, body, _ = _fault_answer(fault)
        error = body.get("error") if isinstance(body, dict) else None
        response = _render_fault(fault)
    elif refusal is not None:
        status, error = 200, refusal
        response = _json({"ok": False, "error": refusal})
    else:
        answer: ApiAnswer = handle_method(sandbox, method, args, token)
        status, error = answer.status, answer.error
        body = answer.body
        if warnings:
            body = {**body, "warning": ",".join(warnings)}
            body["response_metadata"] = {
                **body.get("response_metadata", {}),
                "warnings": warnings,
            }
        response = _json(body, answer.status, answer.headers)
    sandbox.requests.append(
        RecordedRequest(
            kind="api",
            method=method,
            http_method=request.method,
            content_type=request.headers.get("content-type"),
            auth="header" if source == "header" else "form" if source == "form" else "none",
            params=_masked(args),
            status=status,
            error=error,
            at=arrived,
        )
    )
    return response


async def _answer_response_url(
    sandbox: SlackSandbox,
    *,
    request: Request[Any, Any, Any],
    kind: str,
    team: str,
    url_id: str,
    secret: str,
) -> Response[bytes]:
    arrived = time.monotonic()
    raw = await request.body()
    try:
        logged: Any = json.loads(raw)
    except ValueError:
        logged = raw.decode(errors="replace")
    fault = sandbox.take_fault("response_url")
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay_s)
        fault = None
    if fault is not None:
        status, body, _ = _fault_answer(fault)
        error = body.get("error") if isinstance(body, dict) else None
        response = _render_fault(fault)
    else:
        answer = handle_response_url(
            sandbox, kind=kind, team=team, url_id=url_id, secret=secret, raw=raw
        )
        status, error = answer.status, answer.error
        if isinstance(answer.body, str):
            response = Response(
                answer.body.encode(), status_code=answer.status, media_type="text/plain"
            )
        else:
            response = _json(answer.body, answer.status)
    sandbox.requests.append(
        RecordedRequest(
            kind="response_url",
            method=f"/{kind}/{team}/{url_id}",
            http_method=request.method,
            content_type=request.headers.get("content-type"),
            auth="none",
            params=logged if isinstance(logged, dict) else {"body": logged},
            status=status,
            error=error,
            at=arrived,
        )
    )
    return response


async def _drive(
    request: Request[Any, Any, Any],
    kind: type[S],
    send: Callable[[S], Awaitable[dict[str, Any]]],
) -> Response[bytes]:
    raw = await request.body()
    try:
        order = msgspec.json.decode(raw.strip() or b"{}", type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return _json({"error": str(exc)}, 400)
    try:
        return _json(await send(order))
    except DriverError as exc:
        return _json({"error": exc.message}, exc.status)


class ClockAdvance(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /sandbox/clock``: how far to move sandbox time."""

    advance_s: float


def create_slack_sandbox_app(sandbox: SlackSandbox) -> Litestar:
    """The sandbox's HTTP app: Slack's endpoints plus the ``/sandbox/*`` test controls."""

    @route("/api/{api_method:str}", http_method=["GET", "POST"], summary="Slack's Web API")
    async def web_api(
        request: Request[Any, Any, Any], api_method: FromPath[str]
    ) -> Response[bytes]:
        return await _answer_api(sandbox, request, api_method)

    @post("/commands/{team:str}/{url_id:str}/{secret:str}", status_code=200)
    async def command_response(
        request: Request[Any, Any, Any],
        team: FromPath[str],
        url_id: FromPath[str],
        secret: FromPath[str],
    ) -> Response[bytes]:
        return await _answer_response_url(
            sandbox, request=request, kind="commands", team=team, url_id=url_id, secret=secret
        )

    @post("/actions/{team:str}/{url_id:str}/{secret:str}", status_code=200)
    async def action_response(
        request: Request[Any, Any, Any],
        team: FromPath[str],
        url_id: FromPath[str],
        secret: FromPath[str],
    ) -> Response[bytes]:
        return await _answer_response_url(
            sandbox, request=request, kind="actions", team=team, url_id=url_id, secret=secret
        )

    @get("/sandbox/requests", summary="Every Web API call and response_url post")
    async def recorded_requests() -> Response[bytes]:
        return _json([msgspec.to_builtins(r) for r in sandbox.requests])

    @post("/sandbox/clock", summary="Move sandbox time forward", status_code=200)
    async def clock(request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            change = msgspec.json.decode(await request.body(), type=ClockAdvance)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return _json({"error": str(exc)}, 400)
        sandbox.advance(change.advance_s)
        return _json({"now": sandbox.now()})

    @get("/sandbox/workspace", summary="Team, bot, users and channels")
    async def workspace() -> Response[bytes]:
        ws = sandbox.workspace
        return _json(
            {
                "team": {"id": ws.team.id, "name": ws.team.name, "domain": ws.team.domain},
                "bot": {
                    "user_id": ws.bot.user_id,
                    "bot_id": ws.bot.bot_id,
                    "app_id": ws.bot.app_id,
                    "name": ws.bot.name,
                },
                "users": [
                    {
                        "id": u.id,
                        "name": u.name,
                        "real_name": u.real_name,
                        "email": u.email,
                        "monday_user_id": u.monday_user_id,
                    }
                    for u in ws.users
                ],
                "channels": [
                    {**channel_view(ws, c), "project": c.project} for c in ws.channels.values()
                ],
            }
        )

    @get("/sandbox/channels/{channel_id:str}/messages", summary="A channel's full history")
    async def channel_messages(channel_id: FromPath[str]) -> Response[bytes]:
        channel = sandbox.workspace.channel(channel_id)
        if channel is None:
            return _json({"error": f"no channel {channel_id}"}, 404)
        return _json(
            [
                {**message_view(sandbox.workspace, channel, m), "channel": channel.id}
                for m in channel.messages
            ]
        )

    @get("/sandbox/responses", summary="Minted response_urls, their uses and posts")
    async def responses() -> Response[bytes]:
        now = sandbox.now()
        return _json([m.view(now) for m in sandbox.response_urls.values()])

    @get("/sandbox/ephemeral", summary="Messages shown to one user only")
    async def ephemeral() -> Response[bytes]:
        return _json([e.view() for e in sandbox.ephemeral])

    @get("/sandbox/deliveries", summary="What was sent to the bot")
    async def deliveries() -> Response[bytes]:
        return _json([msgspec.to_builtins(d) for d in sandbox.deliveries])

    @post("/sandbox/send/command", summary="Send the bot a slash command", status_code=200)
    async def drive_command(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _drive(request, CommandDelivery, lambda o: send_command(sandbox, o))

    @post("/sandbox/send/mention", summary="@mention the bot", status_code=200)
    async def drive_mention(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _drive(request, MentionDelivery, lambda o: send_mention(sandbox, o))

    @post("/sandbox/send/url_verification", summary="Send the challenge", status_code=200)
    async def drive_verification(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _drive(
            request, VerificationDelivery, lambda o: send_url_verification(sandbox, o)
        )

    @post("/sandbox/send/action", summary="Click a button", status_code=200)
    async def drive_action(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _drive(request, ActionDelivery, lambda o: send_action(sandbox, o))

    routes: Sequence[Any] = [
        web_api,
        command_response,
        action_response,
        *sandbox_controls(sandbox, Fault, requests=None, reset="Reseed the workspace"),
        recorded_requests,
        clock,
        workspace,
        channel_messages,
        responses,
        ephemeral,
        deliveries,
        drive_command,
        drive_mention,
        drive_verification,
        drive_action,
    ]

    @asynccontextmanager
    async def close_bot_client(_app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sandbox.aclose()

    return create_app(component="slack-sandbox", route_handlers=routes, lifespan=[close_bot_client])
