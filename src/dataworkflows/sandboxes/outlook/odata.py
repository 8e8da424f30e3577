"""The OData query options the Outlook sandbox understands: ``$filter``, ``$orderby``,
``$select``, evaluated against items in their Graph JSON shape.

``$filter`` supports what clients of the mail and calendar APIs write: comparisons
(``eq ne gt ge lt le``) of property paths (``from/emailAddress/address``) with string,
boolean, null, number and unquoted date-time literals; ``and``, ``or``, ``not`` and
parentheses; ``contains``, ``startswith`` and ``endswith``; and lambdas over
collections (``toRecipients/any(r: r/emailAddress/address eq '...')``,
``singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')``).
String comparisons ignore case, as Exchange does.

Errors are :class:`ODataQueryError` with the Graph error code and message the sandbox
answers with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = [
    "And",
    "Compare",
    "Expr",
    "Function",
    "Lambda",
    "Literal",
    "Not",
    "ODataQueryError",
    "Or",
    "OrderTerm",
    "Path",
    "check_properties",
    "filter_properties",
    "matches",
    "parse_filter",
    "parse_orderby",
    "parse_select",
    "sort_items",
]


class ODataQueryError(Exception):
    """A query option Graph would refuse: ``code`` and ``message`` as Graph answers."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Path:
    """A property path (``from/emailAddress/address``), maybe rooted at a lambda variable."""

    segments: tuple[str, ...]

    @property
    def text(self) -> str:
        """The path as written: ``from/emailAddress/address``."""
        return "/".join(self.segments)


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: str, bool, None, int, float or an aware datetime."""

    value: object


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` with ``op`` one of eq, ne, gt, ge, lt, le."""

    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Function:
    """``contains``, ``startswith`` or ``endswith`` of a string and a needle."""

    name: str
    args: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class Lambda:
    """``collection/any(v: body)`` (or ``all``)."""

    collection: Path
    quantifier: str
    variable: str
    body: Expr


@dataclass(frozen=True, slots=True)
class And:
    """Both sides hold."""

    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Or:
    """Either side holds."""

    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not:
    """The operand does not hold."""

    operand: Expr


Operand = Path | Literal | Function
Expr = Compare | Function | Lambda | And | Or | Not

_COMPARISONS: Final = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_FUNCTIONS: Final = frozenset({"contains", "startswith", "endswith"})
_DATETIME: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})?)?"
)
_TOKEN: Final = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_@][A-Za-z0-9_.@]*(?:/[A-Za-z_@][A-Za-z0-9_.@]*)*)
  | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    at: int


def _syntax(text: str, at: int, why: str) -> ODataQueryError:
    return ODataQueryError(
        "BadRequest", f"Invalid filter clause: {why} at position {at} in '{text}'."
    )


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _syntax(
                text, position, f"syntax error: character '{text[position]}' is not valid"
            )
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0
        self.variables: list[str] = []

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _syntax(self.text, len(self.text), "unexpected end of expression")
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise _syntax(self.text, token.at, f"expected '{text}', found '{token.text}'")

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text.lower() in words:
            self.position += 1
            return token.text.lower()
        return None

    def parse(self) -> Expr:
        expr = self.or_()
        token = self.peek()
        if token is not None:
            raise _syntax(self.text, token.at, f"unexpected '{token.text}'")
        return expr

    def or_(self) -> Expr:
        left = self.and_()
        while self.keyword("or"):
            left = Or(left, self.and_())
        return left

    def and_(self) -> Expr:
        left = self.unary()
        while self.keyword("and"):
            left = And(left, self.unary())
        return left

    def unary(self) -> Expr:
        if self.keyword("not"):
            return Not(self.unary())
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.or_()
            self.expect(")")
            return inner
        left = self.operand()
        if isinstance(left, Lambda):
            return left
        op = self.keyword(*_COMPARISONS)
        if op is None:
            if isinstance(left, Function):
                return left
            token = self.peek()
            at = token.at if token is not None else len(self.text)
            raise _syntax(self.text, at, "expected a comparison operator (eq, ne, gt, ge, lt, le)")
        right = self.operand()
        if isinstance(right, Lambda):
            raise _syntax(self.text, 0, "a lambda cannot be compared")
        return Compare(op, left, right)

    def operand(self) -> Operand | Lambda:
        token = self.take()
        if token.kind == "string":
            return Literal(token.text[1:-1].replace("''", "'"))
        if token.kind == "datetime":
            return Literal(_datetime_literal(self.text, token))
        if token.kind == "number":
            number = float(token.text) if "." in token.text else int(token.text)
            return Literal(number)
        if token.kind != "name":
            raise _syntax(self.text, token.at, f"unexpected '{token.text}'")
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            return Literal(lowered == "true")
        if lowered == "null":
            return Literal(None)
        following = self.peek()
        if following is not None and following.text == "(":
            segments = token.text.split("/")
            if len(segments) > 1 and segments[-1].lower() in ("any", "all"):
                return self.lambda_(Path(tuple(segments[:-1])), segments[-1].lower())
            if lowered in _FUNCTIONS:
                return self.function(lowered)
            raise ODataQueryError(
                "BadRequest", f"Invalid filter clause: unknown function '{token.text}'."
            )
        return Path(tuple(token.text.split("/")))

    def function(self, name: str) -> Function:
        self.expect("(")
        args: list[Operand] = []
        while True:
            arg = self.operand()
            if isinstance(arg, Lambda):
                raise _syntax(self.text, 0, "a lambda is not a function argument")
            args.append(arg)
            token = self.take()
            if token.text == ")":
                break
            if token.text != ",":
                raise _syntax(self.text, token.at, f"expected ',' or ')', found '{token.text}'")
        if len(args) != 2:
            raise ODataQueryError(
                "BadRequest", f"Invalid filter clause: {name} takes 2 arguments, got {len(args)}."
            )
        return Function(name, tuple(args))

    def lambda_(self, collection: Path, quantifier: str) -> Lambda:
        self.expect("(")
        variable = self.take()
        if variable.kind != "name" or "/" in variable.text:
            raise _syntax(self.text, variable.at, "expected a lambda variable")
        self.expect(":")
        self.variables.append(variable.text)
        body = self.or_()
        self.variables.pop()
        self.expect(")")
        return Lambda(collection, quantifier, variable.text, body)


