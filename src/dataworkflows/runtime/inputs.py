"""Text into a workflow's typed inputs: ``key=value`` words from Slack and the CLI, and
the console's form fields.

The types come from the workflow's declared inputs (``GET /v1/workflows/{name}``):
``integer``, ``number``, ``boolean``, ``list`` and ``object`` are converted from text,
and every mistake is collected (unknown input, missing required input, a value of the
wrong type, an input given twice) so the user can fix them all at once. The engine
checks the inputs again when the run starts; this is about saying what is wrong in
words a Slack user can act on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import msgspec

from dataworkflows.runtime.struct_errors import did_you_mean

__all__ = ["InputDecl", "coerce_inputs", "convert_input", "declared_inputs"]

_INT_RE: Final = re.compile(r"^[+-]?[0-9]{1,18}$")
_TRUE: Final = frozenset({"true", "yes", "y", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "n", "off", "0"})


class InputDecl(msgspec.Struct, frozen=True, kw_only=True):
    """One declared input, as the engine's definition lists it."""

    type: str = "string"
    description: str = ""
    required: bool | None = None
    default: Any = msgspec.UNSET

    @property
    def is_required(self) -> bool:
        """Whether a run must supply it (the engine's rule: required unless defaulted)."""
        if self.required is not None:
            return self.required
        return self.default is msgspec.UNSET


def declared_inputs(definition: Mapping[str, Any]) -> dict[str, InputDecl]:
    """The inputs a stored definition declares; one that cannot be read counts as text."""
    raw = definition.get("inputs")
    if not isinstance(raw, Mapping):
        return {}
    declared: dict[str, InputDecl] = {}
    for name, spec in raw.items():
        try:
            declared[str(name)] = msgspec.convert(spec or {}, InputDecl)
        except msgspec.ValidationError:
            declared[str(name)] = InputDecl()
    return declared


def convert_input(kind: str, text: str) -> Any:
    """``text`` as a value of input type ``kind``; ``ValueError`` saying what is expected."""
    if kind == "integer":
        if not _INT_RE.match(text.strip()):
            raise ValueError("must be a whole number, e.g. 42")
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError("must be a number, e.g. 2.5") from None
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        return int(text) if _INT_RE.match(text.strip()) else number
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("must be true or false")
    if kind == "list":
        stripped = text.strip()
        if not stripped.startswith("["):
            # Friendlier than JSON for the common case: names=Ada,Grace
            return [part.strip() for part in stripped.split(",") if part.strip()]
        value = _json(text, "a JSON list, e.g. [1, 2] (or a,b,c)")
        if not isinstance(value, list):
            raise ValueError("must be a JSON list, e.g. [1, 2] (or a,b,c)")
        return value
    if kind == "object":
        value = _json(text, 'a JSON object, e.g. {"a": 1}')
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object, e.g. {"a": 1}')
        return value
    return text


def _json(text: str, expected: str) -> Any:
    try:
        return msgspec.json.decode(text.encode())
    except msgspec.DecodeError:
        raise ValueError(f"must be {expected}") from None


def coerce_inputs(
    declared: Mapping[str, InputDecl], arguments: Sequence[tuple[str, str]]
) -> tuple[dict[str, Any], list[str]]:
    """The typed inputs, and one line per mistake (empty when there is none).

    Each line names the input: ``unknown input `x``` (with the known ones),
    ``missing required input `y```, ``count: must be a whole number``.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, text in arguments:
        if key in values:
            problems.append(f"`{key}` is given twice")
            continue
        spec = declared.get(key)
        if spec is None:
            known = ", ".join(f"`{name}`" for name in sorted(declared)) or "none"
            problems.append(
                f"`{key}` is not an input of this workflow{did_you_mean(key, declared)} "
                f"(its inputs: {known})"
            )
            values[key] = None
            continue
        try:
            values[key] = convert_input(spec.type, text)
        except ValueError as exc:
            problems.append(f"`{key}` {exc}")
            values[key] = None
    for name, spec in sorted(declared.items()):
        if spec.is_required and name not in values:
            hint = f" ({spec.type})" if spec.type != "string" else ""
            problems.append(f"`{name}` is required{hint}: add `{name}=...`")
    return ({} if problems else values), problems
