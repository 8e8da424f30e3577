"""A local, wire-faithful stand-in for monday.com's GraphQL API.

``POST /v2`` answers like ``https://api.monday.com/v2`` does (see
``shared/reference/monday.md``): the raw token in ``Authorization`` (``Bearer <token>``
is accepted too), ``API-Version`` recorded, any well-formed query over the modelled
fields executed by graphql-core against :data:`SCHEMA_SDL` (aliases, fragments,
variables and ``__typename`` included), ``extensions.request_id`` in every JSON body
and ``RateLimit-Policy``/``RateLimit`` headers on every answer. The data is a
:class:`~dataworkflows.sandboxes.monday.demo_data.DemoWorkspace`; mutations change it.

Error shapes (application errors are HTTP 200, as monday answers them):

- parse or validation error: ``{"errors": [...]}`` without ``data``, with
  ``extensions.code`` ``GRAPHQL_PARSE_FAILED`` or ``GRAPHQL_VALIDATION_FAILED``
  (``BAD_USER_INPUT`` for variables that do not fit their types);
- refused column value: ``ColumnValueException``; unknown board, item or group:
  ``ResourceNotFoundException``; a ``limit`` outside 1..500:
  ``InvalidArgumentException``; an expired, forged or garbage cursor:
  ``CursorException`` (``data: null`` for ``next_items_page``, ``boards: [null]`` when
  it came through ``boards { items_page(cursor:) }``);
- missing or wrong token: HTTP 401 ``UNAUTHENTICATED``; a body that is not JSON or
  has no query: HTTP 400.

Cursors are opaque: base64url of ``board:last item id:issue time`` signed with a key
of this sandbox instance, so a cursor from another sandbox or an edited one is refused,
and one older than 60 minutes has expired.

Test control endpoints (NOT part of monday's API; they exist only here, unauthenticated,
for tests and demos):

- ``POST /sandbox/faults`` (body: a :class:`Fault`) -> 204: fail the next requests;
- ``DELETE /sandbox/faults`` -> 204: forget the queued faults;
- ``GET /sandbox/requests`` -> every ``POST /v2`` received (:class:`RecordedRequest`);
- ``POST /sandbox/reset`` -> 204: reseed the workspace, forget faults and requests.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

import msgspec
from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute_sync,
    parse,
    validate,
)
from litestar import Litestar, Request, Response, post

from dataworkflows.runtime.app import create_app
from dataworkflows.runtime.logging import get_logger
from dataworkflows.sandboxes.controls import sandbox_controls
from dataworkflows.sandboxes.monday.demo_data import (
    Cell,
    DateCell,
    DemoBoard,
    DemoColumn,
    DemoItem,
    DemoWorkspace,
    InvalidColumnValue,
    MirrorCell,
    NumbersCell,
    PeopleCell,
    ResourceNotFound,
    StatusCell,
    cell_text,
    cell_value,
)
from dataworkflows.sandboxes.world import ANCHOR, DemoUser

__all__ = [
    "CURSOR_TTL_S",
    "MAX_PAGE_LIMIT",
    "MINUTE_QUOTA",
    "SCHEMA_SDL",
    "Fault",
    "FaultKind",
    "MondaySandbox",
    "RecordedRequest",
    "create_monday_sandbox_app",
]

_log = get_logger(__name__)

_Info = GraphQLResolveInfo["MondaySandbox"]
"""What resolvers receive; the context is the sandbox being served."""

MAX_PAGE_LIMIT: Final = 500
"""monday's largest ``limit`` for ``items_page`` and ``next_items_page``."""

CURSOR_TTL_S: Final = 3600
"""How long a paging cursor stays valid (60 minutes, as on monday)."""

MINUTE_QUOTA: Final = 5000
"""Requests per minute before the sandbox answers "Minute limit rate exceeded"."""

FaultKind = Literal[
    "complexity_budget",
    "legacy_complexity",
    "ip_rate_limit",
    "minute_limit",
    "concurrency_limit",
    "daily_limit",
    "server_error",
    "bad_gateway",
    "slow",
    "unauthorized",
    "user_unauthorized",
]
"""The failures the sandbox can produce on demand."""


