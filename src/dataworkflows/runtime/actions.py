"""Declaring a connector's actions once, for its catalog, its validation and its calls.

A connector builds one :class:`ActionSet` and registers async handlers on it; each
handler's annotations give the input and output types (msgspec structs, or
``dict[str, Any]``), from which the catalog's JSON Schemas are generated and against
which every call's input is checked. The same set is served over HTTP (the internal
connector API) or called in-process by the engine in ``dev``.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec
from prometheus_client import Counter

from dataworkflows.contracts import (
    ActionCatalog,
    ActionContext,
    ActionDescriptor,
    ActionFailed,
    ActionRequest,
    Effect,
    UpstreamError,
)
from dataworkflows.runtime.metrics import CONNECTOR_CALLS, Children
from dataworkflows.runtime.struct_errors import field_problem

__all__ = ["Action", "ActionCall", "ActionSet"]

In = TypeVar("In")
Out = TypeVar("Out")

_CALLS: Children[Counter] = Children(CONNECTOR_CALLS)


@dataclass(frozen=True, slots=True)
class ActionCall:
    """What a handler knows about the call besides its input."""

    idempotency_key: str | None = None
    """Stable per (run, step, iteration): pass upstream or dedupe on it (write actions)."""
    context: ActionContext | None = None

    @property
    def attempt(self) -> int:
        """The engine's attempt number of this step (1 outside a workflow)."""
        return self.context.attempt if self.context is not None else 1

    @property
    def run_uuid(self) -> UUID | None:
        """The run this call is a step of; None outside a workflow (or for a run id
        that is not a UUID, from a caller other than the engine)."""
        if self.context is None:
            return None
        try:
            return UUID(self.context.run_id)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Action(Generic[In, Out]):
    """One action: its name, meaning, types and handler."""

    name: str
    description: str
    effect: Effect
    input_type: type[In]
    output_type: type[Out]
    handler: Callable[[In, ActionCall], Awaitable[Out]]


def _schema(tp: Any) -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.schema(tp)
    return schema


class ActionSet:
    """The actions of connector ``connector``."""

    def __init__(self, connector: str, *, description: str = "") -> None:
        self.connector = connector
        self.description = description
        self._actions: dict[str, Action[Any, Any]] = {}

    def action(
        self, name: str, *, effect: Effect, description: str
    ) -> Callable[
        [Callable[[In, ActionCall], Awaitable[Out]]], Callable[[In, ActionCall], Awaitable[Out]]
    ]:
        """Register the decorated ``async def handler(input, call) -> output``."""

        def register(
            handler: Callable[[In, ActionCall], Awaitable[Out]],
        ) -> Callable[[In, ActionCall], Awaitable[Out]]:
            if name in self._actions:
                raise ValueError(f"action {self.connector}.{name} is registered twice")
            hints = typing.get_type_hints(handler)
            parameters = [k for k in hints if k != "return"]
            self._actions[name] = Action(
                name=name,
                description=description,
                effect=effect,
                input_type=hints[parameters[0]],
                output_type=hints["return"],
                handler=handler,
            )
            return handler

        return register

    def names(self) -> list[str]:
        """The short names of the actions, in registration order."""
        return list(self._actions)

    def knows(self, action: str) -> bool:
        """Whether ``action`` (short or qualified name) is one of these."""
        return action.removeprefix(f"{self.connector}.") in self._actions

    def catalog(self) -> ActionCatalog:
        """The catalog served at ``GET /v1/actions``."""
        return ActionCatalog(
            connector=self.connector,
            actions=[
                ActionDescriptor(
                    name=f"{self.connector}.{a.name}",
                    description=a.description,
                    effect=a.effect,
                    input_schema=_schema(a.input_type),
                    output_schema=_schema(a.output_type),
                )
                for a in self._actions.values()
            ],
        )

    async def invoke(self, action: str, request: ActionRequest) -> dict[str, Any]:
        """Run ``action`` (short or qualified name) with the request's input.

        Raises :class:`ActionFailed`: ``not_found`` for an unknown action,
        ``invalid_input`` (naming the field) for input of the wrong shape, or whatever
        the handler raises (an :class:`UpstreamError` as its typed error).
        """
        short = action.removeprefix(f"{self.connector}.")
        spec = self._actions.get(short)
        if spec is None:
            raise ActionFailed.of(
                "not_found",
                f"{self.connector} has no action {short!r}; it has: {', '.join(self._actions)}",
            )
        outcome = "ok"
        try:
            try:
                value = msgspec.convert(request.input, spec.input_type)
            except msgspec.ValidationError as exc:
                raise ActionFailed.of(
                    "invalid_input", _input_message(exc, spec.input_type)
                ) from None
            try:
                result = await spec.handler(
                    value,
                    ActionCall(idempotency_key=request.idempotency_key, context=request.context),
                )
            except UpstreamError as exc:
                # The one place a vendor's error becomes the connector API's.
                raise exc.action_failed() from None
        except ActionFailed as failed:
            outcome = failed.error.code
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except BaseException:
            outcome = "exception"
            raise
        finally:
            _CALLS.of(self.connector, short, outcome).inc()
        output = msgspec.to_builtins(result)
        if not isinstance(output, dict):
            raise TypeError(
                f"{self.connector}.{short} returned {type(output).__name__}, not an object"
            )
        return output


def _input_message(exc: msgspec.ValidationError, input_type: Any) -> str:
    # msgspec: "Object contains unknown field `limt` - at `$`"
    #      ->  "limt: is not a known field; did you mean 'limit'? (known fields: ...)"
    path, message = field_problem(exc, input_type)
    return f"{path}: {message}" if path else message
