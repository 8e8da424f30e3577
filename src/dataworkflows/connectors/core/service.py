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

    return core
