"""How a connector describes a vendor's failure: one error family for every connector.

A port declares ``class AcmeError(upstream.UpstreamError)`` and one class per kind it
tells apart (``class AcmeNotFound(AcmeError, upstream.NotFound)``); the action runner
turns whatever escapes a handler into the connector API's typed error, the same way
for every connector.
"""

from __future__ import annotations

from typing import ClassVar

from dataworkflows.contracts.connector_api import ActionFailed, ErrorCode

__all__ = ["AuthFailed", "Invalid", "NotFound", "RateLimited", "Unavailable", "UpstreamError"]


class UpstreamError(Exception):
    """A vendor refused or failed a call, described in the connector API's terms.

    Every connector's port derives its errors from this (``MondayError``,
    ``SlackError``...) and from the kinds below (``class MondayNotFound(MondayError,
    upstream.NotFound)``), which choose :attr:`error_code` and :attr:`retryable`. The
    action runner turns any that escapes a handler into :class:`ActionFailed`: one
    mapping for every connector.

    ``code`` is the vendor's own error code (sent on as ``upstream_code``), ``status``
    its HTTP status and ``retry_after`` the wait it asked for, in seconds.
    """

    error_code: ClassVar[ErrorCode] = "upstream_error"
    retryable: ClassVar[bool | None] = False
    """None: the usual retryability of :attr:`error_code`."""
    circuit_open = False
    """True when no call was made because the upstream's circuit breaker is open."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.retry_after = retry_after

    def action_failed(self) -> ActionFailed:
        """This error as the connector API's typed error."""
        return ActionFailed.of(
            self.error_code,
            self.message,
            retryable=self.retryable,
            retry_after_s=self.retry_after,
            upstream_code=self.code,
        )


class AuthFailed(UpstreamError):
    """Our credentials are missing, refused or not allowed to do this."""

    error_code = "auth_failed"


class NotFound(UpstreamError):
    """What the call names does not exist (or is not visible to our credentials)."""

    error_code = "not_found"


class Invalid(UpstreamError):
    """The vendor refused the request's content."""

    error_code = "invalid_input"


class RateLimited(UpstreamError):
    """A rate limit: try again after ``retry_after`` seconds (when the vendor said)."""

    error_code = "rate_limited"
    retryable = True


class Unavailable(UpstreamError):
    """The vendor did not answer usefully (5xx, network, timeout, circuit open)."""

    error_code = "upstream_unavailable"
    retryable = True
