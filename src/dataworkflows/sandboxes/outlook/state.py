"""The Outlook sandbox's state: the demo tenant, the app registration it issues and
checks tokens for, signed paging tokens, queued faults, and the logs tests read
(:class:`RecordedRequest`, the :class:`~.graph_common.SentRecord` of sent mail).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Final, Literal

import jwt
import msgspec

from dataworkflows.runtime.credentials import bearer_token
from dataworkflows.sandboxes.controls import FaultQueue
from dataworkflows.sandboxes.outlook.demo_data import DemoTenant
from dataworkflows.sandboxes.outlook.graph_common import SentRecord
from dataworkflows.sandboxes.outlook.identity import GRAPH_APP_ID, GRAPH_RESOURCE

__all__ = [
    "TOKEN_TTL_S",
    "Fault",
    "FaultKind",
    "OutlookSandbox",
    "RecordedRequest",
    "ResetRequest",
]


TOKEN_TTL_S: Final = 3599


FaultKind = Literal[
    "throttled",
    "unavailable",
    "gateway_timeout",
    "server_error",
    "slow",
    "token_error",
    "invalid_token",
    "forbidden",
]
"""The failures the sandbox can produce on demand (``token_error`` at the token endpoint,
the others on ``/v1.0``)."""


class Fault(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A failure for the next ``times`` requests.

    - ``throttled``: 429 ``TooManyRequests``; ``unavailable``: 503
      ``ServiceUnavailable``; ``gateway_timeout``: 504 ``GatewayTimeout``; each with
      ``Retry-After: <retry_after>`` (an integer; None leaves the header out);
    - ``server_error``: 500 ``generalException``; ``slow``: wait ``delay_s``, then answer;
    - ``invalid_token``: 401 ``InvalidAuthenticationToken``; ``forbidden``: 403
      ``ErrorAccessDenied``;
    - ``token_error``: the token endpoint answers 401 ``invalid_client`` (an expired
      client secret, AADSTS7000222).

    ``after_processing``: do the work first (send the mail), then fail: an answer lost
    after Graph acted.
    """

    kind: FaultKind
    times: Annotated[int, msgspec.Meta(ge=1)] = 1
    retry_after: Annotated[int, msgspec.Meta(ge=0)] | None = 2
    delay_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    after_processing: bool = False


class RecordedRequest(msgspec.Struct, frozen=True):
    """One request as received, with its answer's status. Credentials are masked."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    """``Bearer ***`` / ``Basic ***`` when a credential was sent, else None."""
    client_request_id: str | None
    retry_attempt: str | None
    """The ``Retry-Attempt`` header msgraph-sdk's retry handler adds to a repeat."""
    prefer: str | None
    form: dict[str, str] | None
    """A token request's form fields (``client_secret`` masked)."""
    status: int
    at: float
    """``time.monotonic()`` of this process when the request arrived."""


class ResetRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Optional settings for ``POST /sandbox/reset``."""

    anchor: date | None = None
    """The date the demo data is placed around (default: today, UTC)."""
    seed: int | None = None
    token_ttl_s: Annotated[int, msgspec.Meta(ge=1, le=86_400)] | None = None


class OutlookSandbox:
    """State of one sandbox: the tenant's data, its app registration, faults, logs.

    ``public_url`` is how clients reach this sandbox (``@odata.nextLink`` and
    ``@odata.context`` start with it). ``anchor`` fixes the demo data's date (default:
    today in UTC); ``clock`` (seconds since the epoch) dates tokens and sent mail.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        public_url: str,
        seed: int = 7,
        anchor: date | None = None,
        clock: Callable[[], float] = time.time,
        token_ttl_s: int = TOKEN_TTL_S,
    ) -> None:
        if not (tenant_id and client_id and client_secret):
            raise ValueError("the sandbox needs a tenant id, a client id and a client secret")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.seed = seed
        self.token_ttl_s = token_ttl_s
        self.fixed_anchor = anchor
        self.tenant = DemoTenant.seeded(seed, anchor=anchor or self._today())
        self.requests: list[RecordedRequest] = []
        self.sent: list[SentRecord] = []
        self._api_faults: FaultQueue[Fault] = FaultQueue()
        self._token_faults: FaultQueue[Fault] = FaultQueue()
        # Per instance: tokens of another (or a restarted) sandbox are refused.
        self._key = secrets.token_bytes(32)

    def _today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()

    def now(self) -> datetime:
        """The sandbox's current time."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next ``fault.times`` requests it applies to."""
        queue = self._token_faults if fault.kind == "token_error" else self._api_faults
        queue.add(fault, fault.times)

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self._api_faults.clear()
        self._token_faults.clear()

    def reset(
        self, *, anchor: date | None = None, seed: int | None = None, token_ttl_s: int | None = None
    ) -> None:
        """Reseed (with a new anchor or seed if given); forget faults, requests, sent mail."""
        if seed is not None:
            self.seed = seed
        if anchor is not None:
            self.fixed_anchor = anchor
        if token_ttl_s is not None:
            self.token_ttl_s = token_ttl_s
        self.tenant = DemoTenant.seeded(self.seed, anchor=self.fixed_anchor or self._today())
        self.requests.clear()
        self.sent.clear()
        self.clear_faults()

    def take_fault(self, *, token: bool) -> Fault | None:
        """The fault for the request arriving now, if one is queued."""
        return (self._token_faults if token else self._api_faults).take()

    def issue_token(self) -> str:
        """A new access token for the registered app."""
        now = int(self.clock())
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.token_ttl_s,
            "app_displayname": "Data Workflows",
            "appid": self.client_id,
            "idtyp": "app",
            "roles": ["Calendars.Read", "Mail.Read", "Mail.Send"],
            "tid": self.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        return jwt.encode(claims, self._key, algorithm="HS256", headers={"typ": "JWT"})

    def token_problem(self, authorization: str | None) -> str | None:
        """Why ``authorization`` is not a valid bearer token of this sandbox, or None."""
        token = bearer_token(authorization)
        if token is None:
            return "Access token is empty."
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=[GRAPH_RESOURCE, GRAPH_APP_ID],
                options={"verify_exp": False, "require": ["exp", "aud"]},
            )
        except jwt.InvalidAudienceError:
            return "Access token validation failure. Invalid audience."
        except jwt.DecodeError:
            return "IDX14100: JWT is not well formed, there are no dots (.) or it is not a JWS."
        except jwt.InvalidTokenError:
            return "Access token validation failure."
        if claims.get("appid") != self.client_id:
            return "Access token validation failure."
        if float(claims["exp"]) <= self.clock():
            return "Lifetime validation failed, the token is expired."
        return None

    def skiptoken(self, offset: int, window: str) -> str:
        """An opaque, signed paging token for ``offset`` into ``window``."""
        payload = json.dumps({"o": offset, "w": window}, separators=(",", ":")).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def read_skiptoken(self, token: str, window: str) -> int | None:
        """The offset of a skiptoken this sandbox issued for ``window``, else None."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        payload, mac = raw[:-12], raw[-12:]
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()[:12]
        if not payload or not hmac.compare_digest(mac, expected):
            return None
        data = json.loads(payload)
        if data.get("w") != window:
            return None
        return int(data["o"])
