"""Expressions: native types, text templates, sandboxing, clear failures."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataworkflows.engine.expressions import (
    ExpressionError,
    compile_condition,
    compile_value,
    evaluate,
)

CONTEXT: dict[str, Any] = {
    "inputs": {"board": "42", "n": 3, "tags": ["a", "b"]},
    "steps": {
        "read": {"output": {"items": [{"g": "x"}, {"g": "y"}, {"g": "x"}]}, "status": "succeeded"}
    },
    "run": {"id": "r1"},
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{{ inputs.tags }}", ["a", "b"]),
        ("{{ inputs.n * 2 }}", 6),
        ("{{ steps.read.output.items | length }}", 3),
        ("{{ steps.read.output.items | selectattr('g', 'eq', 'x') | list | length }}", 2),
        ("Board {{ inputs.board }} has {{ inputs.n }} items", "Board 42 has 3 items"),
        ({"list": ["{{ inputs.n }}", 1], "text": "plain"}, {"list": [3, 1], "text": "plain"}),
        ("no braces at all", "no braces at all"),
        (17, 17),
    ],
)
def test_values_keep_native_types(raw: Any, expected: Any) -> None:
    """A lone expression keeps its type; mixed text renders to a string; literals stay."""
    assert evaluate(compile_value(raw), CONTEXT) == expected


def test_items_means_the_key_not_the_dict_method() -> None:
    """`output.items` reads the key called items, as a user expects."""
    assert evaluate(compile_value("{{ steps.read.output.items[0].g }}"), CONTEXT) == "x"


def test_conditions_take_bare_or_braced_expressions() -> None:
    """`if:` accepts `inputs.n > 2` and `{{ inputs.n > 2 }}` alike."""
    assert evaluate(compile_condition("inputs.n > 2"), CONTEXT) is True
    assert evaluate(compile_condition("{{ inputs.n > 5 }}"), CONTEXT) is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{{ inputs.missing }}", "has no attribute 'missing'"),
        ("{{ inputs.board.nope }}", "has no attribute 'nope'"),
        ("{{ ''.__class__.__mro__ }}", "not allowed"),
        ("{{ inputs.n / 0 }}", "ZeroDivisionError"),
    ],
)
def test_failures_are_expression_errors_naming_the_source(raw: str, message: str) -> None:
    """Undefined names, sandbox violations and errors raise ExpressionError with the source."""
    with pytest.raises(ExpressionError) as caught:
        evaluate(compile_value(raw), CONTEXT)
    assert message in str(caught.value)
    assert raw in str(caught.value)


@pytest.mark.parametrize("raw", ["{{ inputs. }}", "{{ oops( }}", "text {{ unclosed", "{% if %}"])
def test_syntax_errors_are_found_when_compiling(raw: str) -> None:
    """A broken expression is refused at compile time, not at run time."""
    with pytest.raises(ValueError, match="does not compile"):
        compile_value(raw)


def test_references_are_collected() -> None:
    """The steps and inputs an expression reads are known without running it."""
    compiled = compile_value(
        {"a": "{{ steps.read.output }}", "b": "{{ inputs['board'] }} {{ item }}"}
    )
    refs = {(r.root, r.attr) for r in compiled.references}
    assert ("steps", "read") in refs
    assert ("inputs", "board") in refs
    assert ("item", None) in refs


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet="abc xyz", max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text("abc", max_size=4), children, max_size=3)
    ),
    max_leaves=10,
)


@given(_json)
def test_literals_pass_through_unchanged(value: Any) -> None:
    """Values without braces are returned exactly as written."""
    assert evaluate(compile_value(value), CONTEXT) == value


def test_containing_finds_text_ignoring_case_and_never_as_a_pattern() -> None:
    """`containing` selects by plain, case-insensitive text (user text is no regex)."""
    boards = {"boards": [{"name": "Apollo Website — Roadmap"}, {"name": "Borealis (app)"}]}
    context = {"inputs": {**boards, "q": "APOLLO"}, "steps": {}, "run": {}}
    pick = compile_value("{{ inputs.boards | selectattr('name', 'containing', inputs.q) | list }}")
    assert evaluate(pick, context) == [{"name": "Apollo Website — Roadmap"}]
    context["inputs"]["q"] = "(app)"
    assert evaluate(pick, context) == [{"name": "Borealis (app)"}]
    context["inputs"]["q"] = "(a+)+$"
    assert evaluate(pick, context) == []


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("{{ x | uper }}", "No filter named 'uper'; did you mean 'upper'?"),
        ("{{ x is defind }}", "No test named 'defind'; did you mean 'defined'?"),
        ("{{ x | qqq }}", "No filter named 'qqq'."),
    ],
)
def test_a_misspelt_filter_or_test_names_the_one_meant(raw: str, said: str) -> None:
    """A typo in a filter or test is refused when compiling, with the name meant."""
    with pytest.raises(ValueError, match="does not compile") as caught:
        compile_value(raw)
    assert str(caught.value) == f"expression does not compile: {said}"
