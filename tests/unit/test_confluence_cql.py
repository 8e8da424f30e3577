"""The sandbox's CQL subset: parsing (precedence, lists, functions, ORDER BY) and dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dataworkflows.sandboxes.confluence.cql import (
    BoolOp,
    Clause,
    CqlError,
    Function,
    Indexed,
    Not,
    matches,
    parse,
    search_terms,
)

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday


def doc(**changes: object) -> Indexed:
    fields: dict[str, object] = {
        "id": "10",
        "type": "page",
        "space_key": "ENG",
        "space_title": "Engineering",
        "title": "Runbook: deploys",
        "text": "How we deploy the site and roll back a release",
        "created": datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
        "modified": datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        "ancestors": ("5", "1"),
        "parent": "5",
        "creator": "acc-1",
        "contributors": frozenset({"acc-1", "acc-2"}),
    }
    fields.update(changes)
    return Indexed(**fields)  # type: ignore[arg-type]


def test_and_binds_tighter_than_or() -> None:
    """a OR b AND c is a OR (b AND c), as in CQL."""
    query = parse("type = page OR space = ENG AND title ~ x")
    assert query.where == BoolOp(
        "or",
        (
            Clause("type", "=", ("page",)),
            BoolOp("and", (Clause("space", "=", ("ENG",)), Clause("title", "~", ("x",)))),
        ),
    )


def test_lists_functions_not_and_order_by() -> None:
    """in/not in lists, function values, NOT, and ORDER BY with directions parse."""
    query = parse(
        'space NOT IN (A, "B") and lastModified >= now("-7d") NOT creator = currentUser() '
        "order by lastmodified desc, title"
    )
    assert query.where == BoolOp(
        "and",
        (
            Clause("space", "not in", ("A", "B")),
            Clause("lastmodified", ">=", (Function("now", ("-7d",)),)),
            Not(Clause("creator", "=", (Function("currentuser", ()),))),
        ),
    )
    assert query.order == (("lastmodified", True), ("title", False))
    assert parse("ORDER BY created").where is None


@pytest.mark.parametrize(
    "cql",
    ["", "type =", "type = page AND", "(type = page", "colour = red", "type page", "order by size"],
)
def test_what_is_not_cql_is_refused(cql: str) -> None:
    """Incomplete or unknown queries raise CqlError (the sandbox answers 400)."""
    with pytest.raises(CqlError):
        parse(cql)


@pytest.mark.parametrize(
    ("cql", "expected"),
    [
        ("title ~ runbook", True),
        ("title ~ deploy", True),  # a word matches the words it starts
        ("text ~ 'roll back'", True),
        ('text ~ "\\"roll back\\""', True),
        ('text ~ "\\"back roll\\""', False),
        ("text ~ kubernetes", False),
        ("title !~ runbook", False),
        ("title = 'runbook: DEPLOYS'", True),
        ("space = eng", False),  # space keys are case-sensitive
        ("space.title ~ engineer", True),
        ("ancestor = 1 and parent = 5", True),
        ("contributor = acc-2", True),
        ("id in (9, 10)", True),
        ("type != page", False),
    ],
)
def test_text_and_equality_clauses(cql: str, expected: bool) -> None:
    """~ matches words (and quoted phrases), = is exact (case-insensitive but for keys)."""
    assert matches(parse(cql).where, doc(), now=NOW, current_user="acc-1") is expected


@pytest.mark.parametrize(
    ("cql", "expected"),
    [
        ('lastmodified >= now("-7d")', True),
        ('lastmodified >= now("-1d")', False),
        ("lastmodified > startOfWeek()", True),
        ("lastmodified >= startOfMonth()", True),
        ('created >= startOfMonth("-1M")', True),
        ("created = 2026-10-01", True),
        ('created > "2026/10/01"', False),  # after that whole day
        ('created < "2026/10/01 10:00"', True),
        ("created >= -5w", True),
        ("created <= endOfYear()", True),
    ],
)
def test_date_clauses(cql: str, expected: bool) -> None:
    """Dates compare by instant; a bare date means its whole day; now() and friends move."""
    assert matches(parse(cql).where, doc(), now=NOW, current_user="acc-1") is expected


def test_a_bad_date_is_refused_when_evaluated() -> None:
    """A value that is not a date fails evaluation (the sandbox answers 400)."""
    with pytest.raises(CqlError):
        matches(parse("created > yesterday").where, doc(), now=NOW, current_user="x")


def test_search_terms_come_from_positive_text_clauses() -> None:
    """Relevance and highlighting use the words of ~ clauses, not of excluded ones."""
    query = parse('title ~ "weekly sync" AND text ~ notes* OR space = X NOT text ~ draft')
    assert search_terms(query.where) == ["weekly", "sync", "notes"]
