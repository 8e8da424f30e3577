"""A local, wire-faithful stand-in for monday.com's GraphQL API.

``POST /v2`` answers like ``https://api.monday.com/v2`` does (see
``shared/reference/monday.md``): the raw token in ``Authorization`` (``Bearer <token>``
is accepted too), ``API-Version`` recorded, any well-formed query over the modelled
fields executed by graphql-core against :data:`~.schema.SCHEMA_SDL` (aliases, fragments,
variables and ``__typename`` included), ``extensions.request_id`` in every JSON body
and ``RateLimit-Policy``/``RateLimit`` headers on every answer. The data is a
:class:`~dataworkflows.sandboxes.monday.demo_data.DemoWorkspace`; mutations change it.

Error shapes (application errors are HTTP 200, as monday answers them):

- parse or validation error: ``{"errors": [...]}`` without ``data``, with
  ``extensions.code`` ``GRAPHQL_PARSE_FAILED`` or ``GRAPHQL_VALIDATION_FAILED``
  (``BAD_USER_INPUT`` for variables that do not fit their types);
- refused column value: ``ColumnValueException``; unknown board, item, group or
  update (``create_subitem``'s parent is an item): ``ResourceNotFoundException``; a
  ``limit`` outside 1..500: ``InvalidArgumentException``; an expired, forged or garbage cursor:
  ``CursorException`` (``data: null`` for ``next_items_page``, ``boards: [null]`` when
  it came through ``boards { items_page(cursor:) }``);
- missing or wrong token: HTTP 401 ``UNAUTHENTICATED``; a body that is not JSON or
  has no query: HTTP 400.

Cursors are opaque: base64url of ``board:last item id:issue time`` signed with a key
of this sandbox instance, so a cursor from another sandbox or an edited one is refused,
and one older than 60 minutes has expired.

This module holds the sandbox's state and the ``POST /v2`` route; the schema is in
:mod:`.schema`, its resolvers in :mod:`.resolvers`, the error shapes, execution and
rendering in :mod:`.answers`, and the injected failures in :mod:`.faults`.

Test control endpoints (NOT part of monday's API; they exist only here, unauthenticated,
for tests and demos):

- ``POST /sandbox/faults`` (body: a :class:`~.faults.Fault`) -> 204: fail the next requests;
- ``DELETE /sandbox/faults`` -> 204: forget the queued faults;
- ``GET /sandbox/requests`` -> every ``POST /v2`` received (:class:`RecordedRequest`);
- ``GET /sandbox/deliveries`` -> every webhook delivery attempt (:class:`~.webhooks.Delivery`);
- ``POST /sandbox/reset`` -> 204: reseed the workspace, forget faults, requests and
  webhooks.

Webhooks registered with ``create_webhook`` are delivered over HTTP as monday does
(:mod:`.webhooks`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from graphql import GraphQLSchema
from litestar import Litestar, Request, Response, get, post

from dataworkflows.runtime.app import create_app
from dataworkflows.sandboxes.controls import FaultQueue, sandbox_controls
from dataworkflows.sandboxes.monday.answers import (
    RATE_LIMITS,
    Answer,
    authorised,
    decode_request,
    error_body,
    execute,
    rate_limited,
    render,
    unauthenticated,
)
from dataworkflows.sandboxes.monday.complexity import ComplexityBudget, ComplexityReading
from dataworkflows.sandboxes.monday.demo_data import DemoWorkspace
from dataworkflows.sandboxes.monday.faults import Fault, fault_answer
from dataworkflows.sandboxes.monday.resolvers import cursor_error
from dataworkflows.sandboxes.monday.schema import build_sandbox_schema
from dataworkflows.sandboxes.monday.webhooks import Delivery, WebhookHub
from dataworkflows.sandboxes.world import ANCHOR

__all__ = [
    "CURSOR_TTL_S",
    "MINUTE_QUOTA",
    "MondaySandbox",
    "RecordedRequest",
    "create_monday_sandbox_app",
]

CURSOR_TTL_S: Final = 3600
"""How long a paging cursor stays valid (60 minutes, as on monday)."""

MINUTE_QUOTA: Final = 5000
"""Requests per minute before the sandbox answers "Minute limit rate exceeded"."""


class RecordedRequest(msgspec.Struct, frozen=True):
    """One ``POST /v2`` as received, with the status it was answered with."""

    authorization_present: bool
    api_version: str | None
    query: str
    variables: dict[str, Any]
    status: int
    at: float
    """``time.monotonic()`` when the request arrived."""


class MondaySandbox:
    """State of one sandbox: the workspace data, injected faults, request log.

    ``clock`` (seconds since the epoch) dates cursors, the per-minute rate window and
    ``updated_at`` of changed items; tests pass one to age cursors without waiting.
    ``anchor`` is the instant the seeded data is placed before (resets keep it): the
    fixed :data:`~.demo_data.ANCHOR` by default, :func:`~.demo_data.demo_anchor` (today)
    when the CLI serves the sandbox.
    """

    def __init__(
        self,
        *,
        token: str,
        seed: int = 7,
        anchor: datetime = ANCHOR,
        clock: Callable[[], float] = time.time,
        hub: WebhookHub | None = None,
    ) -> None:
        if not token:
            raise ValueError("the sandbox needs a non-empty API token")
        self.token = token
        self.seed = seed
        self.anchor = anchor
        self.clock = clock
        self.minute_quota = MINUTE_QUOTA
        self.workspace: DemoWorkspace = DemoWorkspace.seeded(seed, anchor=anchor)
        self.requests: list[RecordedRequest] = []
        self.complexity = ComplexityBudget()
        self.complexity_reading: ComplexityReading | None = None
        """What the request being executed cost (``Query.complexity`` answers it)."""
        self._faults: FaultQueue[Fault] = FaultQueue()
        self.hub = hub if hub is not None else WebhookHub(clock=clock)
        """The webhooks registered with ``create_webhook``, and their deliveries."""
        # Per instance, so a cursor from another (or a restarted) sandbox is refused.
        self._cursor_key = secrets.token_bytes(32)
        self._window_start: float | None = None
        self._window_count = 0

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next ``fault.times`` requests, after those already queued."""
        if fault.times < 1 or fault.retry_in_seconds < 0 or fault.delay_s < 0:
            raise ValueError(f"invalid fault {fault!r}: times >= 1, other values >= 0")
        self._faults.add(fault, fault.times)

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._faults.clear()

    def reset(self) -> None:
        """Reseed the workspace; forget faults, requests, the rate window, complexity and
        webhooks."""
        self.workspace = DemoWorkspace.seeded(self.seed, anchor=self.anchor)
        self.hub.reset()
        self.requests.clear()
        self.complexity.reset()
        self._faults.clear()
        self._window_start = None
        self._window_count = 0

    def _take_fault(self) -> Fault | None:
        return self._faults.take()

    def _count_request(self) -> tuple[int, int]:
        """Count one request in the current minute: (remaining, seconds to reset)."""
        now = self.clock()
        if self._window_start is None or now >= self._window_start + 60:
            self._window_start = now
            self._window_count = 0
        self._window_count += 1
        reset_in = max(1, math.ceil(self._window_start + 60 - now))
        return self.minute_quota - self._window_count, reset_in

    def now(self) -> datetime:
        """The sandbox's current time."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def encode_cursor(self, board_id: str, after_item_id: str) -> str:
        """A cursor for the items of ``board_id`` after ``after_item_id``, issued now."""
        payload = f"{board_id}:{after_item_id}:{int(self.clock())}".encode()
        mac = hmac.new(self._cursor_key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def decode_cursor(self, cursor: str) -> tuple[str, str]:
        """The (board id, last item id) of a cursor this sandbox issued, else CursorException."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise cursor_error("The cursor is invalid") from None
        payload, mac = raw[:-16], raw[-16:]
        expected = hmac.new(self._cursor_key, payload, hashlib.sha256).digest()[:16]
        if not payload or not hmac.compare_digest(mac, expected):
            raise cursor_error("The cursor is invalid")
        board_id, after_item_id, issued = payload.decode().split(":")
        if self.clock() - int(issued) > CURSOR_TTL_S:
            raise cursor_error(
                f"The cursor has expired: cursors are valid for {CURSOR_TTL_S // 60} minutes"
            )
        return board_id, after_item_id