class Fault(msgspec.Struct, frozen=True):
    """A failure for the next ``times`` ``POST /v2`` requests.

    ``retry_in_seconds`` is what rate-limit errors tell the client to wait (the daily
    limit ignores it and counts to midnight UTC); ``delay_s`` is how long ``slow``
    waits before answering normally.
    """

    kind: FaultKind
    times: Annotated[int, msgspec.Meta(ge=1)] = 1
    retry_in_seconds: Annotated[int, msgspec.Meta(ge=0)] = 2
    delay_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0


class RecordedRequest(msgspec.Struct, frozen=True):
    """One ``POST /v2`` as received, with the status it was answered with."""

    authorization_present: bool
    api_version: str | None
    query: str
    variables: dict[str, Any]
    status: int
    at: float
    """``time.monotonic()`` when the request arrived."""


@dataclass(slots=True)
class _QueuedFault:
    fault: Fault
    remaining: int


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
        self._faults: deque[_QueuedFault] = deque()
        # Per instance, so a cursor from another (or a restarted) sandbox is refused.
        self._cursor_key = secrets.token_bytes(32)
        self._window_start: float | None = None
        self._window_count = 0

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next ``fault.times`` requests, after those already queued."""
        if fault.times < 1 or fault.retry_in_seconds < 0 or fault.delay_s < 0:
            raise ValueError(f"invalid fault {fault!r}: times >= 1, other values >= 0")
        self._faults.append(_QueuedFault(fault, fault.times))

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._faults.clear()

    def reset(self) -> None:
        """Reseed the workspace and forget faults, requests and the rate window."""
        self.workspace = DemoWorkspace.seeded(self.seed, anchor=self.anchor)
        self.requests.clear()
        self._faults.clear()
        self._window_start = None
        self._window_count = 0

    def _take_fault(self) -> Fault | None:
        if not self._faults:
            return None
        queued = self._faults[0]
        queued.remaining -= 1
        if queued.remaining <= 0:
            self._faults.popleft()
        return queued.fault

    def _count_request(self) -> tuple[int, int]:
        """Count one request in the current minute: (remaining, seconds to reset)."""
        now = self.clock()
        if self._window_start is None or now >= self._window_start + 60:
            self._window_start = now
            self._window_count = 0
        self._window_count += 1
        reset_in = max(1, math.ceil(self._window_start + 60 - now))
        return self.minute_quota - self._window_count, reset_in

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _encode_cursor(self, board_id: str, after_item_id: str) -> str:
        payload = f"{board_id}:{after_item_id}:{int(self.clock())}".encode()
        mac = hmac.new(self._cursor_key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def _decode_cursor(self, cursor: str) -> tuple[str, str]:
        """The (board id, last item id) of a cursor this sandbox issued, else CursorException."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise _cursor_error("The cursor is invalid") from None
        payload, mac = raw[:-16], raw[-16:]
        expected = hmac.new(self._cursor_key, payload, hashlib.sha256).digest()[:16]
        if not payload or not hmac.compare_digest(mac, expected):
            raise _cursor_error("The cursor is invalid")
        board_id, after_item_id, issued = payload.decode().split(":")
        if self.clock() - int(issued) > CURSOR_TTL_S:
            raise _cursor_error(
                f"The cursor has expired: cursors are valid for {CURSOR_TTL_S // 60} minutes"
            )
        return board_id, after_item_id


# -- the GraphQL schema ------------------------------------------------------------------

