"""Structured step conditions: ``all``, ``any`` and ``not``, nested, around expressions.

A step's ``if:`` is an expression (``"{{ inputs.n > 3 }}"`` or ``"inputs.n > 3"``), a
boolean, or a mapping with exactly one of::

    all: [<condition>, ...]   # every one holds (AND)
    any: [<condition>, ...]   # at least one holds (OR)
    not: <condition>          # it does not hold

where each ``<condition>`` is again any of these. The mapping is turned into one
expression (``(a) and ((b) or not (c))``) and compiled like any other, so it is
evaluated, bounded and checked for references the same way.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["MAX_CONDITION_DEPTH", "MAX_CONDITION_TERMS", "ConditionError", "condition_source"]

MAX_CONDITION_DEPTH: Final = 8
MAX_CONDITION_TERMS: Final = 64
_WHOLE: Final = re.compile(r"^\s*\{\{(?P<body>.*)\}\}\s*$", re.DOTALL)
_OPERATORS: Final = ("all", "any", "not")


class ConditionError(ValueError):
    """A structured condition is malformed; ``path`` is where, under the step's ``if``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def condition_source(raw: str | bool | dict[str, Any]) -> str | bool:
    """``raw`` as one expression (without braces), or as it is when it is not a mapping.

    Raises :class:`ConditionError` naming the sub-path of a malformed part.
    """
    if not isinstance(raw, dict):
        return raw
    terms = [0]
    return _source(raw, "", 1, terms)


def _source(raw: Any, path: str, depth: int, terms: list[int]) -> str:
    if depth > MAX_CONDITION_DEPTH:
        raise ConditionError(path, f"nests deeper than {MAX_CONDITION_DEPTH} levels")
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        terms[0] += 1
        if terms[0] > MAX_CONDITION_TERMS:
            raise ConditionError(path, f"holds more than {MAX_CONDITION_TERMS} expressions")
        whole = _WHOLE.match(raw)
        body = (whole.group("body") if whole is not None else raw).strip()
        if not body:
            raise ConditionError(path, "is an empty expression")
        if "{{" in body or "}}" in body or "{%" in body:
            raise ConditionError(
                path, "must be one expression, with or without its {{ }} (not a template)"
            )
        return f"({body})"
    if not isinstance(raw, dict):
        raise ConditionError(
            path, "must be an expression, true/false, or a mapping with all, any or not"
        )
    if len(raw) != 1 or next(iter(raw)) not in _OPERATORS:
        keys = ", ".join(map(str, raw)) or "none"
        raise ConditionError(path, f"must have exactly one of all, any or not (has: {keys})")
    operator, operand = next(iter(raw.items()))
    here = f"{path}.{operator}"
    if operator == "not":
        return f"(not {_source(operand, here, depth + 1, terms)})"
    if not isinstance(operand, list) or not operand:
        raise ConditionError(here, "must be a non-empty list of conditions")
    joiner = " and " if operator == "all" else " or "
    parts = [_source(item, f"{here}[{i}]", depth + 1, terms) for i, item in enumerate(operand)]
    return "(" + joiner.join(parts) + ")"
