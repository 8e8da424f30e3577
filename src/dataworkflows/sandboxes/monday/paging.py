"""Cursor paging over the demo boards, and the errors resolvers raise as monday does.

A page walks the active items of a *scope*: a whole board (``"<board id>"``) or one of
its groups (``~g~<group id>``), maybe narrowed to the items matching
``items_page_by_column_values`` rules (``~c~<base64url JSON>``) or ``items_page``'s
``query_params`` (``~q~<base64url JSON>``, filtered and ordered by :mod:`.queries`). The scope
travels inside the signed cursor (see :meth:`.app.MondaySandbox.encode_cursor`), so
``next_items_page`` continues what the first page started.
"""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from graphql import GraphQLError, GraphQLResolveInfo

from dataworkflows.sandboxes.monday.demo_data import DemoBoard, DemoGroup, DemoItem, cell_text
from dataworkflows.sandboxes.monday.queries import order_items, query_matches

if TYPE_CHECKING:
    from dataworkflows.sandboxes.monday.app import MondaySandbox

__all__ = [
    "MAX_PAGE_LIMIT",
    "GroupView",
    "Info",
    "Scope",
    "api_error",
    "check_limit",
    "cursor_error",
    "items_page",
    "page_of",
]

Info = GraphQLResolveInfo["MondaySandbox"]
"""What resolvers receive; the context is the sandbox being served."""

MAX_PAGE_LIMIT: Final = 500
"""monday's largest ``limit`` for ``items_page`` and ``next_items_page``."""


def api_error(
    message: str, code: str, *, error_data: Mapping[str, Any] | None = None
) -> GraphQLError:
    """An application error as monday reports it: HTTP 200, code in ``extensions``."""
    return GraphQLError(
        message,
        extensions={"code": code, "status_code": 200, "error_data": dict(error_data or {})},
    )


def page_of(values: list[Any], limit: int | None, page: int | None) -> list[Any]:
    """Page ``page`` (from 1) of ``limit`` values, as monday's ``limit``/``page`` pick them."""
    if limit is None:
        return values
    start = (max(page or 1, 1) - 1) * max(limit, 0)
    return values[start : start + max(limit, 0)]


def cursor_error(message: str) -> GraphQLError:
    """monday's ``CursorException``."""
    return api_error(message, "CursorException")


def check_limit(limit: int) -> None:
    """Refuse a page ``limit`` outside 1..500 as monday does."""
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise api_error(
            f"limit must be between 1 and {MAX_PAGE_LIMIT}, got {limit}",
            "InvalidArgumentException",
            error_data={"argument": "limit", "max": MAX_PAGE_LIMIT},
        )


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group as ``Group`` exposes it: the demo group and the board it is on."""

    id: str
    title: str
    color: str
    position: str
    board_id: str

    @classmethod
    def of(cls, group: DemoGroup, board_id: str) -> GroupView:
        """The view of ``group`` on board ``board_id``."""
        return cls(group.id, group.title, group.color, group.position, board_id)


def _b64(data: object) -> str:
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


@dataclass(frozen=True, slots=True)
class Scope:
    """What a page walks: a board or one of its groups, maybe filtered and ordered.

    ``rules`` are ``items_page_by_column_values``'s columns; ``params`` the
    ``query_params`` of ``items_page`` (see :mod:`.queries`).
    """

    board_id: str
    group_id: str | None = None
    rules: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    params: Mapping[str, Any] | None = None

    def encode(self) -> str:
        """The scope as it travels in a cursor (no ``:``)."""
        parts = [self.board_id]
        if self.group_id is not None:
            parts += ["g", self.group_id]
        if self.rules is not None:
            parts += ["c", _b64([[c, list(v)] for c, v in self.rules])]
        if self.params:
            parts += ["q", _b64(self.params)]
        return "~".join(parts)

    @classmethod
    def decode(cls, text: str) -> Scope:
        """The scope a (signed, so trusted) cursor carries."""
        board_id, *rest = text.split("~")
        pairs = dict(zip(rest[::2], rest[1::2], strict=False))
        rules = None
        if "c" in pairs:
            rules = tuple((c, tuple(v)) for c, v in _unb64(pairs["c"]))
        params = _unb64(pairs["q"]) if "q" in pairs else None
        return cls(board_id, group_id=pairs.get("g"), rules=rules, params=params)

    @classmethod
    def matching(cls, board_id: str, columns: Sequence[Mapping[str, Any]] | None) -> Scope:
        """The scope of ``items_page_by_column_values(columns:)``."""
        rules = tuple(
            (str(c["column_id"]), tuple("" if v is None else str(v) for v in c["column_values"]))
            for c in columns or ()
        )
        return cls(board_id, rules=rules)


def _matches(sandbox: MondaySandbox, board: DemoBoard, item: DemoItem, scope: Scope) -> bool:
    if item.state != "active":
        return False
    if scope.group_id is not None and item.group_id != scope.group_id:
        return False
    users = sandbox.workspace.users_by_id
    if scope.params and not query_matches(board, item, scope.params, users):
        return False
    for column_id, wanted in scope.rules or ():
        if column_id == "name":
            shown: str | None = item.name
        else:
            column = board.column(column_id)
            if column is None:
                return False
            shown = cell_text(column, item.cells.get(column_id), users)
        if (shown or "") not in wanted:
            return False
    return True


def items_page(
    sandbox: MondaySandbox, board: DemoBoard, scope: Scope, after: str | None, limit: int
) -> dict[str, Any]:
    """Up to ``limit`` items of ``scope`` after item ``after``, and the cursor to go on."""
    items = [i for i in board.items if _matches(sandbox, board, i, scope)]
    order_by = (scope.params or {}).get("order_by")
    start = 0
    if order_by:
        items = order_items(board, items, order_by, sandbox.workspace.users_by_id)
        if after is not None:
            position = next((n for n, i in enumerate(items) if i.id == after), None)
            if position is None:
                raise cursor_error("The cursor's last item no longer matches the query")
            start = position + 1
    elif after is not None:
        start = bisect.bisect_right(items, int(after), key=lambda i: int(i.id))
    page = items[start : start + limit]
    more = start + limit < len(items)
    cursor = sandbox.encode_cursor(scope.encode(), page[-1].id) if more and page else None
    return {"cursor": cursor, "items": page}