SCHEMA_SDL: Final = """
scalar JSON

type Query {
  boards(ids: [ID!], limit: Int = 25, page: Int = 1, workspace_ids: [ID]): [Board]
  items(ids: [ID!]!, limit: Int = 25): [Item]
  next_items_page(cursor: String!, limit: Int = 25): ItemsResponse!
  me: User
  users(ids: [ID!], limit: Int): [User]
}

type Mutation {
  create_item(
    board_id: ID!
    item_name: String!
    group_id: String
    column_values: JSON
    create_labels_if_missing: Boolean
  ): Item
  change_multiple_column_values(
    board_id: ID!
    item_id: ID
    column_values: JSON!
    create_labels_if_missing: Boolean
  ): Item
}

type Board {
  id: ID!
  name: String!
  description: String
  state: String
  board_kind: String
  workspace_id: ID
  items_count: Int
  columns(ids: [String]): [Column]
  groups(ids: [String]): [Group]
  items_page(limit: Int = 25, cursor: String): ItemsResponse!
}

type Column {
  id: ID!
  title: String!
  type: String!
  settings_str: String
}

type Group {
  id: ID!
  title: String!
  color: String
  position: String
}

type ItemsResponse {
  cursor: String
  items: [Item!]!
}

type Item {
  id: ID!
  name: String!
  state: String
  created_at: String
  updated_at: String
  board: Board
  group: Group
  column_values(ids: [String!]): [ColumnValue!]!
}

interface ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
}

type StatusValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  label: String
  index: Int
}

type DateValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  date: String
  time: String
}

type PeopleEntity {
  id: ID!
  kind: String
}

type PeopleValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  persons_and_teams: [PeopleEntity]
}

type TextValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
}

type LongTextValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
}

type NumbersValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  number: Float
}

type MirrorValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  display_value: String!
}

type User {
  id: ID!
  name: String!
  email: String!
}
"""
"""The modelled subset of monday's schema (names and types as monday spells them)."""

_VALUE_TYPES: Final[Mapping[str, str]] = {
    "status": "StatusValue",
    "date": "DateValue",
    "people": "PeopleValue",
    "text": "TextValue",
    "long_text": "LongTextValue",
    "numbers": "NumbersValue",
    "mirror": "MirrorValue",
}


def _api_error(
    message: str, code: str, *, error_data: Mapping[str, Any] | None = None
) -> GraphQLError:
    """An application error as monday reports it: HTTP 200, code in ``extensions``."""
    return GraphQLError(
        message,
        extensions={"code": code, "status_code": 200, "error_data": dict(error_data or {})},
    )


def _cursor_error(message: str) -> GraphQLError:
    return _api_error(message, "CursorException")