async def _answer_graphql(
    sandbox: MondaySandbox, schema: GraphQLSchema, request: Request[Any, Any, Any]
) -> Response[bytes]:
    arrived = time.monotonic()
    raw = await request.body()
    authorization = request.headers.get("authorization")
    graphql_request, refusal, variables = decode_request(raw)
    remaining, reset_in = sandbox._count_request()
    fault = sandbox._take_fault()
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay_s)
        fault = None
    answer: Answer
    if fault is not None:
        answer = fault_answer(fault, graphql_request, sandbox.now())
    elif remaining < 0:
        message, code = RATE_LIMITS["minute_limit"]
        answer = rate_limited(message, code, reset_in)
    elif not authorised(authorization, sandbox.token):
        answer = unauthenticated()
    elif graphql_request is None:
        assert refusal is not None
        answer = Answer(400, {"errors": [error_body(refusal, "BAD_REQUEST", status_code=400)]})
    else:
        answer = await execute(sandbox, schema, graphql_request)
    sandbox.requests.append(
        RecordedRequest(
            authorization_present=bool(authorization),
            api_version=request.headers.get("api-version"),
            query=graphql_request.query if graphql_request else "",
            variables=variables,
            status=answer.status,
            at=arrived,
        )
    )
    return render(
        answer, remaining=max(remaining, 0), reset_in=reset_in, quota=sandbox.minute_quota
    )


def create_monday_sandbox_app(sandbox: MondaySandbox) -> Litestar:
    """The sandbox's HTTP app: ``POST /v2`` plus the ``/sandbox/*`` test controls."""
    schema = build_sandbox_schema()

    @post("/v2", summary="monday.com's GraphQL endpoint", status_code=200)
    async def graphql_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _answer_graphql(sandbox, schema, request)

    @get("/sandbox/deliveries", summary="Every webhook delivery attempt", sync_to_thread=False)
    def deliveries() -> list[Delivery]:
        return list(sandbox.hub.deliveries)

    @contextlib.asynccontextmanager
    async def stop_deliveries(_app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sandbox.hub.aclose()

    routes: Sequence[Any] = [
        graphql_endpoint,
        deliveries,
        *sandbox_controls(
            sandbox, Fault, requests="Every POST /v2 received", reset="Reseed the workspace"
        ),
    ]
    return create_app(component="monday-sandbox", route_handlers=routes, lifespan=[stop_deliveries])
