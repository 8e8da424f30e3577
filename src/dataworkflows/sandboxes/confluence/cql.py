"""A realistic subset of CQL (Confluence Query Language) for the sandbox's v1 search.

What a client can send (as Confluence spells it; keywords and field names are
case-insensitive):

- fields: ``type``, ``space`` (or ``space.key``), ``space.title``, ``title``, ``text``,
  ``id`` (or ``content``), ``ancestor``, ``parent``, ``creator``, ``contributor``,
  ``lastmodified`` (or ``lastModified``), ``created``;
- operators ``=``, ``!=``, ``~`` (contains words), ``!~``, ``>``, ``>=``, ``<``, ``<=``,
  ``in (...)`` and ``not in (...)``;
- ``AND``, ``OR``, ``NOT`` and parentheses;
- values: ``"quoted"`` or ``'quoted'`` strings, bare words, dates
  (``2026-10-01``, ``"2026/10/01 14:30"``), relative dates (``-7d``) and the functions
  ``now("-7d")``, ``startOfDay()``, ``startOfWeek()``, ``startOfMonth()``,
  ``startOfYear()``, ``endOfDay()`` ... (offsets in ``y M w d h m``) and
  ``currentUser()``;
- ``ORDER BY lastmodified|created|title|id [ASC|DESC], ...``; without it results come
  by relevance (how often the searched words occur), then newest first.

``text ~`` and ``title ~`` match when every word occurs in the content (a word
matches words it starts, which is how Confluence's stemming feels; ``word*`` too);
a value that is itself quoted (``text ~ "\\"exact phrase\\""``) matches the phrase.
Anything else is a :class:`CqlError`, which the sandbox answers like Confluence:
400 ``Could not parse cql``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

__all__ = [
    "BoolOp",
    "Clause",
    "CqlError",
    "Function",
    "Indexed",
    "Not",
    "Query",
    "matches",
    "parse",
    "relevance",
    "search_terms",
    "sort_key",
]


class CqlError(ValueError):
    """The query is not CQL this sandbox understands."""


@dataclass(frozen=True, slots=True)
class Function:
    """A CQL function call in a value position: ``now("-7d")``."""

    name: str
    args: tuple[str, ...]


Value = str | Function


@dataclass(frozen=True, slots=True)
class Clause:
    """``field op value`` (or ``field [not] in (values)``)."""

    field: str
    op: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``AND`` or ``OR`` of two or more parts."""

    op: Literal["and", "or"]
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT part``."""

    part: Node


Node = Clause | BoolOp | Not


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: its condition (None: everything) and ``ORDER BY`` (field, desc)."""

    where: Node | None
    order: tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class Indexed:
    """What the search knows about one piece of content."""

    id: str
    type: str
    space_key: str
    space_title: str
    title: str
    text: str
    """Plain words of the body."""
    created: datetime
    modified: datetime
    ancestors: tuple[str, ...]
    parent: str | None
    creator: str
    contributors: frozenset[str]


_FIELDS: Final = {
    "type": "type",
    "space": "space",
    "space.key": "space",
    "space.title": "space.title",
    "title": "title",
    "text": "text",
    "id": "id",
    "content": "id",
    "ancestor": "ancestor",
    "parent": "parent",
    "creator": "creator",
    "contributor": "contributor",
    "lastmodified": "lastmodified",
    "created": "created",
}
_ORDER_FIELDS: Final = frozenset({"lastmodified", "created", "title", "id"})
_TEXT_FIELDS: Final = frozenset({"title", "text", "space.title"})
_DATE_FIELDS: Final = frozenset({"lastmodified", "created"})
_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "order", "by", "asc", "desc"})

_TOKEN_RE: Final = re.compile(
    r"""\s*(?:
        (?P<lp>\() | (?P<rp>\)) | (?P<comma>,) |
        (?P<op>!=|!~|>=|<=|=|~|>|<) |
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*') |
        (?P<word>[^\s()=!~<>,"']+)
    )""",
    re.VERBOSE,
)
_OFFSET_RE: Final = re.compile(r"([+-]?)(\d+)([yMwdhm])")
_WORD_RE: Final = re.compile(r"[\w*]+")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


