"""What the API's versioned documents share: workflow definitions and report templates
are both text sent with ``PUT``, stored as numbered versions, and read back by version.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Request, Response
from litestar.params import QueryParameter

from dataworkflows.runtime.problems import Problem

__all__ = [
    "MAX_VERSION",
    "VersionQuery",
    "media_type",
    "no_such_version",
    "read_text_body",
    "registered",
]

MAX_VERSION: Final = 2**31 - 1

VersionQuery = Annotated[
    int | None, QueryParameter(ge=1, le=MAX_VERSION, description="A version; default the latest")
]
"""The ``?version=`` of a document read (None: the latest)."""


def media_type(request: Request[Any, Any, Any], default: str) -> str:
    """The request's media type without parameters (``default`` when none is given)."""
    return request.headers.get("content-type", default).split(";")[0].strip()


async def read_text_body(
    request: Request[Any, Any, Any], *, limit: int, what: str
) -> tuple[bytes, str]:
    """The body and its UTF-8 text: 413 over ``limit`` bytes ("A ``what`` may be at
    most ..."), 400 when it is not UTF-8."""
    body = await request.body()
    if len(body) > limit:
        raise Problem(413, f"A {what} may be at most {limit} bytes.")
    try:
        return body, body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "The body is not UTF-8 text.") from None


def registered(content: Any, *, created: bool, location: str) -> Response[Any]:
    """The answer to a ``PUT`` of a document: 201 with a new version, 200 when the
    document equals the latest one; ``Location`` names it."""
    return Response(content, status_code=201 if created else 200, headers={"Location": location})


def no_such_version(kind: str, name: str, version: int | None) -> Problem:
    """The 404 for a document, or one of its versions, that does not exist."""
    return Problem(
        404, f"There is no {kind} {name!r}" + (f" version {version}." if version else ".")
    )
