"""msgspec's validation errors as a field and a message a person can act on.

msgspec names the problem (``Object contains unknown field `attempt` - at
`$.retry` ``, ``Invalid enum value 'int' - at `$.type` ``) but not what is accepted
instead. Given the type that was being decoded, :func:`field_problem` names the
field itself (``retry.attempt``) and adds what the type takes there: the nearest known
field for a typo, every known field, or the values of a closed set.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable
from typing import Any, Final

import msgspec
from msgspec import inspect

__all__ = ["did_you_mean", "explain", "field_problem", "nearest"]

_UNKNOWN: Final = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`$")
_ENUM: Final = re.compile(r"^Invalid enum value (?P<value>.*)$")
_SEGMENT: Final = re.compile(r"\.(?P<field>[^.\[]+)|\[(?P<index>\d+)\]|\[\.\.\.\]")
_PATTERN: Final = "Expected `str` matching regex"
_MAX_NAME: Final = 80
"""A caller's unknown field name or refused value is echoed up to this many characters."""
_MAX_LISTED: Final = 12
"""A closed set longer than this is not spelled out (the message stays one line)."""


def field_problem(exc: msgspec.ValidationError, target: Any) -> tuple[str, str]:
    """The path (``steps[0].retry.attempt``, "" for the top) and message of ``exc``,
    raised while converting to ``target``, with what ``target`` accepts there."""
    text = str(exc)
    message, sep, where = text.rpartition(" - at `$")
    if not sep:
        message, where = text, ""
    return explain(message, target, where.rstrip("`"))


def explain(message: str, target: Any, path: str) -> tuple[str, str]:
    """msgspec's ``message`` about ``path`` (``.a[0].b``, "" for the top) of a value
    decoded as ``target``: the field it is about, and what ``target`` accepts there."""
    unknown = _UNKNOWN.match(message)
    if unknown:
        name = unknown.group("name")
        known = _struct_fields(_resolve(target, path))
        if len(name) > _MAX_NAME:  # a caller's key, echoed: keep the answer small
            name = name[:_MAX_NAME] + "..."
        field = f"{path}.{name}".lstrip(".")
        return field, "is not a known field" + _suggestion(name, known)
    enum = _ENUM.match(message)
    if enum:
        values = _literal_values(_resolve(target, path))
        if values and len(values) <= _MAX_LISTED:
            listed = ", ".join(repr(v) for v in values)
            given = enum.group("value")
            if len(given) > _MAX_NAME:
                given = given[:_MAX_NAME] + "..."
            return path.lstrip("."), f"must be one of {listed}; got {given}"
    if message.startswith(_PATTERN):
        info = _resolve(target, path)
        description = _description(info)
        choices = _choices(info) if info is not None else ()
        string = next((c for c in choices if isinstance(c, inspect.StrType)), None)
        if description and string is not None and string.pattern:
            # "Expected `str` matching regex '^\\d+$'" says how, not what: the field's
            # own description ("A board id (digits)") says what.
            return path.lstrip("."), (
                f"must be {_lower_first(description)}, matching {string.pattern}"
            )
    return path.lstrip("."), message


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The one of ``known`` that ``name`` is probably a typo of, if any."""
    if len(name) > _MAX_NAME:
        return None
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'names'?"`` when one of ``known`` is close to ``name``, else ""."""
    meant = nearest(name, known)
    return f"; did you mean {meant!r}?" if meant else ""


def _suggestion(name: str, known: list[str]) -> str:
    if not known:
        return ""
    hint = did_you_mean(name, known)
    shown = known if len(known) <= _MAX_LISTED else [*known[:_MAX_LISTED], "..."]
    return f"{hint} (known fields: {', '.join(shown)})"


def _resolve(target: Any, path: str) -> inspect.Type | None:
    """The type ``target`` expects at ``path`` (msgspec's ``.a[0].b`` form), if known
    (``target`` None: not known)."""
    if target is None:
        return None
    try:
        info: inspect.Type | None = _type_info(target)
    except (TypeError, ValueError):  # not a type msgspec can describe (or not hashable)
        return None
    for segment in _SEGMENT.finditer(path):
        if info is None:
            return None
        name = segment.group("field")
        if name is not None:
            info = _member(info, name)
        elif segment.group("index") is not None:
            info = _item(info)
        else:  # [...]: a mapping's value
            info = _value(info)
    return info


@functools.lru_cache(maxsize=256)
def _type_info(target: Any) -> inspect.Type:
    # Describing a type takes a while (about 0.3 ms for a workflow step), and a
    # definition may have a problem in each of its steps: once per type is enough.
    return inspect.type_info(target)


def _unwrapped(info: inspect.Type) -> inspect.Type:
    """``info`` without its ``Annotated`` metadata (constraints, descriptions)."""
    while isinstance(info, inspect.Metadata):
        info = info.type
    return info


def _choices(info: inspect.Type) -> tuple[inspect.Type, ...]:
    info = _unwrapped(info)
    if isinstance(info, inspect.UnionType):
        return tuple(_unwrapped(member) for member in info.types)
    return (info,)


def _description(info: inspect.Type | None) -> str:
    """The ``description`` a ``msgspec.Meta`` gives the type, if any."""
    while isinstance(info, inspect.Metadata):
        described = (info.extra_json_schema or {}).get("description")
        if isinstance(described, str) and described:
            return described
        info = info.type
    return ""


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _member(info: inspect.Type, name: str) -> inspect.Type | None:
    for choice in _choices(info):
        if isinstance(choice, inspect.StructType):
            for field in choice.fields:
                if field.encode_name == name:
                    return field.type
        if isinstance(choice, inspect.DictType):
            return choice.value_type
    return None


def _item(info: inspect.Type) -> inspect.Type | None:
    for choice in _choices(info):
        if isinstance(
            choice,
            inspect.ListType | inspect.SetType | inspect.FrozenSetType | inspect.VarTupleType,
        ):
            return choice.item_type
    return None


def _value(info: inspect.Type) -> inspect.Type | None:
    for choice in _choices(info):
        if isinstance(choice, inspect.DictType):
            return choice.value_type
    return None


def _struct_fields(info: inspect.Type | None) -> list[str]:
    if info is None:
        return []
    for choice in _choices(info):
        if isinstance(choice, inspect.StructType):
            return [field.encode_name for field in choice.fields]
    return []


def _literal_values(info: inspect.Type | None) -> list[Any]:
    if info is None:
        return []
    for choice in _choices(info):
        if isinstance(choice, inspect.LiteralType):
            return list(choice.values)
        if isinstance(choice, inspect.EnumType):
            return [member.value for member in choice.cls]
    return []
