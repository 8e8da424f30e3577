"""Invalid input as a 422 problem whose ``errors`` name every bad field.

msgspec stops at the first problem in a body, and Litestar answers it with a 400
whose field is the handler's parameter (``data``). Here a body is checked field by
field against the same struct, so one answer lists every bad field by its JSON name,
and the messages say what to send instead without echoing what was sent (a value
may be a password).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Literal, get_args, get_origin

import msgspec
from litestar import Request, Response
from litestar.exceptions import ValidationException

from dataworkflows.runtime.problems import FieldError, Problem, problem_response

__all__ = [
    "INVALID_DETAIL",
    "body_field_errors",
    "check_body",
    "humanize",
    "validation_exception_handler",
]

INVALID_DETAIL: Final = "The request is invalid; see errors."

_MIN_LENGTH_RE: Final = re.compile(r"^Expected `str` of length >= (\d+)")
_MAX_LENGTH_RE: Final = re.compile(r"^Expected `str` of length <= (\d+)")
_UNKNOWN_FIELD_RE: Final = re.compile(r"^Object contains unknown field `([^`]+)`")
_MISSING_FIELD_RE: Final = re.compile(r"^Object missing required field `([^`]+)`")


def _choices(annotation: object) -> list[str]:
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    return [c for arg in get_args(annotation) for c in _choices(arg)]


def humanize(message: str, annotation: object = None) -> str:
    """msgspec's ``message`` about a value of type ``annotation``, said without the value."""
    if match := _MIN_LENGTH_RE.match(message):
        shortest = int(match.group(1))
        return "must not be empty" if shortest == 1 else f"must be at least {shortest} characters"
    if match := _MAX_LENGTH_RE.match(message):
        return f"must be at most {match.group(1)} characters"
    if message.startswith("Invalid enum value"):
        choices = _choices(annotation)
        return f"must be one of {', '.join(choices)}" if choices else "is not an allowed value"
    if message.startswith("Invalid RFC3339 encoded date"):
        return "must be a date as YYYY-MM-DD"
    return message


def body_field_errors(
    raw: object,
    struct_type: type[msgspec.Struct],
    *,
    server_fields: frozenset[str] = frozenset(),
) -> list[FieldError]:
    """Every reason the decoded JSON ``raw`` is not a valid ``struct_type``, by field name.

    ``server_fields`` are names the server sets: sending one is refused as such.
    """
    if not isinstance(raw, dict):
        return [FieldError(field="body", message="must be a JSON object")]
    errors: list[FieldError] = []
    fields = msgspec.structs.fields(struct_type)
    for field in fields:
        if field.encode_name not in raw:
            if field.required:
                errors.append(FieldError(field=field.encode_name, message="is required"))
            continue
        try:
            msgspec.json.decode(msgspec.json.encode(raw[field.encode_name]), type=field.type)
        except msgspec.ValidationError as exc:
            errors.append(
                FieldError(field=field.encode_name, message=humanize(str(exc), field.type))
            )
    if struct_type.__struct_config__.forbid_unknown_fields:
        known = {f.encode_name for f in fields}
        for name in raw:
            if name in server_fields:
                errors.append(FieldError(field=name, message="is set by the server"))
            elif name not in known:
                errors.append(FieldError(field=name, message="is not a known field"))
    return errors


def check_body(
    struct_type: type[msgspec.Struct], *, server_fields: frozenset[str] = frozenset()
) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    """A ``before_request`` hook: 422 listing every bad field of a JSON body.

    A body that is not JSON at all is left to Litestar's own parsing (400), and an empty
    one to :func:`validation_exception_handler` (422 naming ``body``).
    """

    async def hook(request: Request[Any, Any, Any]) -> None:
        body = await request.body()  # cached: the handler's parameter parsing reads it again
        try:
            raw = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return
        errors = body_field_errors(raw, struct_type, server_fields=server_fields)
        if errors:
            raise Problem(422, INVALID_DETAIL, errors=errors)

    return hook


def _field_error(item: Mapping[str, Any], annotations: Mapping[str, object]) -> FieldError:
    key = str(item.get("key") or "body")
    message = str(item.get("message", ""))
    if key == "data" and message == "'data'":
        return FieldError(field="body", message="a JSON body is required")
    if match := _UNKNOWN_FIELD_RE.match(message):
        return FieldError(field=match.group(1), message="is not a known field")
    if match := _MISSING_FIELD_RE.match(message):
        return FieldError(field=match.group(1), message="is required")
    field = "body" if key == "data" else key
    return FieldError(field=field, message=humanize(message, annotations.get(field)))


def validation_exception_handler(
    annotations: Mapping[str, object],
) -> Callable[[Request[Any, Any, Any], Exception], Response[bytes]]:
    """An exception handler answering Litestar's validation errors as 422 problems.

    ``annotations`` maps a parameter name to its type, for messages about allowed values.
    """

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        assert isinstance(exc, ValidationException)
        errors = [
            _field_error(item, annotations)
            for item in (exc.extra if isinstance(exc.extra, list) else [])
            if isinstance(item, Mapping)
        ]
        return problem_response(request, Problem(422, INVALID_DETAIL, errors=errors))

    return handle
