"""What ``POST /v2`` answers: monday's error shapes, the execution of a GraphQL
request against the schema, and the rendering of an answer with monday's headers.

Application errors are HTTP 200 with ``extensions.code``; parse and validation errors
have no ``data`` (``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED``, and
``BAD_USER_INPUT`` for variables that do not fit their types); a query costing more than
the minute's complexity budget has left is ``COMPLEXITY_BUDGET_EXHAUSTED`` (HTTP 429,
see :mod:`.complexity`); every JSON body carries
``extensions.request_id`` and every answer ``RateLimit-Policy``/``RateLimit`` headers.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, Final

import msgspec
from graphql import ExecutionResult, GraphQLError, GraphQLSchema, parse, validate
from graphql import execute as graphql_execute
from litestar import Response

from dataworkflows.runtime.credentials import bearer_token
from dataworkflows.runtime.logging import get_logger
from dataworkflows.sandboxes.monday.complexity import estimate_complexity
from dataworkflows.sandboxes.monday.unmodelled import answer_unmodelled, strip_unmodelled

if TYPE_CHECKING:
    from dataworkflows.sandboxes.monday.app import MondaySandbox

__all__ = [
    "RATE_LIMITS",
    "Answer",
    "GraphQLRequest",
    "authorised",
    "decode_request",
    "error_body",
    "execute",
    "rate_limited",
    "render",
    "unauthenticated",
]

_log = get_logger(__name__)

RATE_LIMITS: Final[Mapping[str, tuple[str, str]]] = {
    "complexity_budget": ("Complexity budget exhausted", "COMPLEXITY_BUDGET_EXHAUSTED"),
    "ip_rate_limit": ("IP rate limit exceeded", "IP_RATE_LIMIT_EXCEEDED"),
    "minute_limit": ("Minute limit rate exceeded", "RATE_LIMIT_EXCEEDED"),
    "concurrency_limit": ("Concurrency limit exceeded", "CONCURRENCY_LIMIT_EXCEEDED"),
    "daily_limit": (
        "Daily limit exceeded; the limit resets at midnight UTC",
        "DAILY_LIMIT_EXCEEDED",
    ),
}


@dataclass(slots=True)
class Answer:
    """What ``POST /v2`` answers: a JSON document (or an HTML page) and headers."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)


class GraphQLRequest(msgspec.Struct):
    query: str
    variables: dict[str, Any] | None = None
    operationName: str | None = None  # noqa: N815  (the GraphQL-over-HTTP member name)


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}


def unauthenticated() -> Answer:
    error = error_body("Not Authenticated", "UNAUTHENTICATED", status_code=401)
    return Answer(401, {"errors": [error]})


def rate_limited(message: str, code: str, retry_in_seconds: int) -> Answer:
    error = error_body(message, code, retry_in_seconds=retry_in_seconds)
    return Answer(429, {"errors": [error]}, {"Retry-After": str(retry_in_seconds)})


async def execute(sandbox: MondaySandbox, schema: GraphQLSchema, request: GraphQLRequest) -> Answer:
    try:
        document = parse(request.query)
    except GraphQLError as exc:
        return Answer(200, {"errors": [_formatted(exc, "GRAPHQL_PARSE_FAILED")]})
    # monday's fields the sandbox does not model are answered as fields the account may
    # not use (null, and an error at their path), not refused as unknown.
    document, unmodelled = strip_unmodelled(schema, document)
    problems = validate(schema, document)
    if problems:
        errors = [_formatted(e, "GRAPHQL_VALIDATION_FAILED") for e in problems]
        return Answer(200, {"errors": errors})
    now = sandbox.clock()
    cost = estimate_complexity(document, request.operationName, request.variables)
    reading = sandbox.complexity.charge(cost, now)
    if reading is None:
        message, code = RATE_LIMITS["complexity_budget"]
        return rate_limited(message, code, sandbox.complexity.reset_in(now))
    sandbox.complexity_reading = reading
    # Mostly synchronous; create_webhook awaits the URL's answer to its challenge.
    result = graphql_execute(
        schema,
        document,
        context_value=sandbox,
        variable_values=request.variables,
        operation_name=request.operationName,
    )
    if isawaitable(result):
        result = await result
    body = _result_body(result)
    if unmodelled and "data" in body:
        errors = answer_unmodelled(body["data"], unmodelled)
        if errors:
            body["errors"] = [*body.get("errors", []), *errors]
    return Answer(200, body)


def _result_body(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [_execution_error(e) for e in result.errors]
    if result.data is not None or result.errors is None or any(e.path for e in result.errors):
        # Errors raised before execution (bad variables, unknown operation) have no
        # path and, per the GraphQL spec, no ``data`` entry; field errors keep it.
        body["data"] = result.data
    return body


def _execution_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        # A bug in the sandbox, not a modelled monday error: say so, keep the trace.
        _log.error("resolver failed", path=error.path, error=repr(original), exc_info=original)
        formatted = _formatted(error, "INTERNAL_SERVER_ERROR")
        formatted["message"] = "Internal server error"
        return formatted
    if error.path is None:
        return _formatted(error, "BAD_USER_INPUT")
    return _formatted(error, "INTERNAL_SERVER_ERROR")


def _formatted(error: GraphQLError, default_code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", default_code)
    formatted["extensions"] = extensions
    return formatted


def authorised(header: str | None, token: str) -> bool:
    if not header:
        return False
    # monday documents the raw token; "Bearer <token>" is accepted rather than refused.
    given = bearer_token(header) or header.strip()
    return hmac.compare_digest(given.encode(), token.encode())


def decode_request(raw: bytes) -> tuple[GraphQLRequest | None, str | None, dict[str, Any]]:
    """The request, or why it is unusable; and its query and variables for the log."""
    try:
        document = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None, "The request body is not valid JSON", {}
    if not isinstance(document, dict):
        return None, "The request body must be a JSON object", {}
    variables = document.get("variables")
    logged_variables = variables if isinstance(variables, dict) else {}
    try:
        request = msgspec.convert(document, GraphQLRequest)
    except msgspec.ValidationError as exc:
        if not isinstance(document.get("query"), str):
            return None, "No query string was present", logged_variables
        return None, f"The request body is invalid: {exc}", logged_variables
    return request, None, logged_variables


def render(answer: Answer, *, remaining: int, reset_in: int, quota: int) -> Response[bytes]:
    if isinstance(answer.body, str):
        # What a proxy in front of monday answers: HTML, none of monday's headers.
        return Response(
            answer.body.encode(),
            status_code=answer.status,
            media_type="text/html",
            headers=answer.headers,
        )
    body = dict(answer.body)
    body["extensions"] = {**body.get("extensions", {}), "request_id": str(uuid.uuid4())}
    headers = {
        **answer.headers,
        "RateLimit-Policy": f'"minuteRate";q={quota};w=60',
        "RateLimit": f'"minuteRate";r={remaining};t={reset_in}',
    }
    return Response(
        msgspec.json.encode(body),
        status_code=answer.status,
        media_type="application/json",
        headers=headers,
    )