def _tokens(cql: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(cql):
        if cql[position:].strip() == "":
            break
        match = _TOKEN_RE.match(cql, position)
        if match is None or match.end() == position:
            raise CqlError(f"unexpected character at {position}: {cql[position : position + 10]!r}")
        kind = match.lastgroup
        assert kind is not None
        text = match.group(kind)
        if kind == "str":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        tokens.append(_Token(kind, text))
        position = match.end()
    tokens.append(_Token("eof", ""))
    return tokens


class _Parser:
    def __init__(self, cql: str) -> None:
        self.tokens = _tokens(cql)
        self.at = 0

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.at + offset, len(self.tokens) - 1)]

    def next(self) -> _Token:
        token = self.peek()
        self.at += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() in words

    def expect(self, kind: str, what: str) -> _Token:
        token = self.next()
        if token.kind != kind:
            raise CqlError(f"expected {what}, found {token.text or 'the end'}")
        return token

    def query(self) -> Query:
        where = None if self.keyword("order") or self.peek().kind == "eof" else self.disjunction()
        order: list[tuple[str, bool]] = []
        if self.keyword("order"):
            self.next()
            if not self.keyword("by"):
                raise CqlError("expected BY after ORDER")
            self.next()
            while True:
                name = self.expect("word", "a field to order by").text.lower()
                if name not in _ORDER_FIELDS:
                    raise CqlError(f"cannot order by {name}")
                descending = False
                if self.keyword("asc", "desc"):
                    descending = self.next().text.lower() == "desc"
                order.append((name, descending))
                if self.peek().kind != "comma":
                    break
                self.next()
        if self.peek().kind != "eof":
            raise CqlError(f"unexpected {self.peek().text!r}")
        return Query(where=where, order=tuple(order))

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.keyword("or"):
            self.next()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.unary()]
        while self.keyword("and", "not"):
            # "a NOT b" is CQL for "a AND NOT b".
            if self.keyword("and"):
                self.next()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def unary(self) -> Node:
        if self.keyword("not"):
            self.next()
            return Not(self.unary())
        if self.peek().kind == "lp":
            self.next()
            node = self.disjunction()
            self.expect("rp", "')'")
            return node
        return self.clause()

    def clause(self) -> Clause:
        token = self.expect("word", "a field")
        field = _FIELDS.get(token.text.lower())
        if field is None or token.text.lower() in _KEYWORDS:
            raise CqlError(f"unknown field {token.text!r}")
        if (
            self.keyword("not")
            and self.peek(1).kind == "word"
            and self.peek(1).text.lower() == "in"
        ):
            self.next()
            self.next()
            return Clause(field, "not in", self.value_list())
        if self.keyword("in"):
            self.next()
            return Clause(field, "in", self.value_list())
        op = self.expect("op", f"an operator after {token.text}").text
        return Clause(field, op, (self.value(),))

    def value_list(self) -> tuple[Value, ...]:
        self.expect("lp", "'('")
        values = [self.value()]
        while self.peek().kind == "comma":
            self.next()
            values.append(self.value())
        self.expect("rp", "')'")
        return tuple(values)

    def value(self) -> Value:
        token = self.next()
        if token.kind == "str":
            return token.text
        if token.kind != "word" or token.text.lower() in ("and", "or", "order"):
            raise CqlError(f"expected a value, found {token.text or 'the end'}")
        if self.peek().kind != "lp":
            return token.text
        self.next()
        args: list[str] = []
        while self.peek().kind != "rp":
            argument = self.next()
            if argument.kind not in ("str", "word"):
                raise CqlError(f"bad argument to {token.text}()")
            args.append(argument.text)
            if self.peek().kind == "comma":
                self.next()
        self.next()
        return Function(token.text.lower(), tuple(args))


def parse(cql: str) -> Query:
    """The query ``cql``; raises :class:`CqlError` when it is not (supported) CQL."""
    if not cql.strip():
        raise CqlError("the query is empty")
    return _Parser(cql).query()


# -- evaluation --------------------------------------------------------------------------


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


def _offset(moment: datetime, text: str) -> datetime:
    text = text.strip()
    if not text:
        return moment
    position = 0
    for match in _OFFSET_RE.finditer(text):
        if match.start() != position:
            break
        sign = -1 if match.group(1) == "-" else 1
        amount = sign * int(match.group(2))
        unit = match.group(3)
        if unit == "y":
            moment = _add_months(moment, 12 * amount)
        elif unit == "M":
            moment = _add_months(moment, amount)
        else:
            step = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1)}
            moment += amount * step.get(unit, timedelta(minutes=1))
        position = match.end()
    if position != len(text):
        raise CqlError(f"bad date offset {text!r}")
    return moment


