"""``items_page(query_params:)``: monday's item filters and ordering over the demo items.

Modelled: ``ids``; ``rules`` (combined by ``operator`` ``and``/``or``) on a column's
text, a status's label index, or ``__last_updated__``/``__creation_log__`` timestamps,
with the operators ``any_of``, ``not_any_of``, ``is_empty``, ``is_not_empty``,
``greater_than(_or_equals)``, ``lower_than(_or_equal)``, ``between``,
``contains_text``, ``not_contains_text``, ``starts_with`` and ``ends_with``; and
``order_by`` on a column, ``name``, ``__last_updated__`` or ``__creation_log__``.
Not modelled: nested rule ``groups`` and the relative date operators
(``within_the_next``/``within_the_last``), which match nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from dataworkflows.sandboxes.monday.demo_data import (
    DemoBoard,
    DemoItem,
    StatusCell,
    cell_text,
)
from dataworkflows.sandboxes.world import DemoUser

__all__ = ["order_items", "query_matches"]

_TIMESTAMPS: Final[Mapping[str, Callable[[DemoItem], datetime]]] = {
    "__last_updated__": lambda item: item.updated_at,
    "__creation_log__": lambda item: item.created_at,
}


def _as_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compared(values: Sequence[object]) -> list[object]:
    # monday's date comparisons come as ["EXACT", "2024-01-01T00:00:00Z"]: drop the mode.
    return [v for v in values if v not in ("EXACT", "TODAY", "YESTERDAY")]


def _shown(board: DemoBoard, item: DemoItem, column_id: str, users: Any) -> str:
    if column_id == "name":
        return item.name
    column = board.column(column_id)
    if column is None:
        return ""
    return cell_text(column, item.cells.get(column_id), users) or ""


def _time_matches(operator: str, moment: datetime, values: Sequence[object]) -> bool:
    bounds = [t for t in (_as_time(v) for v in values) if t is not None]
    if operator == "is_not_empty":
        return True
    if operator == "between":
        return len(bounds) >= 2 and bounds[0] <= moment <= bounds[1]
    return bool(bounds) and _compare(operator, moment.timestamp(), bounds[0].timestamp())


def _compare(operator: str, left: float, right: float) -> bool:
    comparisons: Mapping[str, Callable[[float, float], bool]] = {
        "greater_than": lambda a, b: a > b,
        "greater_than_or_equals": lambda a, b: a >= b,
        "lower_than": lambda a, b: a < b,
        "lower_than_or_equal": lambda a, b: a <= b,
    }
    return operator in comparisons and comparisons[operator](left, right)


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _text_matches(operator: str, text: str, present: set[str], values: list[object]) -> bool:
    wanted = {str(v) for v in values}
    needles = [str(v).lower() for v in values]
    if operator in ("greater_than", "greater_than_or_equals", "lower_than", "lower_than_or_equal"):
        left, right = _number(text), _number(values[0]) if values else None
        return left is not None and right is not None and _compare(operator, left, right)
    if operator == "between":
        bounds = [n for n in (_number(v) for v in values[:2]) if n is not None]
        number = _number(text)
        return len(bounds) == 2 and number is not None and bounds[0] <= number <= bounds[1]
    checks: Mapping[str, Callable[[], bool]] = {
        "any_of": lambda: bool(present & wanted) or (text == "" and "" in wanted),
        "not_any_of": lambda: not present & wanted,
        "is_empty": lambda: text == "",
        "is_not_empty": lambda: text != "",
        "contains_text": lambda: any(n in text.lower() for n in needles),
        "contains_terms": lambda: any(n in text.lower() for n in needles),
        "not_contains_text": lambda: not any(n in text.lower() for n in needles),
        "starts_with": lambda: any(text.lower().startswith(n) for n in needles),
        "ends_with": lambda: any(text.lower().endswith(n) for n in needles),
    }
    return operator in checks and checks[operator]()


def _rule_matches(
    board: DemoBoard, item: DemoItem, rule: Mapping[str, Any], users: Mapping[str, DemoUser]
) -> bool:
    column_id = str(rule.get("column_id"))
    operator = str(rule.get("operator") or "any_of")
    raw = rule.get("compare_value")
    values = _compared(raw if isinstance(raw, list) else [raw])
    if column_id in _TIMESTAMPS:
        return _time_matches(operator, _TIMESTAMPS[column_id](item), values)
    text = _shown(board, item, column_id, users)
    cell = item.cells.get(column_id)
    present = {str(cell.index), text} if isinstance(cell, StatusCell) else {text}
    return _text_matches(operator, text, present, values)


def query_matches(
    board: DemoBoard,
    item: DemoItem,
    params: Mapping[str, Any],
    users: Mapping[str, DemoUser],
) -> bool:
    """Whether ``item`` passes the ``ids`` and ``rules`` of ``query_params``."""
    ids = params.get("ids")
    if ids is not None and item.id not in {str(i) for i in ids}:
        return False
    rules = params.get("rules") or []
    if not rules:
        return True
    results = (_rule_matches(board, item, rule, users) for rule in rules)
    return any(results) if params.get("operator") == "or" else all(results)


def order_items(
    board: DemoBoard,
    items: list[DemoItem],
    order_by: Sequence[Mapping[str, Any]],
    users: Mapping[str, DemoUser],
) -> list[DemoItem]:
    """``items`` sorted by ``order_by`` (the last key least significant), ties by id."""
    ordered = sorted(items, key=lambda i: int(i.id))
    for key in reversed(order_by):
        column_id = str(key.get("column_id"))
        descending = key.get("direction") == "desc"
        if column_id in _TIMESTAMPS:
            stamp = _TIMESTAMPS[column_id]
            ordered.sort(key=stamp, reverse=descending)
        else:
            ordered.sort(key=lambda i: _shown(board, i, column_id, users), reverse=descending)
    return ordered
