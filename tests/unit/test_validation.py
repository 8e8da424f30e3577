"""Checking definitions against connector catalogs, and a run's inputs against a definition."""

from __future__ import annotations

from typing import Any

import pytest

from dataworkflows.connectors.core import core_actions
from dataworkflows.engine.definitions import DefinitionError, parse_definition
from dataworkflows.engine.service import validate_inputs
from dataworkflows.engine.validation import compile_workflow

CATALOG = {a.name: a for a in core_actions().catalog().actions}


def problems(source: str) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        compile_workflow(parse_definition(source), catalog=CATALOG)
    return {p.field: p.message for p in caught.value.problems}


def test_a_valid_workflow_compiles() -> None:
    """A correct definition compiles with its steps in order."""
    compiled = compile_workflow(
        parse_definition(
            """
name: ok
inputs: {n: {type: integer}}
steps:
  - {id: a, uses: core.sleep, with: {seconds: 0}}
  - {id: b, uses: core.echo, foreach: "{{ [1, 2] }}", with: {x: "{{ item + inputs.n }}"}}
output: "{{ steps.b.output }}"
"""
        ),
        catalog=CATALOG,
    )
    assert [s.id for s in compiled.steps] == ["a", "b"]
    assert compiled.steps[1].foreach is not None


def test_unknown_connector_and_action_name_the_alternatives() -> None:
    """Unknown actions list what the connector offers; unknown connectors list the known ones."""
    found = problems("name: x\nsteps: [{id: a, uses: core.nap}, {id: b, uses: jira.create}]\n")
    assert found == {
        "steps[0].uses": "unknown action 'core.nap'; core offers: echo, fail, sleep, tally",
        "steps[1].uses": "unknown connector 'jira'; known: core",
    }


def test_literal_inputs_are_checked_against_the_action_schema() -> None:
    """Wrong literal types, unknown fields and missing required fields are reported."""
    found = problems(
        """
name: x
steps:
  - {id: a, uses: core.sleep, with: {seconds: soon, snooze: 1}}
  - {id: b, uses: core.fail, with: {code: teapot}}
  - {id: c, uses: core.sleep, with: {seconds: "{{ 1 + 1 }}"}}
  - {id: d, uses: core.sleep, with: {secnds: 1}}
"""
    )
    assert found == {
        "steps[0].with.seconds": "'soon' is not of type 'number'",
        "steps[0].with.snooze": "is not an input of core.sleep",
        "steps[1].with.code": found["steps[1].with.code"],
        "steps[3].with.secnds": "is not an input of core.sleep; did you mean 'seconds'?",
    }
    assert "'teapot' is not one of" in found["steps[1].with.code"]


def test_references_to_unknown_later_or_own_steps_are_refused() -> None:
    """Expressions may only read earlier steps, declared inputs and known names."""
    found = problems(
        """
name: x
steps:
  - {id: a, uses: core.echo, with: {p: "{{ steps.b.output }}", q: "{{ steps.zz.output }}"}}
  - {id: b, uses: core.echo, if: "{{ steps.b.status }}", with: {r: "{{ inputs.nope }}", s: "{{ item }}", t: "{{ whatever }}"}}
output: "{{ steps.b.output }}"
"""
    )
    assert found == {
        "steps[0].with.p": "refers to step 'b', which runs later",
        "steps[0].with.q": "refers to unknown step 'zz'",
        "steps[1].with.r": "refers to undeclared input 'nope'",
        "steps[1].with.s": "unknown name 'item' (item and index exist only in the with of a foreach step)",
        "steps[1].with.t": "unknown name 'whatever'; use inputs, steps or run",
        "steps[1].if": "refers to its own step 'b'",
    }


