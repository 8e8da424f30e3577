"""The sandbox's OData $filter/$orderby/$select: what clients write is evaluated as Graph does."""

from __future__ import annotations

from typing import Any

import pytest

from dataworkflows.sandboxes.outlook import odata

MESSAGE: dict[str, Any] = {
    "id": "m1",
    "subject": "Blocked: APO-12: Build pricing page",
    "receivedDateTime": "2026-11-20T09:15:00Z",
    "isRead": False,
    "importance": "high",
    "from": {"emailAddress": {"name": "Maya Patel", "address": "Maya.Patel@example.com"}},
    "toRecipients": [
        {"emailAddress": {"name": "Jonas Berg", "address": "jonas.berg@example.com"}},
        {"emailAddress": {"name": "Aiko Tanaka", "address": "aiko.tanaka@example.com"}},
    ],
    "singleValueExtendedProperties": [{"id": "String {g} Name Key", "value": "run:step:0"}],
}
KNOWN = [k for k in MESSAGE if not k.startswith("@")]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("receivedDateTime ge 2026-11-20T00:00:00Z", True),
        ("receivedDateTime ge 2026-11-21T00:00:00Z", False),
        ("receivedDateTime lt 2026-11-20T10:00:00+01:00", False),
        ("receivedDateTime le 2026-11-20", False),
        ("isRead eq false", True),
        ("isRead eq true", False),
        ("from/emailAddress/address eq 'maya.patel@example.com'", True),
        ("importance eq 'high' and isRead eq false", True),
        ("importance eq 'low' or isRead eq false", True),
        ("not (isRead eq false)", False),
        ("contains(subject,'pricing')", True),
        ("contains(subject, 'PRICING')", True),
        ("startswith(subject,'Blocked')", True),
        ("startswith(subject,'RE:')", False),
        ("endswith(subject,'page')", True),
        ("toRecipients/any(r: r/emailAddress/address eq 'aiko.tanaka@example.com')", True),
        ("toRecipients/any(r: r/emailAddress/address eq 'elena.rossi@example.com')", False),
        (
            "singleValueExtendedProperties/Any(ep: ep/id eq 'String {g} Name Key' "
            "and ep/value eq 'run:step:0')",
            True,
        ),
        ("subject eq 'it''s'", False),
        ("subject ne null", True),
    ],
)
def test_filters_evaluate_like_graph(expression: str, expected: bool) -> None:
    """Comparisons, functions, lambdas and logic match Exchange's (case-insensitive) results."""
    assert odata.matches(odata.parse_filter(expression), MESSAGE) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "isRead eq",
        "isRead equals false",
        "(isRead eq false",
        "contains(subject)",
        "subject eq 'unterminated",
        "receivedDateTime ge 2026-13-45T99:00:00Z",
        "",
    ],
)
def test_malformed_filters_are_bad_requests(expression: str) -> None:
    """A filter Graph could not parse is a BadRequest with an 'Invalid filter clause' message."""
    with pytest.raises(odata.ODataQueryError) as caught:
        odata.parse_filter(expression)
    assert caught.value.code == "BadRequest"
    assert "Invalid filter clause" in caught.value.message


def test_unknown_properties_are_refused_by_name() -> None:
    """A property the type lacks: RequestBroker--ParseUri naming it."""
    expr = odata.parse_filter("flavour eq 'mint' and isRead eq true")
    with pytest.raises(odata.ODataQueryError) as caught:
        odata.check_properties(expr, KNOWN, "microsoft.graph.message")
    assert caught.value.code == "RequestBroker--ParseUri"
    assert "'flavour'" in caught.value.message


def test_filter_properties_come_in_order_of_appearance() -> None:
    """The order $orderby must match: first appearance, lambda variables excluded."""
    expr = odata.parse_filter(
        "receivedDateTime ge 2026-01-01T00:00:00Z and (isRead eq false or "
        "toRecipients/any(r: r/emailAddress/address eq 'x@example.com')) and isRead ne true"
    )
    assert odata.filter_properties(expr) == ["receiveddatetime", "isread", "torecipients"]


def test_orderby_sorts_on_several_terms() -> None:
    """Terms apply in order; desc reverses; strings ignore case; dates sort as dates."""
    items = [
        {"subject": "b", "receivedDateTime": "2026-11-02T00:00:00Z"},
        {"subject": "A", "receivedDateTime": "2026-11-03T00:00:00Z"},
        {"subject": "a", "receivedDateTime": "2026-11-01T00:00:00Z"},
    ]
    terms = odata.parse_orderby(
        "subject, receivedDateTime desc", ["subject", "receivedDateTime"], "t"
    )
    ordered = odata.sort_items(items, terms)
    assert [(i["subject"], i["receivedDateTime"][8:10]) for i in ordered] == [
        ("A", "03"),
        ("a", "01"),
        ("b", "02"),
    ]


def test_select_spells_properties_as_the_type_does() -> None:
    """$select is case-insensitive and answers with the type's spelling."""
    assert odata.parse_select("SUBJECT,isread", KNOWN, "t") == ["subject", "isRead"]
    with pytest.raises(odata.ODataQueryError):
        odata.parse_select("subject,colour", KNOWN, "t")
