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

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import jinja2
import msgspec
from jinja2 import meta, nodes

from dataworkflows.runtime.limits import LimitExceeded, check_jinja
from dataworkflows.runtime.templating import DataFirstEnvironment, syntax_message

__all__ = [
    "EVALUATION_TASKS",
    "CompiledValue",
    "ExpressionError",
    "Reference",
    "compile_condition",
    "compile_value",
    "evaluate",
    "evaluate_source",
    "plain",
    "worker_context",
]

EVALUATION_TASKS: Final = {"expression": f"{__name__}:evaluate_source"}
"""What the evaluation pool's workers run for expressions (give it to the pool)."""

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


def _containing(value: Any, text: Any) -> bool:
    """``value is containing(text)``: ``text`` occurs in ``value``, ignoring case.

    Plain text, not a pattern: the text often comes from a user (a Slack command),
    and a regular expression from a user could take forever to match.
    """
    if value is None or text is None:
        return False
    return str(text).casefold() in str(value).casefold()


_ENV: Final = DataFirstEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
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
    raw: Any = None
    """The definition's value this was compiled from (what a worker process compiles)."""
    condition: bool = False
    """Compiled by :func:`compile_condition` (``if:``/``foreach:``), not :func:`compile_value`."""
    bounded: bool = True
    """Whether its cost is bounded by its size and its data's (see :func:`_is_bounded`);
    one that is not runs in a worker process with limits (:mod:`.evaluation`)."""

    @property
    def is_literal(self) -> bool:
        """Whether the value holds no expression at all."""
        return self.kind == "literal"

    needs_isolation: bool = field(init=False, default=False, compare=False, repr=False)
    """Whether evaluating it may run unbounded code (loops, calls, ``*``...), so that
    it must run in a worker process, not in the engine's event loop. Worked out once
    here: every step's every value is asked."""

    def __post_init__(self) -> None:
        if self.kind in ("expression", "template"):
            isolated = not self.bounded
        else:
            isolated = any(child.needs_isolation for _, child in self.children)
        object.__setattr__(self, "needs_isolation", isolated)


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


# Expressions made only of these run in the engine itself: without loops, calls,
# assignments, repetition (`*`, `**`, `%` formatting) or more than a few names, their
# time and the size of their result are bounded by their own size and their data's.
# Anything else runs in a worker process with time and memory limits.
_BOUNDED_NODES: Final = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.If,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Const,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Pair,
    nodes.Keyword,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Compare,
    nodes.Operand,
    nodes.CondExpr,
    nodes.Test,
    nodes.Filter,
    nodes.Add,
    nodes.Sub,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Concat,
)
_BOUNDED_FILTERS: Final = frozenset(
    {
        "abs", "bool", "count", "d", "default", "first", "float", "int", "last", "length",
        "list", "lower", "max", "min", "reject", "rejectattr", "select", "selectattr", "sort",
        "string", "sum", "tojson", "trim", "unique", "upper",
    }
)  # fmt: skip
_BOUNDED_NAMES: Final = 16


def _is_bounded(ast: nodes.Template) -> bool:
    """Whether ``ast`` uses only :data:`_BOUNDED_NODES`, filters of
    :data:`_BOUNDED_FILTERS` and at most :data:`_BOUNDED_NAMES` names (a result cannot
    repeat its data more often than the expression names it)."""
    names = 0
    for node in ast.find_all(nodes.Node):
        if not isinstance(node, _BOUNDED_NODES):
            return False
        if isinstance(node, nodes.Filter) and node.name not in _BOUNDED_FILTERS:
            return False
        if isinstance(node, nodes.Filter | nodes.Test) and (node.dyn_args or node.dyn_kwargs):
            return False
        if isinstance(node, nodes.Name):
            names += 1
    return names <= _BOUNDED_NAMES


def _syntax_message(exc: jinja2.TemplateSyntaxError) -> str:
    return f"expression does not compile: {syntax_message(exc, _ENV)}"


