"""What msgraph-sdk, httpx and azure-identity raise, as the Outlook port's errors.

Graph's errors are ``{"error": {"code", "message", "innerError"}}`` and surface as
``ODataError``; for a write (sending mail), a failure after the request may have
reached Graph becomes :class:`~.port.OutlookOutcomeUnknown`.
"""

from __future__ import annotations

from typing import Final

import httpx
from azure.core.exceptions import AzureError, ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from dataworkflows.connectors.outlook.port import (
    OutlookAuthError,
    OutlookError,
    OutlookInvalidInput,
    OutlookNotFound,
    OutlookOutcomeUnknown,
    OutlookRateLimited,
    OutlookUnavailable,
)

__all__ = ["translate"]


_NOT_FOUND_CODES: Final = frozenset(
    {
        "ErrorItemNotFound",
        "ResourceNotFound",
        "MailboxNotEnabledForRESTAPI",
        "ErrorInvalidUser",
        "ErrorNonExistentMailbox",
    }
)


def translate(exc: Exception, *, write: bool) -> OutlookError | None:
    """The port error for an exception from the SDK or a credential, or None (a bug)."""
    if isinstance(exc, OutlookError):
        return exc
    if isinstance(exc, APIError):
        return _api_error(exc, write=write)
    if isinstance(exc, httpx.TransportError):
        return _transport_error(exc, write=write)
    if isinstance(exc, ClientAuthenticationError):
        # azure-identity's message carries Entra's error and description, never the secret.
        first = str(exc.message or exc).strip().splitlines()[0][:300]
        return OutlookAuthError(f"Microsoft Entra ID refused the app's credentials: {first}")
    if isinstance(exc, AzureError):
        return OutlookUnavailable(f"the token endpoint failed ({type(exc).__name__})")
    return None


def _transport_error(exc: httpx.TransportError, *, write: bool) -> OutlookError:
    """A failure below HTTP; for a write, whether Graph got the request is unknown
    unless the connection was never made."""
    if isinstance(exc, httpx.TimeoutException):
        if write and not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            return OutlookOutcomeUnknown(
                "Microsoft Graph did not answer in time; the mail may or may not have been sent"
            )
        return OutlookUnavailable("Microsoft Graph did not answer in time")
    kind = type(exc).__name__
    if write and not isinstance(exc, httpx.ConnectError):
        return OutlookOutcomeUnknown(
            f"the connection to Microsoft Graph failed mid-request ({kind}); the mail "
            "may or may not have been sent"
        )
    return OutlookUnavailable(f"Microsoft Graph is unreachable ({kind})")


def _api_error(exc: APIError, *, write: bool) -> OutlookError:
    status = exc.response_status_code
    code: str | None = None
    message = exc.message or ""
    request_id: str | None = None
    if isinstance(exc, ODataError) and exc.error is not None:
        code = exc.error.code
        message = exc.error.message or message
        inner = exc.error.inner_error
        request_id = inner.request_id if inner is not None else None
    suffix = f" (request-id {request_id})" if request_id else ""
    label = f"{status} {code}" if code else f"{status}"
    text = f"Microsoft Graph answered {label}: {message or 'no message'}{suffix}"
    retry_after = _retry_after(exc.response_headers)
    if status in (401, 403):
        hint = (
            " (the app needs the Mail.Read, Calendars.Read and Mail.Send application "
            "permissions, with admin consent)"
            if status == 403
            else ""
        )
        return OutlookAuthError(text + hint, code=code, status=status)
    if status == 404 or code in _NOT_FOUND_CODES:
        return OutlookNotFound(text, code=code, status=status)
    if status == 429:
        return OutlookRateLimited(text, retry_after=retry_after, code=code, status=status)
    if status == 504 and write:
        return OutlookOutcomeUnknown(text, code=code, status=status, retry_after=retry_after)
    if status is not None and status >= 500:
        return OutlookUnavailable(text, code=code, status=status, retry_after=retry_after)
    if status is not None and status in (400, 405, 406, 411, 413, 415, 416, 422):
        return OutlookInvalidInput(text, code=code, status=status)
    return OutlookError(text, code=code, status=status)


def _retry_after(headers: object) -> float | None:
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter("retry-after") or getter("Retry-After")
    if not isinstance(value, str):
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