def _sandbox(info: _Info) -> MondaySandbox:
    return info.context


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise _api_error(
            f"limit must be between 1 and {MAX_PAGE_LIMIT}, got {limit}",
            "InvalidArgumentException",
            error_data={"argument": "limit", "max": MAX_PAGE_LIMIT},
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class _ColumnValueView:
    """One cell as the ColumnValue implementations expose it."""

    id: str
    column: DemoColumn
    type: str
    text: str | None
    value: str | None
    label: str | None = None
    index: int | None = None
    date: str | None = None
    time: str | None = None
    persons_and_teams: list[dict[str, str]] | None = None
    number: float | None = None
    display_value: str = ""


def _column_value_view(
    column: DemoColumn, cell: Cell | None, users: Mapping[str, DemoUser]
) -> _ColumnValueView:
    view = _ColumnValueView(
        id=column.id,
        column=column,
        type=column.type,
        text=cell_text(column, cell, users),
        value=cell_value(cell),
    )
    match cell:
        case StatusCell(index=index):
            return _with(view, label=view.text, index=index)
        case DateCell(date=date, time=time_of_day):
            return _with(view, date=date, time=time_of_day)
        case PeopleCell(person_ids=ids):
            people = [{"id": str(i), "kind": "person"} for i in ids]
            return _with(view, persons_and_teams=people)
        case NumbersCell(number=number):
            return _with(view, number=float(number))
        case MirrorCell(display_value=display):
            return _with(view, display_value=display)
    if column.type == "people":
        return _with(view, persons_and_teams=[])
    return view


def _with(view: _ColumnValueView, **changes: Any) -> _ColumnValueView:
    return replace(view, **changes)


def _items_page(sandbox: MondaySandbox, board: DemoBoard, after: str | None, limit: int) -> Any:
    items, more = board.items_after(after, limit)
    cursor = sandbox._encode_cursor(board.id, items[-1].id) if more and items else None
    return {"cursor": cursor, "items": items}


def _decode_column_values(raw: object) -> Mapping[str, object]:
    if raw is None:
        return {}
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise _api_error(
                f"column_values is not valid JSON: {exc}",
                "ColumnValueException",
                error_data={"column_values": raw},
            ) from None
    if not isinstance(value, dict):
        raise _api_error(
            "column_values must be a JSON object keyed by column id",
            "ColumnValueException",
            error_data={"column_values": raw},
        )
    return value


def _write_error(exc: InvalidColumnValue | ResourceNotFound) -> GraphQLError:
    if isinstance(exc, ResourceNotFound):
        return _api_error(
            str(exc),
            "ResourceNotFoundException",
            error_data={"resource_type": exc.kind, "resource_id": exc.resource_id},
        )
    return _api_error(
        exc.message,
        "ColumnValueException",
        error_data={"column_id": exc.column_id, "column_type": exc.column_type},
    )


# Resolvers, by type and field. Fields not listed read the attribute or key of the same
# name from the object their parent returned.


def _query_boards(
    _root: object,
    info: _Info,
    *,
    ids: list[str] | None = None,
    limit: int = 25,
    page: int = 1,
    workspace_ids: list[str | None] | None = None,
) -> list[DemoBoard]:
    if limit < 1 or page < 1:
        raise _api_error(
            "limit and page must be positive", "InvalidArgumentException", error_data={}
        )
    boards = _sandbox(info).workspace.boards
    if ids is not None:
        wanted = set(ids)
        boards = [b for b in boards if b.id in wanted]
    if workspace_ids is not None:
        spaces = {w for w in workspace_ids if w is not None}
        boards = [b for b in boards if b.workspace_id in spaces]
    return boards[(page - 1) * limit : page * limit]


def _query_items(_root: object, info: _Info, *, ids: list[str], limit: int = 25) -> list[DemoItem]:
    workspace = _sandbox(info).workspace
    found = (workspace.item(i) for i in dict.fromkeys(ids))
    return [item for item in found if item is not None][: max(limit, 0)]


def _query_next_items_page(_root: object, info: _Info, *, cursor: str, limit: int = 25) -> Any:
    _check_limit(limit)
    sandbox = _sandbox(info)
    board_id, after = sandbox._decode_cursor(cursor)
    board = sandbox.workspace.board(board_id)
    if board is None:
        raise _cursor_error("The cursor's board no longer exists")
    return _items_page(sandbox, board, after, limit)


def _query_me(_root: object, info: _Info) -> DemoUser:
    return _sandbox(info).workspace.me


def _query_users(
    _root: object,
    info: _Info,
    *,
    ids: list[str] | None = None,
    limit: int | None = None,
) -> list[DemoUser]:
    users = list(_sandbox(info).workspace.users)
    if ids is not None:
        wanted = set(ids)
        users = [u for u in users if u.id in wanted]
    return users if limit is None else users[: max(limit, 0)]


def _mutation_create_item(
    _root: object,
    info: _Info,
    *,
    board_id: str,
    item_name: str,
    group_id: str | None = None,
    column_values: object = None,
    create_labels_if_missing: bool | None = None,
) -> DemoItem:
    sandbox = _sandbox(info)
    values = _decode_column_values(column_values)
    try:
        return sandbox.workspace.create_item(
            board_id=board_id,
            name=item_name,
            group_id=group_id,
            column_values=values,
            create_labels_if_missing=bool(create_labels_if_missing),
            now=sandbox._now(),
        )
    except (InvalidColumnValue, ResourceNotFound) as exc:
        raise _write_error(exc) from None


def _mutation_change_multiple_column_values(
    _root: object,
    info: _Info,
    *,
    board_id: str,
    column_values: object,
    item_id: str | None = None,
    create_labels_if_missing: bool | None = None,
) -> DemoItem:
    sandbox = _sandbox(info)
    values = _decode_column_values(column_values)
    try:
        return sandbox.workspace.change_column_values(
            board_id=board_id,
            item_id=item_id,
            column_values=values,
            create_labels_if_missing=bool(create_labels_if_missing),
            now=sandbox._now(),
        )
    except (InvalidColumnValue, ResourceNotFound) as exc:
        raise _write_error(exc) from None


def _board_columns(
    board: DemoBoard, _info: _Info, *, ids: list[str | None] | None = None
) -> list[DemoColumn]:
    if ids is None:
        return board.columns
    return [c for c in board.columns if c.id in ids]


def _board_groups(
    board: DemoBoard, _info: _Info, *, ids: list[str | None] | None = None
) -> list[Any]:
    if ids is None:
        return list(board.groups)
    return [g for g in board.groups if g.id in ids]


def _board_items_page(
    board: DemoBoard, info: _Info, *, limit: int = 25, cursor: str | None = None
) -> Any:
    _check_limit(limit)
    sandbox = _sandbox(info)
    after = None
    if cursor is not None:
        cursor_board, after = sandbox._decode_cursor(cursor)
        if cursor_board != board.id:
            raise _cursor_error(f"The cursor belongs to another board than {board.id}")
    return _items_page(sandbox, board, after, limit)


def _item_board(item: DemoItem, info: _Info) -> DemoBoard | None:
    return _sandbox(info).workspace.board(item.board_id)


def _item_group(item: DemoItem, info: _Info) -> Any:
    board = _sandbox(info).workspace.board(item.board_id)
    return board.group(item.group_id) if board is not None else None


def _item_column_values(
    item: DemoItem, info: _Info, *, ids: list[str] | None = None
) -> list[_ColumnValueView]:
    workspace = _sandbox(info).workspace
    board = workspace.board(item.board_id)
    if board is None:
        return []
    columns = board.columns if ids is None else [c for c in board.columns if c.id in ids]
    users = workspace.users_by_id
    return [_column_value_view(c, item.cells.get(c.id), users) for c in columns]


def _item_created_at(item: DemoItem, _info: _Info) -> str:
    return _iso(item.created_at)


def _item_updated_at(item: DemoItem, _info: _Info) -> str:
    return _iso(item.updated_at)


_RESOLVERS: Final[Mapping[str, Mapping[str, Callable[..., Any]]]] = {
    "Query": {
        "boards": _query_boards,
        "items": _query_items,
        "next_items_page": _query_next_items_page,
        "me": _query_me,
        "users": _query_users,
    },
    "Mutation": {
        "create_item": _mutation_create_item,
        "change_multiple_column_values": _mutation_change_multiple_column_values,
    },
    "Board": {
        "columns": _board_columns,
        "groups": _board_groups,
        "items_page": _board_items_page,
    },
    "Item": {
        "board": _item_board,
        "group": _item_group,
        "column_values": _item_column_values,
        "created_at": _item_created_at,
        "updated_at": _item_updated_at,
    },
}


def _resolve_value_type(value: Any, _info: _Info, _type: GraphQLAbstractType) -> str | None:
    return _VALUE_TYPES.get(value.type) if isinstance(value, _ColumnValueView) else None


def _build_schema() -> GraphQLSchema:
    """:data:`SCHEMA_SDL` with the sandbox's resolvers attached."""
    schema = build_schema(SCHEMA_SDL)
    for type_name, resolvers in _RESOLVERS.items():
        graphql_type = schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType), type_name
        for field_name, resolver in resolvers.items():
            # A typo here would silently fall back to attribute lookup; fail instead.
            graphql_type.fields[field_name].resolve = resolver
    interface = schema.get_type("ColumnValue")
    assert isinstance(interface, GraphQLInterfaceType)
    interface.resolve_type = _resolve_value_type
    return schema


