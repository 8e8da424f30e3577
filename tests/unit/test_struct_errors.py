"""A refused value names what is accepted instead, through every shape of type."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
import pytest

from dataworkflows.runtime.struct_errors import field_problem

Digits = Annotated[str, msgspec.Meta(pattern=r"^\d+$", description="A board id (digits)")]


class Policy(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    attempts: int = 1
    backoff: Literal["fixed", "exponential"] = "fixed"


class Request(msgspec.Struct, forbid_unknown_fields=True):
    board_id: Digits
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "ABC"
    policy: Annotated[Policy, msgspec.Meta(description="How to retry")] | None = None
    items: list[Policy] = msgspec.field(default_factory=list)
    named: dict[str, Policy] = msgspec.field(default_factory=dict)


def problem(value: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(value, Request)
    return field_problem(caught.value, Request)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"board_id": "1", "polcy": {}},
            (
                "polcy",
                "is not a known field; did you mean 'policy'? "
                "(known fields: board_id, code, policy, items, named)",
            ),
        ),
        (
            {"board_id": "1", "policy": {"attempt": 2}},
            (
                "policy.attempt",
                "is not a known field; did you mean 'attempts'? (known fields: attempts, backoff)",
            ),
        ),
        (
            {"board_id": "1", "items": [{}, {"backof": "fixed"}]},
            (
                "items[1].backof",
                "is not a known field; did you mean 'backoff'? (known fields: attempts, backoff)",
            ),
        ),
        (
            {"board_id": "1", "named": {"a": {"backoff": "linear"}}},
            ("named[...].backoff", "must be one of 'exponential', 'fixed'; got 'linear'"),
        ),
        ({"board_id": "x1"}, ("board_id", r"must be a board id (digits), matching ^\d+$")),
        ({"board_id": "1", "code": "ab"}, ("code", "Expected `str` matching regex '^[A-Z]{3}$'")),
        ({"board_id": "1", "items": 3}, ("items", "Expected `array`, got `int`")),
    ],
)
def test_a_refused_value_says_what_is_accepted(
    value: dict[str, Any], expected: tuple[str, str]
) -> None:
    """Unknown fields get the nearest known one and the list, through Optional,
    Annotated, lists and mappings; closed sets list their values; a pattern with a
    description says what the value is; other messages are msgspec's own."""
    assert problem(value) == expected
