"""The sandbox's query complexity: an estimate per query and a budget per minute.

monday charges every query "complexity points" against a per-minute budget (10,000,000
for a personal token) and answers ``complexity { before query after
reset_in_x_seconds }`` with the figures. monday's exact formula is not published; the
sandbox's :func:`estimate_complexity` is a documented stand-in with the same shape:
one point per field, multiplied by the page size of every list it sits in (``limit``,
or the number of ``ids`` asked for, or monday's default of 25). A query that costs
more than what is left of the budget is refused with ``COMPLEXITY_BUDGET_EXHAUSTED``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)

__all__ = [
    "BUDGET_PER_MINUTE",
    "ComplexityBudget",
    "ComplexityReading",
    "estimate_complexity",
]

BUDGET_PER_MINUTE: Final = 10_000_000
"""Complexity points a personal token may spend per minute."""

_DEFAULT_PAGE: Final = 25
# Fields answering a list whose size a ``limit`` (or ``ids``) argument sets.
_PAGED: Final = frozenset(
    {
        "boards",
        "items",
        "items_page",
        "next_items_page",
        "items_page_by_column_values",
        "users",
        "updates",
        "workspaces",
    }
)


@dataclass(frozen=True, slots=True)
class ComplexityReading:
    """What ``Query.complexity`` answers for one request."""

    before: int
    query: int
    after: int
    reset_in_x_seconds: int


class ComplexityBudget:
    """The points left in the current minute; a window starts with the first charge."""

    def __init__(self, per_minute: int = BUDGET_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._window_start: float | None = None
        self._spent = 0

    def reset(self) -> None:
        """Forget what was spent."""
        self._window_start = None
        self._spent = 0

    def charge(self, cost: int, now: float) -> ComplexityReading | None:
        """Spend ``cost`` now; None (nothing spent) when the budget cannot cover it."""
        if self._window_start is None or now >= self._window_start + 60:
            self._window_start = now
            self._spent = 0
        reset_in = max(1, math.ceil(self._window_start + 60 - now))
        before = self.per_minute - self._spent
        if cost > before:
            return None
        self._spent += cost
        return ComplexityReading(before, cost, before - cost, reset_in)

    def reset_in(self, now: float) -> int:
        """Seconds until the budget is whole again."""
        if self._window_start is None:
            return 1
        return max(1, math.ceil(self._window_start + 60 - now))


def estimate_complexity(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    """The sandbox's estimate of what running ``operation_name`` of ``document`` costs."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if operation_name is None or (operation.name and operation.name.value == operation_name):
            return max(1, _cost(operation.selection_set, fragments, dict(variables or {}), 0))
    return 1


def _cost(
    selections: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    depth: int,
) -> int:
    if selections is None or depth > 32:
        return 0
    total = 0
    for node in selections.selections:
        if isinstance(node, FieldNode):
            if node.name.value.startswith("__"):
                continue
            size = _page_size(node, variables) if node.name.value in _PAGED else 1
            total += 1 + size * _cost(node.selection_set, fragments, variables, depth + 1)
        elif isinstance(node, InlineFragmentNode):
            total += _cost(node.selection_set, fragments, variables, depth + 1)
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                total += _cost(fragment.selection_set, fragments, variables, depth + 1)
    return total


def _page_size(node: FieldNode, variables: Mapping[str, Any]) -> int:
    arguments = {a.name.value: _value(a.value, variables) for a in node.arguments or ()}
    limit = arguments.get("limit")
    ids = arguments.get("ids")
    size = limit if isinstance(limit, int) and limit > 0 else _DEFAULT_PAGE
    if isinstance(ids, list):
        size = min(size, len(ids)) if ids else 0
    elif ids is not None:
        size = 1
    return size


def _value(node: ValueNode, variables: Mapping[str, Any]) -> object:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, ListValueNode):
        return [_value(v, variables) for v in node.values]
    return getattr(node, "value", None)