def _parse(source: str) -> nodes.Template:
    """Parse ``source`` within the limits of :func:`check_jinja` (ValueError otherwise)."""
    try:
        check_jinja(_ENV, source)
        return _ENV.parse(source)
    except LimitExceeded as exc:
        raise ValueError(f"is too complex: {exc}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(_syntax_message(exc)) from None
    except (RecursionError, SyntaxError, MemoryError):
        raise ValueError("is too complex to compile") from None


def _compile_expression(body: str, source: str) -> CompiledValue:
    ast = _parse("{{" + body + "}}")
    try:
        function = _ENV.compile_expression(body, undefined_to_none=False)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(_syntax_message(exc)) from None
    except (RecursionError, SyntaxError, MemoryError):
        # Python's own compiler has limits of its own (nested parentheses...).
        raise ValueError("is too complex to compile") from None
    path = _plain_path(body)
    return CompiledValue(
        kind="path" if path else "expression",
        source=source,
        function=function,
        path=path,
        references=_references(ast),
        raw=source,
        bounded=_is_bounded(ast),
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
    path = value.path
    root = path[0]
    assert isinstance(root, str)
    if root not in context:
        raise ExpressionError(f"{value.source}: '{root}' is undefined")
    current = context[root]
    for key in path[1:]:
        # dict by its exact type first: an ABC isinstance check costs several times more.
        if (type(current) is dict or isinstance(current, Mapping)) and isinstance(key, str):
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
        ast = _parse(raw)
        try:
            template = _ENV.from_string(ast)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(_syntax_message(exc)) from None
        except (RecursionError, SyntaxError, MemoryError):
            raise ValueError("is too complex to compile") from None
        return CompiledValue(
            kind="template",
            source=raw,
            function=template.render,
            references=_references(ast),
            raw=raw,
            bounded=_is_bounded(ast),
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
    return CompiledValue(kind=kind, children=children, references=references, raw=raw)


def compile_condition(raw: str | bool | list[Any]) -> CompiledValue:
    """Compile an ``if:`` or ``foreach:`` value: an expression with or without braces."""
    if isinstance(raw, bool | list):
        return compile_value(raw)
    whole = _WHOLE_EXPRESSION_RE.match(raw)
    body = whole.group("body") if whole is not None else raw
    compiled = _compile_expression(body, raw)
    return dataclasses.replace(compiled, condition=True)


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
    except (MemoryError, RecursionError):
        raise  # a limit, not the expression's own error: the worker reports it as such
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


def worker_context(value: CompiledValue, context: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``context`` that ``value`` reads: what is sent to a worker process
    (only the steps it names, unless it reaches for ``steps`` as a whole)."""
    roots = {ref.root for ref in value.references}
    picked: dict[str, Any] = {k: context[k] for k in roots if k in context and k != "steps"}
    if "steps" in roots and "steps" in context:
        named = {ref.attr for ref in value.references if ref.root == "steps"}
        steps = context["steps"]
        picked["steps"] = steps if None in named else {k: v for k, v in steps.items() if k in named}
    return picked


def plain(value: Any) -> Any:
    """``value`` as JSON-like data: tuples, ranges and sets become lists, markup and other
    string kinds plain strings, mapping keys strings (what a worker can send back)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | range | set | frozenset):
        return [plain(v) for v in value]
    return str(value)


@functools.lru_cache(maxsize=512)
def _compiled_from(encoded: bytes, condition: bool) -> CompiledValue:
    raw = _raw_decoder.decode(encoded)
    return compile_condition(raw) if condition else compile_value(raw)


_raw_encoder: Final = msgspec.msgpack.Encoder()
_raw_decoder: Final = msgspec.msgpack.Decoder()


def evaluate_source(raw: Any, context: dict[str, Any], condition: bool) -> Any:
    """Compile ``raw`` (a definition value, or an ``if:``/``foreach:`` when
    ``condition``) and evaluate it in ``context``: the task a worker process runs.

    Raises :class:`ExpressionError` as :func:`evaluate` does.
    """
    try:
        compiled = _compiled_from(_raw_encoder.encode(raw), condition)
    except ValueError as exc:
        raise ExpressionError(str(exc)) from None
    return plain(evaluate(compiled, context))


def allowed_roots(*, in_foreach: bool) -> frozenset[str]:
    """The top-level names an expression may use (plus jinja's own globals)."""
    names = ROOT_NAMES | frozenset(_ENV.globals)
    return names | ITEM_NAMES if in_foreach else names