# -- HTTP --------------------------------------------------------------------------------

_HTML_BAD_GATEWAY: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)

_RATE_LIMITS: Final[Mapping[str, tuple[str, str]]] = {
    "complexity_budget": ("Complexity budget exhausted", "COMPLEXITY_BUDGET_EXHAUSTED"),
    "ip_rate_limit": ("IP rate limit exceeded", "IP_RATE_LIMIT_EXCEEDED"),
    "minute_limit": ("Minute limit rate exceeded", "RATE_LIMIT_EXCEEDED"),
    "concurrency_limit": ("Concurrency limit exceeded", "CONCURRENCY_LIMIT_EXCEEDED"),
    "daily_limit": (
        "Daily limit exceeded; the limit resets at midnight UTC",
        "DAILY_LIMIT_EXCEEDED",
    ),
}


@dataclass(slots=True)
class _Answer:
    """What ``POST /v2`` answers: a JSON document (or an HTML page) and headers."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


class _GraphQLRequest(msgspec.Struct):
    query: str
    variables: dict[str, Any] | None = None
    operationName: str | None = None  # noqa: N815  (the GraphQL-over-HTTP member name)


def _error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}


def _unauthenticated() -> _Answer:
    error = _error("Not Authenticated", "UNAUTHENTICATED", status_code=401)
    return _Answer(401, {"errors": [error]})


def _rate_limited(message: str, code: str, retry_in_seconds: int) -> _Answer:
    error = _error(message, code, retry_in_seconds=retry_in_seconds)
    return _Answer(429, {"errors": [error]}, {"Retry-After": str(retry_in_seconds)})


def _seconds_to_midnight_utc(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))


def _root_field(query: str, operation_name: str | None) -> FieldNode | None:
    """The first root field of the operation to run, to name it in an error's ``path``."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name is not None and (
            definition.name is None or definition.name.value != operation_name
        ):
            continue
        for selection in definition.selection_set.selections:
            if isinstance(selection, FieldNode):
                return selection
    return None


