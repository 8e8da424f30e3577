"""``core.echo``, ``core.sleep`` and ``core.fail``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec

from dataworkflows.contracts import ActionFailed, ErrorCode
from dataworkflows.runtime.actions import ActionCall, ActionSet

__all__ = ["core_actions"]


class SleepInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How long to wait."""

    seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 0.0


class SleepOutput(msgspec.Struct, kw_only=True):
    """How long was waited."""

    slept: float


class FailInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The failure to produce."""

    code: ErrorCode = "upstream_error"
    message: str = "failed on purpose"
    retryable: bool = True
    retry_after_s: float | None = None
    times: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """Fail only the first ``times`` attempts of the step, then succeed (None: always)."""


class FailOutput(msgspec.Struct, kw_only=True):
    """The attempt that finally succeeded."""

    attempt: int


class TallyInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Objects to count, and the fields to count them by."""

    items: list[Any]
    by: dict[str, str] = msgspec.field(default_factory=dict)
    """Name -> dotted path into each item (``group.title``, ``columns.status.text``)."""


class TallyOutput(msgspec.Struct, kw_only=True):
    """How many items there are, and per value of each field."""

    total: int
    counts: dict[str, dict[str, int]]


NONE_LABEL = "(none)"
"""What an item without a value for a field is counted under."""


def _path_value(item: Any, path: str) -> str:
    value = item
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return NONE_LABEL
        value = value[key]
    return NONE_LABEL if value is None or value == "" else str(value)


def core_actions() -> ActionSet:
    """A fresh set of the core actions."""
    core = ActionSet("core", description="Built-in actions with no external system.")

    @core.action("echo", effect="read", description="Returns its input object unchanged.")
    async def echo(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
        return data

    @core.action("sleep", effect="read", description="Waits `seconds`, then answers.")
    async def sleep(data: SleepInput, call: ActionCall) -> SleepOutput:
        await asyncio.sleep(data.seconds)
        return SleepOutput(slept=data.seconds)

    @core.action(
        "fail",
        effect="read",
        description="Fails with the given error code; with `times`, only the first "
        "`times` attempts of the step fail and the next one succeeds.",
    )
    async def fail(data: FailInput, call: ActionCall) -> FailOutput:
        if data.times is None or call.attempt <= data.times:
            raise ActionFailed.of(
                data.code,
                data.message,
                retryable=data.retryable,
                retry_after_s=data.retry_after_s,
            )
        return FailOutput(attempt=call.attempt)

    @core.action(
        "tally",
        effect="read",
        description="Counts `items`, in total and per value of each field in `by` "
        "(name -> dotted path); missing or empty values count as (none).",
    )
    async def tally(data: TallyInput, call: ActionCall) -> TallyOutput:
        counts: dict[str, dict[str, int]] = {name: {} for name in data.by}
        for item in data.items:
            for name, path in data.by.items():
                key = _path_value(item, path)
                counts[name][key] = counts[name].get(key, 0) + 1
        return TallyOutput(total=len(data.items), counts=counts)

    return core
