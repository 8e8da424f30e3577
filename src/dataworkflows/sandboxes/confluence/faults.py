"""The failures the Confluence sandbox produces on demand.

A test queues a :class:`Fault` (``POST /sandbox/faults``); the sandbox answers the next
matching requests with what :func:`fault_answer` gives, in the error shape of the API
that was called (``conflict`` is the exception: the page ``PUT`` answers it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec

from dataworkflows.sandboxes.confluence.demo_data import Refused
from dataworkflows.sandboxes.confluence.wire import Answer, error_answer, iso
from dataworkflows.sandboxes.controls import BAD_GATEWAY_HTML

__all__ = ["Fault", "FaultKind", "fault_answer"]

FaultKind = Literal[
    "rate_limited",
    "unavailable",
    "server_error",
    "bad_gateway",
    "slow",
    "conflict",
    "unauthorized",
    "forbidden",
]
"""The failures the sandbox can produce on demand."""


class Fault(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A failure for the next ``times`` API requests (``conflict``: page ``PUT``\\s).

    - ``rate_limited``: 429 with ``Retry-After: <retry_after>`` (none when null) and
      the ``X-RateLimit-*`` headers;
    - ``unavailable``: 503 with ``Retry-After`` likewise;
    - ``server_error``: 500; ``bad_gateway``: 502 with a proxy's HTML page;
    - ``slow``: wait ``delay_s``, then answer normally;
    - ``conflict``: the next page ``PUT`` answers 409 as for a stale version;
    - ``unauthorized``: 401; ``forbidden``: 403.

    ``method`` and ``path`` (a prefix of the path after ``/wiki``, e.g.
    ``/api/v2/pages``) limit which requests the fault hits; others pass it by.
    """

    kind: FaultKind
    times: Annotated[int, msgspec.Meta(ge=1)] = 1
    retry_after: Annotated[int, msgspec.Meta(ge=0)] | None = 2
    delay_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    method: Literal["GET", "POST", "PUT", "DELETE"] | None = None
    path: str | None = None


def fault_answer(fault: Fault, flavour: Literal["v1", "v2"], now: Callable[[], datetime]) -> Answer:
    """What ``fault`` answers a request to the ``flavour`` API (``now``: the sandbox's)."""
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    match fault.kind:
        case "rate_limited":
            reset = now() + timedelta(seconds=fault.retry_after or 1)
            headers |= {
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-NearLimit": "true",
                "X-RateLimit-Reset": iso(reset),
                "RateLimit-Reason": "confluence-quota-tenant-based",
            }
            refused = Refused(429, "TOO_MANY_REQUESTS", "Rate limit exceeded")
        case "unavailable":
            refused = Refused(503, "SERVICE_UNAVAILABLE", "Service Unavailable")
        case "server_error":
            headers = {}
            refused = Refused(500, "INTERNAL_SERVER_ERROR", "Internal Server Error")
        case "bad_gateway":
            return Answer(502, BAD_GATEWAY_HTML)
        case "unauthorized":
            refused = Refused(401, "UNAUTHORIZED", "Unauthorized")
            headers = {}
        case _:
            refused = Refused(
                403,
                "FORBIDDEN",
                "The calling user does not have permission to perform this operation",
            )
            headers = {}
    answer = error_answer(flavour, refused)
    answer.headers |= headers
    return answer
