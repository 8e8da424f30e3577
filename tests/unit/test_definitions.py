"""The definition format: shapes, durations, and problems reported with their paths."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataworkflows.engine.definitions import (
    DefinitionError,
    RetryPolicy,
    canonical_checksum,
    parse_definition,
    parse_duration,
)


def problems(source: str) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source)
    return {p.field: p.message for p in caught.value.problems}


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (0.5, 0.5),
        (2, 2.0),
        ("500ms", 0.5),
        ("2s", 2.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("2d", 172800.0),
        ("1.5s", 1.5),
        (" 3 ", 3.0),
    ],
)
def test_durations_accept_seconds_and_units(raw: float | str, seconds: float) -> None:
    """Durations are numbers of seconds or strings with ms, s, m or h."""
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize(
    "raw",
    ["soon", "5 minutes", "-1s", "1w", "31d", "", True, float("inf"), float("nan"), 99_999_999_999],
)
def test_bad_durations_are_refused(raw: object) -> None:
    """Anything else is refused with a message showing the accepted forms."""
    with pytest.raises(ValueError, match=r"must|negative|30 days"):
        parse_duration(raw)  # type: ignore[arg-type]


def test_a_full_definition_parses_into_typed_fields() -> None:
    """Every documented field is parsed, with durations in seconds."""
    definition = parse_definition(
        """
name: full
description: All fields.
timeout: 10m
inputs:
  board: {type: string, description: The board}
  limit: {type: integer, default: 10}
  flags: {type: object, required: false}
steps:
  - id: read
    uses: monday.list_items
    with: {board_id: "{{ inputs.board }}"}
    if: "{{ inputs.limit > 0 }}"
    retry: {attempts: 5, initial_delay: 250ms, max_delay: 10s, jitter: 0}
    timeout: 30s
    on_error: continue
  - id: each
    uses: core.echo
    foreach: "{{ steps.read.output.items }}"
    concurrency: 8
output: {count: "{{ steps.read.output.items | length }}"}
"""
    )
    assert definition.timeout_seconds == 600.0
    assert definition.inputs["board"].is_required
    assert not definition.inputs["limit"].is_required
    assert not definition.inputs["flags"].is_required
    read, each = definition.steps
    assert read.retry == RetryPolicy(attempts=5, initial_delay=0.25, max_delay=10.0, jitter=0.0)
    assert read.timeout == 30.0
    assert read.on_error == "continue"
    assert read.if_ == "{{ inputs.limit > 0 }}"
    assert each.concurrency == 8
    assert each.retry == RetryPolicy()


def test_every_shape_problem_is_reported_with_its_path() -> None:
    """Bad inputs and bad steps are all reported, each with its own path."""
    found = problems(
        """
name: Not Valid
inputs:
  a: {type: text}
  b: {type: integer, default: "x"}
steps:
  - {id: 1st, uses: nodot}
  - {id: ok, uses: core.echo, wiht: {}}
  - {id: r, uses: core.echo, retry: {attempts: 0}}
  - {id: t, uses: core.echo, timeout: never, concurrency: 0}
"""
    )
    assert set(found) == {
        "name",
        "inputs.a.type",
        "inputs.b",
        "steps[0]",
        "steps[1].wiht",
        "steps[2].retry",
        "steps[3]",
    }
    assert "id '1st'" in found["steps[0]"]
    assert "uses 'nodot' must be <connector>.<action>" in found["steps[0]"]
    assert found["steps[1].wiht"].startswith("is not a known field; did you mean 'with'?")
    assert found["inputs.b"] == "default must be an integer, got string"
    assert "concurrency" in found["steps[3]"]
    assert "timeout" in found["steps[3]"]


def test_a_mistyped_field_or_value_is_answered_with_what_is_accepted() -> None:
    """A typo in a field's name suggests the field meant and lists the known ones; a
    value outside a closed set lists the set, at every depth of the definition."""
    found = problems(
        """
name: typos
stpes: []
inputs:
  a: {type: text, defualt: x}
steps:
  - {id: one, uses: core.echo, wiht: {}}
  - {id: two, uses: core.echo, retry: {attempt: 3}}
  - {id: three, uses: core.echo, on_error: ignore}
"""
    )
    assert found == {
        "stpes": "is not a known field; did you mean 'steps'? "
        "(known fields: name, description, inputs, steps, output, timeout)",
    }
    found = problems(
        """
name: typos
inputs:
  a: {type: text}
  b: {type: string, defualt: x}
steps:
  - {id: one, uses: core.echo, wiht: {}}
  - {id: two, uses: core.echo, retry: {attempt: 3}}
  - {id: three, uses: core.echo, on_error: ignore}
  - {id: four, uses: core.echo, when: "{{ true }}"}
