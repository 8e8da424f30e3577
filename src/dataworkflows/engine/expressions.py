"""Expressions in definitions: jinja2, sandboxed, compiled once, native types kept.

A string value that is exactly one ``{{ expression }}`` evaluates to the
expression's own value (a list stays a list, a number a number); a string mixing
text and ``{{ }}`` renders to a string; anything else is a literal. ``if:`` and
``foreach:`` take an expression with or without the braces.

Names available: ``inputs``, ``steps`` (``steps.<id>.output``, ``.status``,
``.error``, ``.errors``), ``run`` (``id``, ``workflow``, ``version``), and ``item`` and
``index`` inside a foreach step. Attribute access prefers mapping keys, so
``steps.read.output.items`` is the ``items`` key, not ``dict.items``. Templates run in
jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment`: no access to Python internals.
Besides jinja2's own filters and tests there is ``containing`` (case-insensitive
text search): ``boards | selectattr('name', 'containing', inputs.project)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "CompiledValue",
    "ExpressionError",
    "Reference",
    "compile_condition",
    "compile_value",
    "evaluate",
]

ROOT_NAMES: Final = frozenset({"inputs", "steps", "run"})
ITEM_NAMES: Final = frozenset({"item", "index"})
_WHOLE_EXPRESSION_RE: Final = re.compile(r"^\s*\{\{(?P<body>.*?)\}\}\s*$", re.DOTALL)
# `steps.read.output.items[0]['name']`: a plain path, by far the most common
# expression, is looked up directly (jinja builds a whole context per evaluation).
_PATH_RE: Final = re.compile(
    r"^\s*[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\s*(?:\d+|'[^'\\]*'|\"[^\"\\]*\")\s*\])*\s*$"
)
_SEGMENT_RE: Final = re.compile(r"\.([A-Za-z_]\w*)|\[\s*(?:(\d+)|'([^']*)'|\"([^\"]*)\")\s*\]")


class ExpressionError(Exception):
    """An expression failed while a run evaluated it."""


class _Environment(SandboxedEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data first: `output.items` means the "items" key of a mapping.
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _containing(value: Any, text: Any) -> bool:
    """``value is containing(text)``: ``text`` occurs in ``value``, ignoring case.

    Plain text, not a pattern: the text often comes from a user (a Slack command),
    and a regular expression from a user could take forever to match.
    """
    if value is None or text is None:
        return False
    return str(text).casefold() in str(value).casefold()


_ENV: Final = _Environment(undefined=jinja2.StrictUndefined, autoescape=False)
_ENV.tests["containing"] = _containing


@dataclass(frozen=True, slots=True)
class Reference:
    """A name an expression uses: ``steps.<attr>``, ``inputs.<attr>``, ``item``..."""

    root: str
    attr: str | None


@dataclass(frozen=True, slots=True)
class CompiledValue:
    """A definition value ready to evaluate; ``references`` are the names it reads."""

    kind: str  # "literal" | "path" | "expression" | "template" | "list" | "map"
    literal: Any = None
    path: tuple[str | int, ...] = ()
    source: str = ""
    function: Callable[..., Any] | None = None
    children: tuple[tuple[str | int, CompiledValue], ...] = ()
    references: frozenset[Reference] = field(default_factory=frozenset)

    @property
    def is_literal(self) -> bool:
        """Whether the value holds no expression at all."""
        return self.kind == "literal"


def _references(ast: nodes.Template) -> frozenset[Reference]:
    found: set[Reference] = {
        Reference(root=name, attr=None) for name in meta.find_undeclared_variables(ast)
    }
    for getattr_node in ast.find_all(nodes.Getattr):
        target = getattr_node.node
        if isinstance(target, nodes.Name) and target.name in ("steps", "inputs"):
            found.add(Reference(root=target.name, attr=getattr_node.attr))
    for getitem_node in ast.find_all(nodes.Getitem):
        target, key = getitem_node.node, getitem_node.arg
        if (
            isinstance(target, nodes.Name)
            and target.name in ("steps", "inputs")
            and isinstance(key, nodes.Const)
            and isinstance(key.value, str)
        ):
            found.add(Reference(root=target.name, attr=key.value))
    return frozenset(found)


def _syntax_message(exc: jinja2.TemplateSyntaxError) -> str:
    return f"expression does not compile: {exc.message}"


def _compile_expression(body: str, source: str) -> CompiledValue:
    try:
        ast = _ENV.parse("{{" + body + "}}")
        function = _ENV.compile_expression(body, undefined_to_none=False)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(_syntax_message(exc)) from None
    path = _plain_path(body)
    return CompiledValue(
        kind="path" if path else "expression",
        source=source,
        function=function,
        path=path,
        references=_references(ast),
    )


def _plain_path(body: str) -> tuple[str | int, ...]:
    """The keys of a plain path expression (root name first), or () for anything else."""
    if not _PATH_RE.match(body):
        return ()
    text = body.strip()
    root = re.match(r"[A-Za-z_]\w*", text)
    assert root is not None
    keys: list[str | int] = [root.group(0)]
    for match in _SEGMENT_RE.finditer(text, root.end()):
        attribute, index, single, double = match.groups()
        if index is not None:
            keys.append(int(index))
        else:
            keys.append(
                attribute if attribute is not None else (single if single is not None else double)
            )
    return tuple(keys)


def _lookup(value: CompiledValue, context: Mapping[str, Any]) -> Any:
    """A plain path's value, by the same rules as jinja: mapping keys, list indexes."""
    root, *keys = value.path
    assert isinstance(root, str)
    if root not in context:
        raise ExpressionError(f"{value.source}: '{root}' is undefined")
    current = context[root]
    for key in keys:
        if isinstance(current, Mapping) and isinstance(key, str):
            if key in current:
                current = current[key]
                continue
            raise ExpressionError(f"{value.source}: 'dict object' has no attribute '{key}'")
        if isinstance(current, list) and isinstance(key, int):
            if key < len(current):
                current = current[key]
                continue
            raise ExpressionError(f"{value.source}: 'list object' has no element {key}")
        # Anything unusual (attributes of other objects, strings...): jinja decides.
        return _call(value, context)
    return current


