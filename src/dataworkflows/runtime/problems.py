"""Errors as RFC 9457 problem details, each carrying the request id.

Every error response of every component has the media type
``application/problem+json`` and the members ``type``, ``title``, ``status``,
``detail``, ``instance`` and ``request_id``; validation problems add ``errors``, a
list of ``{"field": ..., "message": ...}``. Unexpected exceptions are logged with
their traceback and answered with a 500 that reveals nothing but the request id.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

import msgspec
import psycopg
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from psycopg_pool import PoolTimeout

from dataworkflows.runtime.database import DatabaseUnavailable
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.struct_errors import explain

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "FieldError",
    "Problem",
    "ProblemAnswer",
    "ProblemDocument",
    "ProblemField",
    "current_request_id",
    "exception_handlers",
    "read_problem",
]

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
REQUEST_ID_HEADER: Final = "x-request-id"
_REQUEST_ID_RE: Final = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_log = get_logger(__name__)


class FieldError(msgspec.Struct, frozen=True):
    """One invalid field: its path (``steps[2].with.board_id``) and what is wrong."""

    field: str
    message: str


class ProblemDocument(msgspec.Struct, frozen=True, kw_only=True):
    """The shape of an error response, for the API documentation."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[FieldError] | None = None


class ProblemField(msgspec.Struct, frozen=True, kw_only=True):
    """One field error of a problem document another component answered."""

    field: str = ""
    message: str = ""


class ProblemAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A problem document as its client reads it (the bot, the CLI, the console)."""

    detail: str = ""
    title: str = ""
    errors: list[ProblemField] = msgspec.field(default_factory=list)


def read_problem(content: bytes) -> ProblemAnswer:
    """The problem document in ``content``; an empty one when it is not one."""
    try:
        return msgspec.json.decode(content, type=ProblemAnswer)
    except msgspec.DecodeError:  # ValidationError too
        return ProblemAnswer()


class Problem(Exception):
    """An error to answer as a problem document; raise it from handlers and services."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


_id_prefix = secrets.token_hex(10)
_id_counter = itertools.count()


def _reseed() -> None:
    global _id_prefix, _id_counter  # noqa: PLW0603  # a forked child needs ids of its own
    _id_prefix = secrets.token_hex(10)
    _id_counter = itertools.count()


os.register_at_fork(after_in_child=_reseed)


def new_request_id() -> str:
    """A new request id: 32 hex characters, a random 80-bit prefix per process and a
    counter. Unique as a UUID4 would be, without reading the kernel's random source
    for every request (5% of a connector process's CPU per call, bench/w5.py)."""
    return f"{_id_prefix}{next(_id_counter) & 0xFFFFFFFFFFFF:012x}"


def request_id_from_header(value: str | None) -> str:
    """The caller's request id when it is safe to echo, else a new one."""
    if value and _REQUEST_ID_RE.match(value):
        return value
    return new_request_id()


def current_request_id(request: Request[Any, Any, Any] | None = None) -> str:
    """The id of the request being served (bound by the request-context middleware)."""
    bound = structlog.contextvars.get_contextvars().get("request_id")
    if isinstance(bound, str):
        return bound
    header = request.headers.get(REQUEST_ID_HEADER) if request is not None else None
    return request_id_from_header(header)


def problem_response(request: Request[Any, Any, Any], problem: Problem) -> Response[bytes]:
    """Render ``problem`` for ``request``."""
    request_id = current_request_id(request)
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        "request_id": request_id,
    }
    if problem.errors:
        body["errors"] = [msgspec.structs.asdict(e) for e in problem.errors]
    body.update(problem.extra)
    headers = {**problem.headers, REQUEST_ID_HEADER: request_id}
    return Response(
        content=msgspec.json.encode(body),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _from_validation(exc: ValidationException, request: Request[Any, Any, Any]) -> Problem:
    errors: list[FieldError] = []
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, Mapping):
                errors.append(_field_error(item, request))
    detail = exc.detail if exc.detail and exc.detail != "Bad Request" else "The request is invalid."
    # Litestar's detail names the route ("Validation failed for POST /v1/...");
    # the field list says more, so keep it short.
    if detail.startswith("Validation failed for"):
        detail = "The request is invalid; see errors."
    return Problem(exc.status_code, detail, errors=errors)


def _field_error(item: Mapping[str, Any], request: Request[Any, Any, Any]) -> FieldError:
    """Litestar's validation detail as a field path and a message a caller can act on."""
    field = str(item.get("key") or item.get("source") or "body")
    message = str(item.get("message", ""))
    raw_source = item.get("source") or ""
    source = str(getattr(raw_source, "value", raw_source))  # Litestar's ParamType, or "body"
    if field == "data" and message == "'data'":
        return FieldError(field="body", message="a JSON body is required")
    declared = _declared(request, source, field)
    # Without a declared type, the key is read as a path in the body, as Litestar's are.
    annotation, public = declared if declared is not None else (None, "body")
    in_body = declared is None or source == "body"
    # The body's own fields are keyed by their path in it; "data" is the body.
    path = f".{field}" if in_body and field != "data" else ""
    named, message = explain(message, annotation, path)
    if named and not in_body:  # a parameter's own part (rare: an object)
        named = f"{public}.{named}"
    return FieldError(field=named or public, message=message)