"""
    )
    step_fields = "id, uses, description, with, if, foreach, concurrency, retry, timeout, on_error"
    assert found == {
        "inputs.a.type": "must be one of 'boolean', 'integer', 'list', 'number', 'object', "
        "'string'; got 'text'",
        "inputs.b.defualt": "is not a known field; did you mean 'default'? "
        "(known fields: type, description, required, default)",
        "steps[0].wiht": "is not a known field; did you mean 'with'? "
        f"(known fields: {step_fields}, needs)",
        "steps[1].retry.attempt": "is not a known field; did you mean 'attempts'? "
        "(known fields: attempts, initial_delay, max_delay, jitter)",
        "steps[2].on_error": "must be one of 'continue', 'fail'; got 'ignore'",
        "steps[3].when": f"is not a known field (known fields: {step_fields}, needs)",
    }


def test_yaml_errors_give_line_and_column() -> None:
    """Malformed YAML and repeated keys are reported at their line."""
    assert list(problems("name: x\nsteps:\n  - id: a\n   uses: b\n")) == ["line 4, column 4"]
    assert problems("name: x\nname: y\nsteps: []\n") == {
        "line 2, column 1": "invalid YAML: key 'name' appears twice in one mapping"
    }


def test_a_workflow_needs_steps_and_a_mapping() -> None:
    """No steps, or a document that is not a mapping, is refused."""
    assert problems("name: empty\n") == {"steps": "a workflow needs at least one step"}
    assert problems("- a\n- b\n") == {"(definition)": "must be a mapping with name and steps"}


def test_a_name_ending_in_a_newline_is_refused() -> None:
    """A workflow name is checked whole: one with a trailing newline is refused."""
    assert "name" in problems('name: "flow\\n"\nsteps: [{id: a, uses: core.echo}]\n')


def test_checksum_ignores_formatting_but_not_meaning() -> None:
    """Comments and layout do not change the checksum; a changed value does."""
    a = parse_definition("name: c\nsteps: [{id: s, uses: core.echo, with: {x: 1}}]\n")
    b = parse_definition(
        "# note\nname: c\nsteps:\n  - id: s\n    uses: core.echo\n    with:\n      x: 1\n"
    )
    c = parse_definition("name: c\nsteps: [{id: s, uses: core.echo, with: {x: 2}}]\n")
    assert canonical_checksum(a) == canonical_checksum(b)
    assert canonical_checksum(a) != canonical_checksum(c)


def test_retry_delays_grow_cap_and_respect_retry_after() -> None:
    """Backoff doubles from initial_delay up to max_delay, plus jitter, at least retry_after."""
    policy = RetryPolicy(attempts=6, initial_delay=0.5, max_delay=3.0, jitter=1.0)
    delays = [policy.delay(n, jitter_fraction=0.0, retry_after_s=None) for n in range(1, 6)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(1, jitter_fraction=0.5, retry_after_s=None) == 1.0
    assert policy.delay(1, jitter_fraction=0.0, retry_after_s=7.0) == 7.0
    assert policy.delay(1, jitter_fraction=0.0, retry_after_s=86_400.0) == 3600.0


@given(
    attempts=st.integers(1, 100),
    initial=st.floats(0, 60),
    extra=st.floats(0, 600),
    jitter=st.floats(0, 10),
    retry=st.integers(1, 100),
    fraction=st.floats(0, 1),
    retry_after=st.none() | st.floats(0, 3600),
)
def test_retry_delay_is_always_within_bounds(
    attempts: int,
    initial: float,
    extra: float,
    jitter: float,
    retry: int,
    fraction: float,
    retry_after: float | None,
) -> None:
    """Any policy's delay lies between its backoff floor and max_delay + jitter (or retry_after)."""
    policy = RetryPolicy(
        attempts=attempts, initial_delay=initial, max_delay=initial + extra, jitter=jitter
    )
    delay = policy.delay(retry, jitter_fraction=fraction, retry_after_s=retry_after)
    assert delay >= min(initial, 3600.0)
    assert delay <= min(max(initial + extra + jitter, retry_after or 0.0), 3600.0) + 1e-9
    if retry_after is not None:
        assert delay >= min(retry_after, 3600.0)


def test_a_huge_mistyped_key_is_echoed_short() -> None:
    """A caller's unknown field name of 10,000 characters comes back cut to 80."""
    document = {"name": "x", "steps": [{"id": "a", "uses": "core.echo", "k" * 10_000: 1}]}
    with pytest.raises(DefinitionError) as caught:
        parse_definition(document)
    assert [p.field for p in caught.value.problems] == ["steps[0]." + "k" * 80 + "..."]
