"""Typing `key=value` text from Slack against a workflow's declared inputs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataworkflows.runtime.inputs import InputDecl, coerce_inputs, declared_inputs

DEFINITION: dict[str, Any] = {
    "inputs": {
        "title": {},
        "count": {"type": "integer", "default": 1},
        "ratio": {"type": "number", "required": False},
        "dry_run": {"type": "boolean", "default": False},
        "names": {"type": "list", "default": []},
        "options": {"type": "object", "default": {}},
    }
}
DECLARED = declared_inputs(DEFINITION)


def test_values_are_typed_as_declared() -> None:
    """Numbers, booleans, lists and objects typed in Slack reach the run with their types."""
    values, problems = coerce_inputs(
        DECLARED,
        [
            ("title", "two words"),
            ("count", "-42"),
            ("ratio", "2.5"),
            ("dry_run", "Yes"),
            ("names", "Ada, Grace"),
            ("options", '{"a": [1, true]}'),
        ],
    )
    assert problems == []
    assert values == {
        "title": "two words",
        "count": -42,
        "ratio": 2.5,
        "dry_run": True,
        "names": ["Ada", "Grace"],
        "options": {"a": [1, True]},
    }


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("number", "3", 3),
        ("number", "1e3", 1000.0),
        ("boolean", "off", False),
        ("boolean", "1", True),
        ("list", '[1, "b"]', [1, "b"]),
        ("list", "", []),
        ("string", "  spaced  ", "  spaced  "),
    ],
)
def test_each_type_accepts_its_spellings(kind: str, text: str, value: Any) -> None:
    """Common spellings of each type are understood."""
    values, problems = coerce_inputs({"x": InputDecl(type=kind)}, [("x", text)])
    assert problems == []
    assert values == {"x": value}


@pytest.mark.parametrize(
    ("kind", "text", "fragment"),
    [
        ("integer", "3.5", "whole number"),
        ("integer", "12345678901234567890123", "whole number"),
        ("number", "lots", "must be a number"),
        ("number", "nan", "finite"),
        ("boolean", "maybe", "true or false"),
        ("list", "[1,", "JSON list"),
        ("list", '["a"] trailing', "JSON list"),
        ("object", "[1]", "JSON object"),
        ("object", "a=b", "JSON object"),
    ],
)
def test_bad_values_are_named(kind: str, text: str, fragment: str) -> None:
    """A value of the wrong type is reported with the input's name and what is expected."""
    values, problems = coerce_inputs({"x": InputDecl(type=kind, required=False)}, [("x", text)])
    assert values == {}
    assert len(problems) == 1
    assert problems[0].startswith("`x` ")
    assert fragment in problems[0]


def test_unknown_missing_and_repeated_inputs_are_all_reported() -> None:
    """Every mistake is listed at once: unknown, repeated and missing required inputs."""
    values, problems = coerce_inputs(DECLARED, [("colour", "red"), ("count", "1"), ("count", "2")])
    assert values == {}
    assert any(p.startswith("`colour` is not an input") and "`title`" in p for p in problems)
    assert "`count` is given twice" in problems
    assert any(p.startswith("`title` is required") for p in problems)
    assert len(problems) == 3


def test_a_mistyped_input_name_suggests_the_input_meant() -> None:
    """`titel=...` is answered with the input it probably meant."""
    _, problems = coerce_inputs(DECLARED, [("titel", "Ship it")])
    assert problems[0].startswith("`titel` is not an input of this workflow; did you mean 'title'?")


def test_inputs_with_defaults_may_be_left_out() -> None:
    """Only inputs without a default (or marked required) must be given."""
    values, problems = coerce_inputs(DECLARED, [("title", "t")])
    assert (values, problems) == ({"title": "t"}, [])


def test_unreadable_declarations_count_as_text() -> None:
    """A declaration the bot cannot read does not break the command: it is taken as text."""
    declared = declared_inputs({"inputs": {"odd": {"type": 5}, "none": None}})
    assert declared["odd"].type == "string"
    assert declared["none"].is_required
    assert declared_inputs({"inputs": "nonsense"}) == {}
    assert declared_inputs({}) == {}


@given(
    kind=st.sampled_from(["string", "integer", "number", "boolean", "list", "object", "custom"]),
    text=st.text(max_size=200),
)
def test_any_value_gives_a_value_or_a_named_problem(kind: str, text: str) -> None:
    """Whatever is typed, coercion answers with a value or a problem naming the input."""
    values, problems = coerce_inputs({"x": InputDecl(type=kind)}, [("x", text)])
    assert (values == {} and len(problems) == 1 and problems[0].startswith("`x`")) or (
        problems == [] and "x" in values
    )
