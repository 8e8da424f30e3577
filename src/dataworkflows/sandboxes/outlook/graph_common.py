"""What the Outlook sandbox's Graph resources share: what they need of the sandbox
(:class:`GraphState`), their answers and Graph's errors, the query string
(:class:`Query`) with its paging limits, and the record of a mail ``sendMail``
accepted (:class:`SentRecord`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl

import msgspec

from dataworkflows.sandboxes.outlook import odata
from dataworkflows.sandboxes.outlook.demo_data import DemoTenant

__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "Answer",
    "GraphError",
    "GraphState",
    "Query",
    "SentRecord",
    "check_options",
    "graph_error_body",
    "odata_call",
]


DEFAULT_PAGE: Final = 10
"""Items per page without ``$top``."""
MAX_PAGE: Final = 1000
"""The largest ``$top``."""


class GraphState(Protocol):
    """What the resources need of the sandbox: its data, its URL, its clock and keys."""

    tenant: DemoTenant
    public_url: str
    sent: list[SentRecord]

    def now(self) -> datetime:
        """The sandbox's current time."""
        ...

    def skiptoken(self, offset: int, window: str) -> str:
        """An opaque, signed paging token."""
        ...

    def read_skiptoken(self, token: str, window: str) -> int | None:
        """The offset of a token this sandbox issued for ``window``, else None."""
        ...


@dataclass(slots=True)
class Answer:
    """What a request is answered with: status, JSON body (None: empty) and headers."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


class GraphError(Exception):
    """An error answer in Graph's shape."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def graph_error_body(
    code: str, message: str, request_id: str, client_request_id: str
) -> dict[str, Any]:
    """Graph's error document: ``{"error": {"code", "message", "innerError"}}``."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


class SentRecord(msgspec.Struct, frozen=True):
    """One mail accepted by ``sendMail``: normalised, and as received."""

    mailbox: str
    """The sender's address (the user the request named, resolved)."""
    user: str
    """The user segment as the request spelled it (id or UPN)."""
    subject: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    content_type: str
    body: str
    importance: str
    save_to_sent_items: bool
    extended_properties: dict[str, str]
    sent_message_id: str | None
    """The Sent Items copy's id, when one was saved."""
    raw: dict[str, Any]
    """The JSON body exactly as received (key casing included)."""
    at: str


# -- requests ----------------------------------------------------------------------------


@dataclass(slots=True)
class Query:
    """The query string: system options by lowercased name, other parameters as given."""

    options: dict[str, str]
    params: dict[str, str]
    raw: list[tuple[str, str]]

    @classmethod
    def parse(cls, query_string: str) -> Query:
        """Split a raw query string (``+`` is a space, as Graph reads it)."""
        raw = parse_qsl(query_string, keep_blank_values=True)
        options: dict[str, str] = {}
        params: dict[str, str] = {}
        for name, value in raw:
            if name.startswith("$"):
                options[name.lower()] = value
            else:
                params[name.lower()] = value
        return cls(options, params, raw)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """The integer option ``name`` within ``[low, high]``, else a 400 GraphError."""
        text = self.options.get(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise GraphError(
                400, "BadRequest", f"Invalid value '{text}' for query option '{name}'."
            ) from None
        if not low <= value <= high:
            raise GraphError(
                400,
                "BadRequest",
                f"The value of query option '{name}' must be between {low} and {high}.",
            )
        return value


_KNOWN_OPTIONS: Final = frozenset(
    {"$select", "$filter", "$orderby", "$top", "$skip", "$search", "$count", "$skiptoken"}
)


def check_options(query: Query) -> None:
    """Refuse ``$expand`` and system query options Graph does not know."""
    for name in query.options:
        if name == "$expand":
            raise GraphError(400, "BadRequest", "The sandbox does not support $expand.")
        if name not in _KNOWN_OPTIONS:
            raise GraphError(400, "BadRequest", f"Query option '{name}' is not allowed.")


def odata_call(call: Callable[[], Any]) -> Any:
    """``call()``, with an OData query error turned into Graph's 400."""
    try:
        return call()
    except odata.ODataQueryError as exc:
        raise GraphError(400, exc.code, exc.message) from None
