"""The wire plumbing every Confluence handler shares.

Parsed requests (:class:`Call`) and what the sandbox answers (:class:`Answer`), query
parameters as Confluence reads them (:class:`Params`), the v1 and v2 error shapes,
rendering an answer as an HTTP response, and the small formatting rules (timestamps,
tiny links, id members) that both APIs follow.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote

import msgspec
from litestar import Response

from dataworkflows.sandboxes.confluence.demo_data import DemoAccount, Refused

__all__ = [
    "DEFAULT_LIMIT",
    "DIGITS_RE",
    "MAX_LIMIT",
    "Answer",
    "Call",
    "Params",
    "error_answer",
    "found_by_id",
    "id_member",
    "invalid",
    "iso",
    "logged_json",
    "masked",
    "query_string",
    "render",
    "tiny",
]

DEFAULT_LIMIT: Final = 25
MAX_LIMIT: Final = 250
DIGITS_RE: Final = re.compile(r"^\d+$")


@dataclass(slots=True)
class Answer:
    """What the sandbox answers: a JSON document (or an HTML page, or nothing)."""

    status: int
    body: dict[str, Any] | str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated API request, parsed."""

    method: str
    path: str
    """The path after ``/wiki``."""
    params: list[tuple[str, str]]
    raw: bytes
    flavour: Literal["v1", "v2"]
    account: DemoAccount


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def tiny(page_id: str) -> str:
    """Confluence's tiny link: the id's little-endian bytes in URL-safe base64."""
    number = int(page_id)
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "little")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid(name: str, why: str) -> Refused:
    return Refused(400, "INVALID_REQUEST_PARAMETER", f"Provided value for '{name}' {why}")


_T = TypeVar("_T")


def found_by_id(kind: str, ident: str, lookup: Callable[[str], _T | None]) -> _T:
    """What ``lookup`` finds for the v2 path id ``ident`` of a ``kind`` ("Page",
    "Space"): a 400 when the id is not a number, a 404 when nothing has it."""
    if not DIGITS_RE.match(ident):
        raise invalid("id", "is not the correct type. Expected type is Long.")
    thing = lookup(ident)
    if thing is None:
        raise Refused(404, "NOT_FOUND", "Not Found", f"{kind} with id {ident} not found")
    return thing


class Params:
    """A request's query parameters (repeated and comma-separated lists both accepted)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.pairs if k == name), None)

    def values(self, name: str) -> list[str]:
        return [
            item.strip()
            for key, value in self.pairs
            if key == name
            for item in value.split(",")
            if item.strip()
        ]

    def ids(self, name: str, most: int) -> list[str]:
        values = self.values(name)
        if any(not DIGITS_RE.match(v) for v in values):
            raise invalid(name, "is not the correct type. Expected type is Long.")
        if len(values) > most:
            raise invalid(name, f"is not valid. At most {most} values are allowed.")
        return values

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"-?\d+", raw):
            raise invalid(name, "is not the correct type. Expected type is Integer.")
        value = int(raw)
        if not low <= value <= high:
            raise invalid(name, f"is not valid. It must be between {low} and {high}.")
        return value

    def choice(self, name: str, allowed: frozenset[str]) -> str | None:
        value = self.get(name)
        if value is not None and value not in allowed:
            raise invalid(name, f"is not valid. Valid values are: {', '.join(sorted(allowed))}.")
        return value


def error_answer(flavour: Literal["v1", "v2"], refused: Refused) -> Answer:
    """An error in the shape of the API that was called."""
    if flavour == "v2":
        error = {
            "status": refused.status,
            "code": refused.code,
            "title": refused.title,
            "detail": refused.detail,
        }
        return Answer(refused.status, {"errors": [error]})
    message = refused.title if refused.detail is None else f"{refused.title}: {refused.detail}"
    return Answer(
        refused.status,
        {
            "statusCode": refused.status,
            "data": {
                "authorized": refused.status not in (401, 403),
                "valid": refused.status != 400,
                "errors": [],
                "successful": False,
            },
            "message": message,
        },
    )


def render(answer: Answer) -> Response[bytes]:
    headers = {"ATL-TraceId": uuid.uuid4().hex[:16], **answer.headers}
    if isinstance(answer.body, str):
        return Response(
            answer.body.encode(), status_code=answer.status, media_type="text/html", headers=headers
        )
    if answer.body is None:
        return Response(b"", status_code=answer.status, headers=headers)
    return Response(
        msgspec.json.encode(answer.body),
        status_code=answer.status,
        media_type="application/json;charset=UTF-8",
        headers=headers,
    )


def masked(header: str | None) -> str | None:
    if not header:
        return None
    scheme = header.strip().partition(" ")[0]
    return f"{scheme} ****"


def logged_json(raw: bytes) -> Any:
    if not raw or len(raw) > 100_000:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def query_string(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def id_member(document: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = document.get(name)
    if value is None:
        if required:
            raise Refused(400, "INVALID_REQUEST_PARAMETER", f"{name} is required")
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int)
        or not DIGITS_RE.match(str(value))
    ):
        raise invalid(name, "is not the correct type. Expected type is Long.")
    return str(value)
