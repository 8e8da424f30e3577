"""Bounds on untrusted documents and templates, checked before anything is expanded,
built or compiled.

Definitions, templates and request bodies come from API callers. Parsers and compilers
recurse and expand: a 500-byte YAML document whose aliases refer to aliases grows to
millions of nodes once built, and ``((((1))))`` seventy levels deep, or a thousand
``+`` in a row, overflows jinja2's and Python's own compilers. The checks here walk
the input without recursion and without building anything (YAML's event stream,
jinja2's token stream), so they answer in time proportional to the input's size, and
each problem names the limit it crossed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import jinja2
import yaml

__all__ = [
    "MAX_ALIASES",
    "MAX_BLOCK_DEPTH",
    "MAX_BRACKET_DEPTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_OPERATORS",
    "LimitExceeded",
    "check_jinja",
    "check_structure",
    "check_yaml",
]

MAX_DEPTH: Final = 32
"""Nesting of mappings and lists in a document (definitions, inputs, data)."""
MAX_NODES: Final = 50_000
"""Values in a document, counting every alias as the values it stands for."""
MAX_ALIASES: Final = 64
"""YAML aliases (``*name``) in a document."""
MAX_BRACKET_DEPTH: Final = 16
"""Nesting of ``()``, ``[]`` and ``{}`` inside one jinja2 tag."""
MAX_OPERATORS: Final = 128
"""Operators, filters, attribute and item lookups inside one jinja2 tag."""
MAX_BLOCK_DEPTH: Final = 16
"""Nesting of jinja2 blocks (``{% if %}``, ``{% for %}``...) in a template."""

# Tokens that each wrap what came before them in one more level of the code jinja2
# generates (Python's compiler refuses about 200 such levels).
_OPERATORS: Final = frozenset({"+", "-", "*", "/", "//", "%", "**", "~", "|", ".", "["})
_OPERATOR_NAMES: Final = frozenset({"and", "or", "not", "in", "is", "if", "else"})
_OPENING: Final = frozenset({"(", "[", "{"})
_CLOSING: Final = frozenset({")", "]", "}"})
_BLOCK_ENDS: Final = {
    "if": "endif",
    "for": "endfor",
    "macro": "endmacro",
    "call": "endcall",
    "filter": "endfilter",
    "with": "endwith",
    "block": "endblock",
    "autoescape": "endautoescape",
}


class LimitExceeded(ValueError):
    """A document or template is over a limit; the message names it (and where)."""


def check_yaml(text: str) -> None:
    """Raise :class:`LimitExceeded` when the YAML ``text`` nests deeper than
    :data:`MAX_DEPTH`, has more than :data:`MAX_ALIASES` aliases, an alias to a value
    that contains it, or more than :data:`MAX_NODES` values once aliases are expanded.

    Malformed YAML is left for the real parser to report.
    """
    depth = 0
    aliases = 0
    expanded = 0
    sizes: dict[str, int] = {}
    # Open collections: (anchor, values counted before it began).
    open_: list[tuple[str | None, int]] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise LimitExceeded(
                        f"{_at(event)}: nests deeper than {MAX_DEPTH} levels "
                        f"(the most a document may)"
                    )
                open_.append((event.anchor, expanded))
                expanded += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                anchor, before = open_.pop()
                if anchor is not None:
                    sizes[anchor] = expanded - before
            elif isinstance(event, yaml.ScalarEvent):
                expanded += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise LimitExceeded(
                        f"{_at(event)}: has more than {MAX_ALIASES} aliases "
                        f"(the most a document may)"
                    )
                if event.anchor not in sizes:
                    raise LimitExceeded(
                        f"{_at(event)}: the alias *{event.anchor} refers to a value that "
                        "contains it"
                    )
                expanded += sizes[event.anchor]
            if expanded > MAX_NODES:
                raise LimitExceeded(
                    f"{_at(event)}: expands to more than {MAX_NODES:,} values "
                    f"(the most a document may, aliases counted as what they stand for)"
                )
    except yaml.YAMLError:
        return


def _at(event: yaml.Event) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(yaml)"


def check_structure(value: Any, *, what: str = "the value") -> None:
    """Raise :class:`LimitExceeded` when ``value`` (decoded JSON) nests deeper than
    :data:`MAX_DEPTH` or holds more than :data:`MAX_NODES` values."""
    count = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        count += 1
        if count > MAX_NODES:
            raise LimitExceeded(f"{what} holds more than {MAX_NODES:,} values")
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise LimitExceeded(f"{what} nests deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def check_jinja(env: jinja2.Environment, source: str) -> None:
    """Raise :class:`LimitExceeded` when a jinja2 ``source`` (a template, or an expression
    with its braces) is too complex for jinja2 and Python to compile: brackets nested
    deeper than :data:`MAX_BRACKET_DEPTH` or more than :data:`MAX_OPERATORS` operators in
    one tag, or blocks nested deeper than :data:`MAX_BLOCK_DEPTH`.

    Syntax errors are left for the compiler to report.
    """
    brackets = 0
    operators = 0
    blocks: list[str] = []
    expect_block_name = False
    try:
        for line, kind, value in _tokens(env, source):
            if kind in ("variable_begin", "block_begin"):
                brackets = operators = 0
                expect_block_name = kind == "block_begin"
                continue
            is_operator = kind == "operator"
            if is_operator and value in _OPENING:
                brackets += 1
                if brackets > MAX_BRACKET_DEPTH:
                    raise LimitExceeded(
                        f"line {line}: brackets nest deeper than {MAX_BRACKET_DEPTH} levels"
                    )
            elif is_operator and value in _CLOSING:
                brackets -= 1
            if (is_operator and value in _OPERATORS) or (
                kind == "name" and value in _OPERATOR_NAMES
            ):
                operators += 1
                if operators > MAX_OPERATORS:
                    raise LimitExceeded(
                        f"line {line}: one expression has more than {MAX_OPERATORS} operators"
                    )
            if expect_block_name and kind == "name":
                expect_block_name = False
                if value in _BLOCK_ENDS:
                    blocks.append(value)
                    if len(blocks) > MAX_BLOCK_DEPTH:
                        raise LimitExceeded(
                            f"line {line}: blocks nest deeper than {MAX_BLOCK_DEPTH} levels"
                        )
                elif blocks and value == _BLOCK_ENDS[blocks[-1]]:
                    blocks.pop()
    except jinja2.TemplateSyntaxError:
        return


def _tokens(env: jinja2.Environment, source: str) -> Iterator[tuple[int, str, str]]:
    # The lexer is a loop over regular expressions: no recursion, linear in the source.
    return env.lex(source)
