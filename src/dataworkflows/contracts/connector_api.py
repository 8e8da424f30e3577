"""The internal connector API's messages (msgspec structs, JSON on the wire)."""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

Effect = Literal["read", "write"]
ErrorCode = Literal[
    "invalid_input",
    "not_found",
    "auth_failed",
    "rate_limited",
    "upstream_unavailable",
    "upstream_error",
]

ERROR_STATUS: Final[dict[ErrorCode, int]] = {
    "invalid_input": 422,
    "not_found": 404,
    "auth_failed": 502,  # our credentials were refused upstream: not the caller's fault
    "rate_limited": 429,
    "upstream_unavailable": 503,
    "upstream_error": 502,
}
"""The HTTP status a connector answers with for each error code."""


class ActionDescriptor(msgspec.Struct, frozen=True, kw_only=True):
    """One action in a connector's catalog."""

    name: str
    """Qualified name, ``<connector>.<action>`` (``monday.list_items``)."""
    description: str
    effect: Effect
    input_schema: dict[str, Any]
    """JSON Schema of the action's input."""
    output_schema: dict[str, Any]
    """JSON Schema of the action's output."""


class ActionCatalog(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/actions``: what a connector can do."""

    connector: str
    actions: list[ActionDescriptor]


class ActionContext(msgspec.Struct, frozen=True, kw_only=True):
    """Where a call comes from, for the connector's logs and traces."""

    run_id: str
    step_id: str
    attempt: int


class ActionRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/actions/{action}``: the call."""

    input: dict[str, Any]
    idempotency_key: str | None = None
    """Stable per (run, step, iteration) for write actions: pass upstream or dedupe on it."""
    context: ActionContext | None = None


class ActionResult(msgspec.Struct, frozen=True, kw_only=True):
    """A successful call's answer."""

    output: dict[str, Any]


class ActionError(msgspec.Struct, frozen=True, kw_only=True):
    """A failed call: a typed code, a message for humans, and whether to try again."""

    code: ErrorCode
    message: str
    retryable: bool
    retry_after_s: float | None = None
    upstream_code: str | None = None
    """The upstream's own error code where it has one (Slack's ``not_in_channel``,
    monday's ``ColumnValueException``), for callers that act on it."""


class ActionErrorEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """The body of a failed call."""

    error: ActionError


class ActionFailed(Exception):
    """An action call failed with a typed :class:`ActionError` (raised by connectors)."""

    def __init__(self, error: ActionError) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error

    @classmethod
    def of(
        cls,
        code: ErrorCode,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
        upstream_code: str | None = None,
    ) -> ActionFailed:
        """An error with the usual retryability of ``code`` unless given."""
        if retryable is None:
            retryable = code in RETRYABLE_BY_DEFAULT
        return cls(
            ActionError(
                code=code,
                message=message,
                retryable=retryable,
                retry_after_s=retry_after_s,
                upstream_code=upstream_code,
            )
        )


RETRYABLE_BY_DEFAULT: Final[frozenset[ErrorCode]] = frozenset(
    {"rate_limited", "upstream_unavailable"}
)
"""Codes worth another try unless the connector says otherwise."""