def _fault_answer(fault: Fault, request: _GraphQLRequest | None, now: datetime) -> _Answer:
    retry = fault.retry_in_seconds
    match fault.kind:
        case "legacy_complexity":
            body = {
                "error_code": "ComplexityException",
                "status_code": 429,
                "error_message": f"Complexity budget exhausted, budget resets in {retry} seconds",
                "error_data": {},
            }
            return _Answer(429, body, {"Retry-After": str(retry)})
        case "daily_limit":
            message, code = _RATE_LIMITS["daily_limit"]
            return _rate_limited(message, code, _seconds_to_midnight_utc(now))
        case "server_error":
            error = _error("Internal server error", "INTERNAL_SERVER_ERROR")
            return _Answer(500, {"errors": [error]})
        case "bad_gateway":
            return _Answer(502, _HTML_BAD_GATEWAY)
        case "unauthorized":
            return _unauthenticated()
        case "user_unauthorized":
            error = _error(
                "User unauthorized to perform action",
                "UserUnauthorizedException",
                error_data={},
                status_code=403,
            )
            node = _root_field(request.query, request.operationName) if request else None
            if node is not None:
                error["path"] = [(node.alias or node.name).value]
                if node.loc is not None:
                    token = node.loc.start_token
                    error["locations"] = [{"line": token.line, "column": token.column}]
            return _Answer(200, {"errors": [error]})
        case "slow":  # pragma: no cover  (slow answers normally; handled by the caller)
            raise AssertionError("a slow fault is not an answer")
    message, code = _RATE_LIMITS[fault.kind]
    return _rate_limited(message, code, retry)


def _execute(sandbox: MondaySandbox, schema: GraphQLSchema, request: _GraphQLRequest) -> _Answer:
    try:
        document = parse(request.query)
    except GraphQLError as exc:
        return _Answer(200, {"errors": [_formatted(exc, "GRAPHQL_PARSE_FAILED")]})
    problems = validate(schema, document)
    if problems:
        errors = [_formatted(e, "GRAPHQL_VALIDATION_FAILED") for e in problems]
        return _Answer(200, {"errors": errors})
    result = execute_sync(
        schema,
        document,
        context_value=sandbox,
        variable_values=request.variables,
        operation_name=request.operationName,
    )
    return _Answer(200, _result_body(result))


