"""Structured step conditions: all / any / not, nested, mean what they say."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataworkflows.engine.conditions import (
    MAX_CONDITION_DEPTH,
    MAX_CONDITION_TERMS,
    ConditionError,
    condition_source,
)
from dataworkflows.engine.expressions import compile_condition, evaluate

NAMES = ("a", "b", "c", "d")


def holds(condition: Any, values: dict[str, bool]) -> bool:
    compiled = compile_condition(condition_source(condition))
    return bool(evaluate(compiled, {"inputs": values}))


def truth(condition: Any, values: dict[str, bool]) -> bool:
    """The meaning of a structured condition, computed directly."""
    if isinstance(condition, bool):
        return condition
    if isinstance(condition, str):
        return values[
            condition.removeprefix("{{ inputs.").removesuffix(" }}").removeprefix("inputs.")
        ]
    ((operator, operand),) = condition.items()
    if operator == "not":
        return not truth(operand, values)
    results = [truth(item, values) for item in operand]
    return all(results) if operator == "all" else any(results)


leaves = st.one_of(
    st.sampled_from([f"inputs.{n}" for n in NAMES] + [f"{{{{ inputs.{n} }}}}" for n in NAMES]),
    st.booleans(),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda c: {"not": c}, inner),
        st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=3)),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    condition=conditions.filter(lambda c: isinstance(c, dict)),
    values=st.fixed_dictionaries({n: st.booleans() for n in NAMES}),
)
def test_a_structured_condition_evaluates_to_its_logic(
    condition: dict[str, Any], values: dict[str, bool]
) -> None:
    """Any nesting of all / any / not over expressions gives the boolean it stands for."""
    try:
        source = condition_source(condition)
    except ConditionError:
        return  # deeper than the limit: refused, tested below
    assert holds(condition, values) == truth(condition, values), source


def test_plain_expressions_pass_through_unchanged() -> None:
    """A string or boolean `if:` is compiled as before."""
    assert condition_source("{{ inputs.a }}") == "{{ inputs.a }}"
    assert condition_source(False) is False


@pytest.mark.parametrize(
    ("condition", "path", "message"),
    [
        ({"all": []}, ".all", "non-empty list"),
        ({"any": "inputs.a"}, ".any", "non-empty list"),
        ({"all": ["inputs.a"], "any": ["inputs.b"]}, "", "exactly one of"),
        ({"xor": ["inputs.a"]}, "", "exactly one of"),
        ({"any": ["inputs.a", {"not": 3}]}, ".any[1].not", "must be an expression"),
        ({"not": "  "}, ".not", "empty expression"),
        ({"not": "{% if x %}y{% endif %}"}, ".not", "one expression"),
    ],
)
def test_malformed_conditions_name_the_part(condition: Any, path: str, message: str) -> None:
    """A malformed condition is refused naming where it is, under the step's `if`."""
    with pytest.raises(ConditionError) as error:
        condition_source(condition)
    assert error.value.path == path
    assert message in str(error.value)


def test_conditions_are_bounded() -> None:
    """Nesting and size have limits: untrusted definitions cannot grow them unbounded."""
    deep: Any = "inputs.a"
    for _ in range(MAX_CONDITION_DEPTH + 1):
        deep = {"not": deep}
    with pytest.raises(ConditionError, match="nests deeper"):
        condition_source(deep)
    wide = {"any": ["inputs.a"] * (MAX_CONDITION_TERMS + 1)}
    with pytest.raises(ConditionError, match="more than"):
        condition_source(wide)
