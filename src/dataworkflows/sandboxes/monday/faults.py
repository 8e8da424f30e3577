"""The failures the monday sandbox produces on demand.

A test queues a :class:`Fault` (``POST /sandbox/faults``); the sandbox answers the next
``POST /v2`` requests with what :func:`fault_answer` gives: monday's rate-limit and
complexity errors, a server error, a proxy's 502 page, a refused token or user.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse

from dataworkflows.sandboxes.controls import BAD_GATEWAY_HTML
from dataworkflows.sandboxes.monday.answers import (
    RATE_LIMITS,
    Answer,
    GraphQLRequest,
    error_body,
    rate_limited,
    unauthenticated,
)

__all__ = ["Fault", "FaultKind", "fault_answer"]

FaultKind = Literal[
    "complexity_budget",
    "legacy_complexity",
    "ip_rate_limit",
    "minute_limit",
    "concurrency_limit",
    "daily_limit",
    "server_error",
    "bad_gateway",
    "slow",
    "unauthorized",
    "user_unauthorized",
]
"""The failures the sandbox can produce on demand."""


class Fault(msgspec.Struct, frozen=True):
    """A failure for the next ``times`` ``POST /v2`` requests.

    ``retry_in_seconds`` is what rate-limit errors tell the client to wait (the daily
    limit ignores it and counts to midnight UTC); ``delay_s`` is how long ``slow``
    waits before answering normally.
    """

    kind: FaultKind
    times: Annotated[int, msgspec.Meta(ge=1)] = 1
    retry_in_seconds: Annotated[int, msgspec.Meta(ge=0)] = 2
    delay_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0


def _seconds_to_midnight_utc(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))


def _root_field(query: str, operation_name: str | None) -> FieldNode | None:
    """The first root field of the operation to run, to name it in an error's ``path``."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name is not None and (
            definition.name is None or definition.name.value != operation_name
        ):
            continue
        for selection in definition.selection_set.selections:
            if isinstance(selection, FieldNode):
                return selection
    return None


def fault_answer(fault: Fault, request: GraphQLRequest | None, now: datetime) -> Answer:
    retry = fault.retry_in_seconds
    match fault.kind:
        case "legacy_complexity":
            body = {
                "error_code": "ComplexityException",
                "status_code": 429,
                "error_message": f"Complexity budget exhausted, budget resets in {retry} seconds",
                "error_data": {},
            }
            return Answer(429, body, {"Retry-After": str(retry)})
        case "daily_limit":
            message, code = RATE_LIMITS["daily_limit"]
            return rate_limited(message, code, _seconds_to_midnight_utc(now))
        case "server_error":
            error = error_body("Internal server error", "INTERNAL_SERVER_ERROR")
            return Answer(500, {"errors": [error]})
        case "bad_gateway":
            return Answer(502, BAD_GATEWAY_HTML)
        case "unauthorized":
            return unauthenticated()
        case "user_unauthorized":
            error = error_body(
                "User unauthorized to perform action",
                "UserUnauthorizedException",
                error_data={},
                status_code=403,
            )
            node = _root_field(request.query, request.operationName) if request else None
            if node is not None:
                error["path"] = [(node.alias or node.name).value]
                if node.loc is not None:
                    token = node.loc.start_token
                    error["locations"] = [{"line": token.line, "column": token.column}]
            return Answer(200, {"errors": [error]})
        case "slow":  # pragma: no cover  (slow answers normally; handled by the caller)
            raise AssertionError("a slow fault is not an answer")
    message, code = RATE_LIMITS[fault.kind]
    return rate_limited(message, code, retry)