def _result_body(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [_execution_error(e) for e in result.errors]
    if result.data is not None or result.errors is None or any(e.path for e in result.errors):
        # Errors raised before execution (bad variables, unknown operation) have no
        # path and, per the GraphQL spec, no ``data`` entry; field errors keep it.
        body["data"] = result.data
    return body


def _execution_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        # A bug in the sandbox, not a modelled monday error: say so, keep the trace.
        _log.error("resolver failed", path=error.path, error=repr(original), exc_info=original)
        formatted = _formatted(error, "INTERNAL_SERVER_ERROR")
        formatted["message"] = "Internal server error"
        return formatted
    if error.path is None:
        return _formatted(error, "BAD_USER_INPUT")
    return _formatted(error, "INTERNAL_SERVER_ERROR")


def _formatted(error: GraphQLError, default_code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", default_code)
    formatted["extensions"] = extensions
    return formatted


def _authorised(header: str | None, token: str) -> bool:
    if not header:
        return False
    given = header.strip()
    scheme, _, rest = given.partition(" ")
    # monday documents the raw token; "Bearer <token>" is accepted rather than refused.
    if scheme.lower() == "bearer" and rest:
        given = rest.strip()
    return hmac.compare_digest(given.encode(), token.encode())


def _decode_request(raw: bytes) -> tuple[_GraphQLRequest | None, str | None, dict[str, Any]]:
    """The request, or why it is unusable; and its query and variables for the log."""
    try:
        document = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None, "The request body is not valid JSON", {}
    if not isinstance(document, dict):
        return None, "The request body must be a JSON object", {}
    variables = document.get("variables")
    logged_variables = variables if isinstance(variables, dict) else {}
    try:
        request = msgspec.convert(document, _GraphQLRequest)
    except msgspec.ValidationError as exc:
        if not isinstance(document.get("query"), str):
            return None, "No query string was present", logged_variables
        return None, f"The request body is invalid: {exc}", logged_variables
    return request, None, logged_variables


async def _answer_graphql(
    sandbox: MondaySandbox, schema: GraphQLSchema, request: Request[Any, Any, Any]
) -> Response[bytes]:
    arrived = time.monotonic()
    raw = await request.body()
    authorization = request.headers.get("authorization")
    graphql_request, refusal, variables = _decode_request(raw)
    remaining, reset_in = sandbox._count_request()
    fault = sandbox._take_fault()
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay_s)
        fault = None
    answer: _Answer
    if fault is not None:
        answer = _fault_answer(fault, graphql_request, sandbox._now())
    elif remaining < 0:
        message, code = _RATE_LIMITS["minute_limit"]
        answer = _rate_limited(message, code, reset_in)
    elif not _authorised(authorization, sandbox.token):
        answer = _unauthenticated()
    elif graphql_request is None:
        assert refusal is not None
        answer = _Answer(400, {"errors": [_error(refusal, "BAD_REQUEST", status_code=400)]})
    else:
        answer = _execute(sandbox, schema, graphql_request)
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
    return _render(
        answer, remaining=max(remaining, 0), reset_in=reset_in, quota=sandbox.minute_quota
    )


def _render(answer: _Answer, *, remaining: int, reset_in: int, quota: int) -> Response[bytes]:
    if isinstance(answer.body, str):
        # What a proxy in front of monday answers: HTML, none of monday's headers.
        return Response(
            answer.body.encode(),
            status_code=answer.status,
            media_type="text/html",
            headers=answer.headers,
        )
    body = dict(answer.body)
    body["extensions"] = {**body.get("extensions", {}), "request_id": str(uuid.uuid4())}
    headers = {
        **answer.headers,
        "RateLimit-Policy": f'"minuteRate";q={quota};w=60',
        "RateLimit": f'"minuteRate";r={remaining};t={reset_in}',
    }
    return Response(
        msgspec.json.encode(body),
        status_code=answer.status,
        media_type="application/json",
        headers=headers,
    )


def create_monday_sandbox_app(sandbox: MondaySandbox) -> Litestar:
    """The sandbox's HTTP app: ``POST /v2`` plus the ``/sandbox/*`` test controls."""
    schema = _build_schema()

    @post("/v2", summary="monday.com's GraphQL endpoint", status_code=200)
    async def graphql_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _answer_graphql(sandbox, schema, request)

    routes: Sequence[Any] = [
        graphql_endpoint,
        *sandbox_controls(
            sandbox, Fault, requests="Every POST /v2 received", reset="Reseed the workspace"
        ),
    ]
    return create_app(component="monday-sandbox", route_handlers=routes)