def _start_of(unit: str, moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _end_of(unit: str, moment: datetime) -> datetime:
    start = _start_of(unit, moment)
    if unit == "day":
        after = start + timedelta(days=1)
    elif unit == "week":
        after = start + timedelta(weeks=1)
    elif unit == "month":
        after = _add_months(start, 1)
    else:
        after = _add_months(start, 12)
    return after - timedelta(milliseconds=1)


_DATE_FORMATS: Final = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")


def _date(value: Value, now: datetime) -> tuple[datetime, bool]:
    """The instant a date value names, and whether it named a whole day."""
    if isinstance(value, Function):
        argument = value.args[0] if value.args else ""
        if value.name == "now":
            return _offset(now, argument), False
        for prefix, build in (("startof", _start_of), ("endof", _end_of)):
            if value.name.startswith(prefix):
                unit = value.name.removeprefix(prefix)
                if unit in ("day", "week", "month", "year"):
                    return build(unit, _offset(now, argument)), False
        raise CqlError(f"unknown date function {value.name}()")
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return parsed, "%H" not in fmt
    if _OFFSET_RE.match(value.strip()):
        return _offset(now, value), False
    raise CqlError(f'{value!r} is not a date (yyyy-MM-dd, yyyy/MM/dd HH:mm or now("-7d"))')


def _text_value(value: Value, current_user: str) -> str:
    if isinstance(value, Function):
        if value.name == "currentuser":
            return current_user
        raise CqlError(f"{value.name}() is not a text value")
    return value


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _contains(haystack: str, needle: str) -> bool:
    stripped = needle.strip()
    if len(stripped) > 1 and stripped[0] == stripped[-1] == '"':
        return " ".join(_words(stripped[1:-1])) in " ".join(_words(haystack))
    words = _words(haystack)
    terms = _words(needle)
    if not terms:
        return False
    return all(any(w.startswith(t.rstrip("*")) for w in words) for t in terms)


def _field_text(doc: Indexed, field: str) -> str:
    if field == "title":
        return doc.title
    if field == "space.title":
        return doc.space_title
    return f"{doc.title} {doc.text}"


_EQUALS: Final[dict[str, Callable[[Indexed, str], bool]]] = {
    "type": lambda doc, value: doc.type.lower() == value.lower(),
    # Space keys are case-sensitive in CQL, as on Confluence.
    "space": lambda doc, value: doc.space_key == value,
    "space.title": lambda doc, value: doc.space_title.lower() == value.lower(),
    "title": lambda doc, value: doc.title.lower() == value.lower(),
    "id": lambda doc, value: doc.id == value,
    "ancestor": lambda doc, value: value in doc.ancestors,
    "parent": lambda doc, value: doc.parent == value,
    "creator": lambda doc, value: doc.creator == value,
    "contributor": lambda doc, value: value in doc.contributors,
}


def _equals(doc: Indexed, field: str, value: str) -> bool:
    test = _EQUALS.get(field)
    if test is None:
        raise CqlError(f"{field} does not support =")
    return test(doc, value)


def _compare(moment: datetime, op: str, value: datetime, whole_day: bool) -> bool:
    if whole_day and op in ("=", "!="):
        same = moment.date() == value.date()
        return same if op == "=" else not same
    if whole_day and op in (">", "<="):
        # "after a day" means after its end.
        value = value + timedelta(days=1) - timedelta(milliseconds=1)
    match op:
        case "=":
            return moment == value
        case "!=":
            return moment != value
        case ">":
            return moment > value
        case ">=":
            return moment >= value
        case "<":
            return moment < value
        case "<=":
            return moment <= value
    raise CqlError(f"dates do not support {op}")


def _clause(doc: Indexed, clause: Clause, now: datetime, current_user: str) -> bool:
    field, op = clause.field, clause.op
    if field in _DATE_FIELDS:
        if op in ("in", "not in", "~", "!~"):
            raise CqlError(f"{field} does not support {op}")
        moment = doc.modified if field == "lastmodified" else doc.created
        when, whole_day = _date(clause.values[0], now)
        return _compare(moment, op, when, whole_day)
    values = [_text_value(v, current_user) for v in clause.values]
    if op in ("~", "!~"):
        if field not in _TEXT_FIELDS:
            raise CqlError(f"{field} does not support {op}")
        found = _contains(_field_text(doc, field), values[0])
        return found if op == "~" else not found
    if op in ("=", "in"):
        return any(_equals(doc, field, v) for v in values)
    if op in ("!=", "not in"):
        return not any(_equals(doc, field, v) for v in values)
    raise CqlError(f"{field} does not support {op}")


def matches(node: Node | None, doc: Indexed, *, now: datetime, current_user: str) -> bool:
    """Whether ``doc`` satisfies the condition ``node`` (None: everything does)."""
    match node:
        case None:
            return True
        case Clause():
            return _clause(doc, node, now, current_user)
        case Not(part=part):
            return not matches(part, doc, now=now, current_user=current_user)
        case BoolOp(op="and", parts=parts):
            return all(matches(p, doc, now=now, current_user=current_user) for p in parts)
        case BoolOp(parts=parts):
            return any(matches(p, doc, now=now, current_user=current_user) for p in parts)
    raise AssertionError(f"unknown node {node!r}")  # pragma: no cover


def search_terms(node: Node | None) -> list[str]:
    """The words searched for by the positive ``~`` clauses (for relevance and excerpts)."""
    match node:
        case Clause(field=field, op="~", values=values) if field in _TEXT_FIELDS:
            return [w.rstrip("*") for v in values if isinstance(v, str) for w in _words(v)]
        case BoolOp(parts=parts):
            return [t for p in parts for t in search_terms(p)]
    return []


def relevance(doc: Indexed, terms: list[str]) -> int:
    """How often the searched words occur (title words count thrice)."""
    if not terms:
        return 0
    title_words = _words(doc.title)
    text_words = _words(doc.text)
    score = 0
    for term in terms:
        score += 3 * sum(w.startswith(term) for w in title_words)
        score += sum(w.startswith(term) for w in text_words)
    return score


def sort_key(doc: Indexed, field: str) -> tuple[object, int]:
    """What ``ORDER BY field`` orders by (ties broken by id)."""
    value: object
    if field == "lastmodified":
        value = doc.modified
    elif field == "created":
        value = doc.created
    elif field == "title":
        value = doc.title.casefold()
    else:
        value = int(doc.id) if doc.id.isdigit() else 0
    return value, int(doc.id) if doc.id.isdigit() else 0