def _datetime_literal(text: str, token: _Token) -> datetime:
    if not _DATETIME.fullmatch(token.text):
        raise _syntax(text, token.at, f"'{token.text}' is not a valid date-time")
    value = token.text.replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _syntax(text, token.at, f"'{token.text}' is not a valid date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_filter(text: str) -> Expr:
    """The expression of a ``$filter``; :class:`ODataQueryError` (``BadRequest``) if malformed."""
    if not text.strip():
        raise ODataQueryError("BadRequest", "Invalid filter clause: the expression is empty.")
    return _Parser(text).parse()


def filter_properties(expr: Expr) -> list[str]:
    """Top-level property paths of ``expr`` in order of first appearance (lowercased)."""
    seen: list[str] = []

    def add(path: Path) -> None:
        key = path.text.lower()
        if key not in seen:
            seen.append(key)

    def visit(node: Expr | Operand, bound: frozenset[str]) -> None:
        match node:
            case Path():
                if node.segments[0] not in bound:
                    add(node)
            case Literal():
                pass
            case Compare(left=left, right=right):
                visit(left, bound)
                visit(right, bound)
            case Function(args=args):
                for arg in args:
                    visit(arg, bound)
            case Lambda(collection=collection, variable=variable, body=body):
                add(collection)
                visit(body, bound | {variable})
            case And(left=left, right=right) | Or(left=left, right=right):
                visit(left, bound)
                visit(right, bound)
            case Not(operand=operand):
                visit(operand, bound)

    visit(expr, frozenset())
    return seen


def check_properties(expr: Expr, known: Iterable[str], type_name: str) -> None:
    """Raise ``RequestBroker--ParseUri`` for a top-level property the type lacks."""
    names = {k.lower() for k in known}
    for path in filter_properties(expr):
        first = path.split("/")[0]
        if first not in names:
            raise ODataQueryError(
                "RequestBroker--ParseUri",
                f"Could not find a property named '{first}' on type '{type_name}'.",
            )


def _lookup(item: Any, segments: Sequence[str]) -> Any:
    value = item
    for segment in segments:
        if not isinstance(value, Mapping):
            return None
        lowered = segment.lower()
        value = next((v for k, v in value.items() if k.lower() == lowered), None)
    return value


def _resolve(operand: Operand, item: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Function):
        return _call(operand, item, scope)
    head = operand.segments[0]
    if head in scope:
        return _lookup(scope[head], operand.segments[1:])
    return _lookup(item, operand.segments)


def _comparable(left: object, right: object) -> tuple[object, object]:
    if isinstance(right, datetime) and isinstance(left, str):
        left = _parse_datetime(left)
    if isinstance(left, datetime) and isinstance(right, str):
        right = _parse_datetime(right)
    if isinstance(left, str) and isinstance(right, str):
        return left.lower(), right.lower()
    return left, right


def _parse_datetime(text: str) -> datetime | str:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_ORDERING: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def _compare(op: str, left: object, right: object) -> bool:
    left, right = _comparable(left, right)
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        return bool(_ORDERING[op](left, right))
    except TypeError:
        return False


def _call(function: Function, item: Any, scope: Mapping[str, Any]) -> bool:
    haystack, needle = (_resolve(a, item, scope) for a in function.args)
    if not isinstance(haystack, str) or not isinstance(needle, str):
        return False
    haystack, needle = haystack.lower(), needle.lower()
    if function.name == "contains":
        return needle in haystack
    if function.name == "startswith":
        return haystack.startswith(needle)
    return haystack.endswith(needle)


def _truth(expr: Expr, item: Any, scope: Mapping[str, Any]) -> bool:
    match expr:
        case Compare(op=op, left=left, right=right):
            return _compare(op, _resolve(left, item, scope), _resolve(right, item, scope))
        case Function():
            return _call(expr, item, scope)
        case Lambda(collection=collection, quantifier=quantifier, variable=variable, body=body):
            elements = _resolve(collection, item, scope)
            if not isinstance(elements, list):
                return False
            results = (_truth(body, item, {**scope, variable: e}) for e in elements)
            return any(results) if quantifier == "any" else all(results)
        case And(left=left, right=right):
            return _truth(left, item, scope) and _truth(right, item, scope)
        case Or(left=left, right=right):
            return _truth(left, item, scope) or _truth(right, item, scope)
        case Not(operand=operand):
            return not _truth(operand, item, scope)
    raise AssertionError(f"unknown expression {expr!r}")  # pragma: no cover


def matches(expr: Expr, item: Mapping[str, Any]) -> bool:
    """Whether ``item`` (Graph JSON) satisfies ``expr``."""
    return _truth(expr, item, {})


@dataclass(frozen=True, slots=True)
class OrderTerm:
    """One ``$orderby`` term."""

    path: tuple[str, ...]
    descending: bool

    @property
    def text(self) -> str:
        """The property path, lowercased (to compare with :func:`filter_properties`)."""
        return "/".join(self.path).lower()


_ORDER_TERM: Final = re.compile(
    r"^\s*(?P<path>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)"
    r"(?:\s+(?P<dir>asc|desc))?\s*$",
    re.IGNORECASE,
)


def parse_orderby(text: str, known: Iterable[str], type_name: str) -> list[OrderTerm]:
    """The terms of an ``$orderby`` (``receivedDateTime desc,subject``)."""
    names = {k.lower() for k in known}
    terms: list[OrderTerm] = []
    for part in text.split(","):
        match = _ORDER_TERM.match(part)
        if match is None:
            raise ODataQueryError(
                "BadRequest", f"Invalid $orderby expression: '{part.strip()}' is not valid."
            )
        path = tuple(match.group("path").split("/"))
        if path[0].lower() not in names:
            raise ODataQueryError(
                "RequestBroker--ParseUri",
                f"Could not find a property named '{path[0]}' on type '{type_name}'.",
            )
        terms.append(OrderTerm(path, (match.group("dir") or "asc").lower() == "desc"))
    return terms


def _sort_key(value: object) -> tuple[int, object]:
    # None sorts first ascending (last descending); strings ignore case.
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        parsed = _parse_datetime(value) if value[:4].isdigit() else value
        return (1, parsed.lower() if isinstance(parsed, str) else parsed.timestamp())
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


def sort_items(items: list[dict[str, Any]], terms: Sequence[OrderTerm]) -> list[dict[str, Any]]:
    """``items`` ordered by ``terms`` (a stable sort, last term first)."""
    ordered = list(items)
    for term in reversed(terms):
        path = term.path

        def key(item: dict[str, Any], path: tuple[str, ...] = path) -> tuple[int, object]:
            return _sort_key(_lookup(item, path))

        ordered.sort(key=key, reverse=term.descending)
    return ordered


def parse_select(text: str, known: Iterable[str], type_name: str) -> list[str]:
    """The property names of a ``$select``, spelled as the type spells them."""
    by_lower = {k.lower(): k for k in known}
    selected: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        if name.lower() not in by_lower:
            raise ODataQueryError(
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type '{type_name}'.",
            )
        selected.append(by_lower[name.lower()])
    return selected