def _declared(request: Request[Any, Any, Any], source: str, key: str) -> tuple[Any, str] | None:
    """The type the route handler declares for the request part Litestar refused (the
    body, or the query, path or header parameter ``key``) and the name a caller uses
    for it (Litestar names a parameter by its Python name, not its alias)."""
    try:
        parameters = request.route_handler.parsed_fn_signature.parameters
    except (AttributeError, RuntimeError):  # no route matched, or no handler
        return None
    if source == "body":
        data = parameters.get("data")
        return None if data is None else (data.annotation, "body")
    for name, definition in parameters.items():
        alias = getattr(definition.kwarg_definition, source, None)
        if key in (name, alias):
            return definition.annotation, alias or key
    return None


def _handle_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, Problem)
    return problem_response(request, exc)


NOT_FOUND_PAGE: Final = (
    b'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    b"<title>Not found \xc2\xb7 Data Workflows</title></head>\n<body><h1>Not found</h1>"
    b'<p>There is no page at this address.</p><p><a href="/">Start page</a></p>'
    b"</body></html>\n"
)
"""What a person's browser gets for an address nothing answers (API clients get the
problem document)."""


def _browsing(request: Request[Any, Any, Any]) -> bool:
    """A person's browser asking for a page: GET, HTML preferred, outside the API."""
    if request.method not in ("GET", "HEAD") or request.url.path.startswith("/v1/"):
        return False
    # Problem documents first: an API client's */* (or no Accept) keeps getting one.
    return request.accept.best_match([PROBLEM_MEDIA_TYPE, "text/html"]) == "text/html"


_NOT_JSON: Final = ("JSON is malformed", "Input data was truncated")
"""How msgspec's decoder begins when a body is not JSON (Litestar passes it on)."""


def _says_json(content_type: str) -> bool:
    """Whether ``content_type`` is JSON (application/json or a +json type)."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _handle_http(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, ValidationException):
        return problem_response(request, _from_validation(exc, request))
    if exc.status_code == 404 and _browsing(request):
        return Response(
            NOT_FOUND_PAGE,
            status_code=404,
            media_type="text/html",
            headers={
                "Content-Security-Policy": "default-src 'none'",
                "X-Content-Type-Options": "nosniff",
            },
        )
    status = exc.status_code
    detail = exc.detail or HTTPStatus(status).phrase
    sent = request.headers.get("content-type")
    if status == 400 and sent and detail.startswith(_NOT_JSON) and not _says_json(sent):
        # e.g. YAML to an endpoint that takes JSON, or curl -d without -H: the media
        # type is what to fix, not the JSON's first byte. (A body that names no type
        # is taken for JSON, and malformed JSON stays a 400.)
        return problem_response(
            request,
            Problem(415, f"Send the body as application/json (it was sent as {sent[:100]})."),
        )
    if status >= 500:
        _log.error("request failed", status=status, detail=detail)
    return problem_response(request, Problem(status, detail, headers=exc.headers))


def _handle_database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    _log.warning("database unavailable", path=request.url.path, error_type=type(exc).__name__)
    return problem_response(
        request,
        Problem(
            503,
            "The database is not reachable right now; try again shortly.",
            headers={"Retry-After": "5"},
        ),
    )


def _handle_unstorable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    # e.g. a NUL character in a path or a parameter: the request's fault, not the
    # server's, and a malformed request like any other (400).
    return problem_response(
        request,
        Problem(
            400,
            "The request holds a value that cannot be stored (for example a NUL character).",
        ),
    )


def _handle_too_deep(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    # A body nested thousands of levels deep (the JSON decoder recurses): the request's
    # fault, not the server's.
    return problem_response(
        request, Problem(422, "The request nests too deeply to be read; flatten it.")
    )


def _handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    _log.exception("unhandled error", path=request.url.path, error_type=type(exc).__name__)
    return problem_response(
        request,
        Problem(500, "An unexpected error occurred; quote the request id when reporting it."),
    )


def exception_handlers() -> ExceptionHandlersMap:
    """The handlers that make every error a problem document."""
    return {
        Problem: _handle_problem,
        HTTPException: _handle_http,
        psycopg.OperationalError: _handle_database_down,
        psycopg.DataError: _handle_unstorable,
        PoolTimeout: _handle_database_down,
        DatabaseUnavailable: _handle_database_down,
        RecursionError: _handle_too_deep,
        Exception: _handle_unexpected,
    }