def test_needs_builds_a_graph_in_which_independent_steps_wait_for_nothing() -> None:
    """`needs` lists what a step waits for; unset means the step before; [] means nothing."""
    compiled = compile_workflow(
        parse_definition(
            """
name: graph
steps:
  - {id: a, uses: core.echo, needs: []}
  - {id: b, uses: core.echo, needs: []}
  - {id: c, uses: core.echo, needs: [a, b], with: {x: "{{ steps.a.output }}", y: "{{ steps.b.output }}"}}
  - {id: d, uses: core.echo, with: {z: "{{ steps.a.output }}"}}
"""
        ),
        catalog=CATALOG,
    )
    assert compiled.concurrent
    assert {s.id: s.needs for s in compiled.steps} == {
        "a": (),
        "b": (),
        "c": ("a", "b"),
        "d": ("c",),
    }
    plain = compile_workflow(
        parse_definition("name: p\nsteps: [{id: a, uses: core.echo}, {id: b, uses: core.echo}]\n"),
        catalog=CATALOG,
    )
    assert not plain.concurrent
    assert [s.needs for s in plain.steps] == [(), ("a",)]


def test_bad_needs_and_cycles_are_refused_at_registration() -> None:
    """Unknown, self and repeated needs, cycles, and reading a step not waited for are refused."""
    found = problems(
        """
name: x
steps:
  - {id: a, uses: core.echo, needs: [a, ghost]}
  - {id: b, uses: core.echo, needs: [c]}
  - {id: c, uses: core.echo, needs: [b, b]}
"""
    )
    assert found["steps[0].needs[0]"] == "a step cannot need itself ('a')"
    assert found["steps[0].needs[1]"] == "unknown step 'ghost'"
    assert found["steps[2].needs[1]"] == "'b' is listed twice"
    assert found["steps[1].needs"] == "steps wait for each other: b -> c -> b"
    found = problems(
        """
name: y
steps:
  - {id: a, uses: core.echo, needs: []}
  - {id: b, uses: core.echo, needs: [], with: {p: "{{ steps.a.output }}"}}
"""
    )
    assert found == {
        "steps[1].with.p": "refers to step 'a', which it does not wait for (add it to needs)"
    }


def test_duplicate_ids_and_bad_expressions_are_refused() -> None:
    """A repeated id and an expression that does not compile are both reported."""
    found = problems(
        "name: x\nsteps:\n  - {id: a, uses: core.echo}\n  - {id: a, uses: core.echo, with: {x: '{{ (( }}'}}\n"
    )
    assert found["steps[1].id"] == "duplicate id 'a' (also steps[0])"
    assert found["steps[1].with.x"].startswith("expression does not compile")


def test_literal_foreach_must_be_a_list() -> None:
    """foreach given a literal that is neither a list nor an expression is refused."""
    with pytest.raises(DefinitionError) as caught:
        parse_definition("name: x\nsteps: [{id: a, uses: core.echo, foreach: true}]\n")
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("steps[0].foreach", "Expected `str | array | null`, got `bool`")
    ]


DEFINITION = parse_definition(
    """
name: inputs-demo
inputs:
  board: {type: string}
  limit: {type: integer, default: 10}
  ratio: {type: number, required: false}
  tags: {type: list, default: []}
steps: [{id: a, uses: core.echo}]
"""
)


def test_inputs_get_defaults_and_keep_given_values() -> None:
    """Given inputs are kept; missing ones get their default or None when optional."""
    assert validate_inputs(DEFINITION, {"board": "b", "ratio": 2}) == {
        "board": "b",
        "limit": 10,
        "ratio": 2,
        "tags": [],
    }


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({}, {"inputs.board": "is required"}),
        ({"board": 1}, {"inputs.board": "must be a string, got integer"}),
        ({"board": "b", "limit": True}, {"inputs.limit": "must be an integer, got boolean"}),
        ({"board": "b", "ratio": "high"}, {"inputs.ratio": "must be a number, got string"}),
        (
            {"board": "b", "colour": "red"},
            {
                "inputs.colour": "is not an input of inputs-demo (declared: board, limit, ratio, tags)"
            },
        ),
        (
            {"board": "b", "limt": 3},
            {
                "inputs.limt": "is not an input of inputs-demo; did you mean 'limit'? "
                "(declared: board, limit, ratio, tags)"
            },
        ),
    ],
)
def test_bad_inputs_are_named(inputs: dict[str, Any], expected: dict[str, str]) -> None:
    """Each missing, mistyped or unknown input is reported by name."""
    with pytest.raises(DefinitionError) as caught:
        validate_inputs(DEFINITION, inputs)
    assert {p.field: p.message for p in caught.value.problems} == expected
