"""Wire types shared by the engine and the connectors: the internal connector API.

The only code modules share (besides ``runtime``). Every connector serves:

- ``GET /v1/actions`` -> :class:`ActionCatalog`
- ``POST /v1/actions/{action}`` with :class:`ActionRequest` -> :class:`ActionResult`,
  or an :class:`ActionErrorEnvelope` with the HTTP status of its :class:`ErrorCode`.
"""

from dataworkflows.contracts.connector_api import (
    ERROR_STATUS,
    RETRYABLE_BY_DEFAULT,
    ActionCatalog,
    ActionContext,
    ActionDescriptor,
    ActionError,
    ActionErrorEnvelope,
    ActionFailed,
    ActionRequest,
    ActionResult,
    Effect,
    ErrorCode,
)
from dataworkflows.contracts.upstream import UpstreamError

__all__ = [
    "ERROR_STATUS",
    "RETRYABLE_BY_DEFAULT",
    "ActionCatalog",
    "ActionContext",
    "ActionDescriptor",
    "ActionError",
    "ActionErrorEnvelope",
    "ActionFailed",
    "ActionRequest",
    "ActionResult",
    "Effect",
    "ErrorCode",
    "UpstreamError",
]