def compile_value(raw: Any) -> CompiledValue:
    """Compile a ``with:`` or ``output:`` value; ``ValueError`` when an expression is bad."""
    if isinstance(raw, str):
        if "{{" not in raw and "{%" not in raw:
            return CompiledValue(kind="literal", literal=raw)
        whole = _WHOLE_EXPRESSION_RE.match(raw)
        if whole is not None and "{{" not in whole.group("body"):
            return _compile_expression(whole.group("body"), raw)
        try:
            ast = _ENV.parse(raw)
            template = _ENV.from_string(ast)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(_syntax_message(exc)) from None
        return CompiledValue(
            kind="template", source=raw, function=template.render, references=_references(ast)
        )
    if isinstance(raw, list):
        items = tuple((i, compile_value(v)) for i, v in enumerate(raw))
        return _container("list", raw, items)
    if isinstance(raw, dict):
        entries = tuple((str(k), compile_value(v)) for k, v in raw.items())
        return _container("map", raw, entries)
    return CompiledValue(kind="literal", literal=raw)


def _container(
    kind: str, raw: Any, children: tuple[tuple[str | int, CompiledValue], ...]
) -> CompiledValue:
    if all(child.is_literal for _, child in children):
        return CompiledValue(kind="literal", literal=raw)
    references: frozenset[Reference] = frozenset().union(*(c.references for _, c in children))
    return CompiledValue(kind=kind, children=children, references=references)


def compile_condition(raw: str | bool | list[Any]) -> CompiledValue:
    """Compile an ``if:`` or ``foreach:`` value: an expression with or without braces."""
    if isinstance(raw, bool | list):
        return compile_value(raw)
    whole = _WHOLE_EXPRESSION_RE.match(raw)
    body = whole.group("body") if whole is not None else raw
    return _compile_expression(body, raw)


def evaluate(value: CompiledValue, context: Mapping[str, Any]) -> Any:
    """The value of ``value`` in ``context``; :class:`ExpressionError` when it fails."""
    kind = value.kind
    if kind == "literal":
        return value.literal
    if kind == "list":
        return [evaluate(child, context) for _, child in value.children]
    if kind == "map":
        return {key: evaluate(child, context) for key, child in value.children}
    if kind == "path":
        return _lookup(value, context)
    return _call(value, context)


def _call(value: CompiledValue, context: Mapping[str, Any]) -> Any:
    kind = value.kind
    assert value.function is not None
    try:
        result = value.function(context) if kind == "template" else value.function(**context)
    except jinja2.UndefinedError as exc:
        raise ExpressionError(f"{value.source}: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise ExpressionError(f"{value.source}: not allowed: {exc}") from None
    except Exception as exc:
        raise ExpressionError(f"{value.source}: {type(exc).__name__}: {exc}") from None
    if isinstance(result, jinja2.Undefined):
        # A bare undefined name evaluates to an Undefined object instead of raising.
        try:
            str(result)
        except jinja2.exceptions.SecurityError as exc:
            raise ExpressionError(f"{value.source}: not allowed: {exc}") from None
        except jinja2.UndefinedError as exc:
            raise ExpressionError(f"{value.source}: {exc.message}") from None
    return result


def allowed_roots(*, in_foreach: bool) -> frozenset[str]:
    """The top-level names an expression may use (plus jinja's own globals)."""
    names = ROOT_NAMES | frozenset(_ENV.globals)
    return names | ITEM_NAMES if in_foreach else names
