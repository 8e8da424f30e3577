"""App-only tokens for Microsoft Graph: which credential to use, and our own for sandboxes.

Production uses azure-identity's ``ClientSecretCredential`` (async) against Microsoft
Entra ID. azure-identity refuses any authority that is not ``https://`` (checked:
``normalize_authority`` raises ``ValueError``), and expects the token endpoint at
``{authority}/{tenant}/oauth2/v2.0/token``; a sandbox on ``http://127.0.0.1`` (or on a
compose network) is neither. For those, :class:`TokenEndpointCredential` performs the
same documented client-credentials POST with httpx and caches the token until shortly
before it expires.

This module imports azure-core (small) but not azure-identity or msgraph; it is only
imported when a client is built.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import stamina
from azure.core.credentials import AccessToken

from dataworkflows.connectors.outlook.port import OutlookAuthError, OutlookUnavailable

__all__ = [
    "DEFAULT_TOKEN_URL",
    "GRAPH_SCOPE",
    "TokenEndpointCredential",
    "microsoft_authority",
    "token_url_for",
]

GRAPH_SCOPE: Final = "https://graph.microsoft.com/.default"
"""The scope of an app-only Graph token: every application permission granted."""

DEFAULT_TOKEN_URL: Final = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"  # noqa: S105  (a URL)

REFRESH_MARGIN_S: Final = 300.0
"""Fetch a new token this long before the cached one expires (less for short tokens)."""

_ENTRA_PATH: Final = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token/?$")


def token_url_for(tenant_id: str, token_url: str | None) -> str:
    """The token endpoint: ``token_url`` (``{tenant}`` filled in) or Microsoft's."""
    return (token_url or DEFAULT_TOKEN_URL).replace("{tenant}", tenant_id)


def microsoft_authority(token_url: str, tenant_id: str) -> str | None:
    """The authority azure-identity can use for ``token_url``, or None when it cannot.

    ``https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`` (or a national
    cloud's host in the same shape) gives ``https://<host>``; anything over plain http,
    or not in that shape, is a token endpoint azure-identity will not call.
    """
    parts = urlsplit(token_url)
    match = _ENTRA_PATH.match(parts.path)
    if parts.scheme != "https" or not parts.netloc or parts.query or match is None:
        return None
    if match.group("tenant").lower() != tenant_id.lower():
        return None
    return f"https://{parts.netloc}"


class TokenEndpointCredential:
    """An async azure-core token credential doing the client-credentials grant with httpx.

    ``get_token`` POSTs ``grant_type=client_credentials`` with the client id, secret
    and scope as a form (RFC 6749 section 4.4, as Microsoft documents it), caches the
    token per scope, and fetches a new one :data:`REFRESH_MARGIN_S` before expiry
    (a quarter of the lifetime for short-lived tokens). Concurrent callers share one
    request. The secret goes only into that form: never into messages or logs.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
        attempts: int = 3,
    ) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._http = http
        self._clock = clock
        self._attempts = attempts
        self._cache: dict[tuple[str, ...], tuple[AccessToken, float]] = {}
        self._lock = asyncio.Lock()
        self.requests = 0
        """Token requests made so far (each one a POST to the token endpoint)."""

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """A valid token for ``scopes`` (default: Graph's ``.default``), cached."""
        key = tuple(scopes) or (GRAPH_SCOPE,)
        cached = self._fresh(key)
        if cached is not None and claims is None:
            return cached
        async with self._lock:
            cached = self._fresh(key)
            if cached is not None and claims is None:
                return cached
            token, refresh_at = await self._request(key)
            self._cache[key] = (token, refresh_at)
            return token

    async def close(self) -> None:
        """Forget cached tokens (the httpx client belongs to whoever passed it)."""
        self._cache.clear()

    async def __aenter__(self) -> TokenEndpointCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _fresh(self, key: tuple[str, ...]) -> AccessToken | None:
        entry = self._cache.get(key)
        if entry is None or self._clock() >= entry[1]:
            return None
        return entry[0]

    async def _request(self, scopes: tuple[str, ...]) -> tuple[AccessToken, float]:
        async for attempt in stamina.retry_context(
            on=OutlookUnavailable, attempts=self._attempts, timeout=None, wait_max=10.0
        ):
            with attempt:
                return await self._request_once(scopes)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request_once(self, scopes: tuple[str, ...]) -> tuple[AccessToken, float]:
        form = {
            "client_id": self._client_id,
            "scope": " ".join(scopes),
            "client_secret": self._secret,
            "grant_type": "client_credentials",
        }
        self.requests += 1
        requested_at = self._clock()
        try:
            response = await self._http.post(
                self.token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.TimeoutException:
            raise OutlookUnavailable("the token endpoint did not answer in time") from None
        except httpx.TransportError as exc:
            raise OutlookUnavailable(
                f"the token endpoint is unreachable ({type(exc).__name__})"
            ) from None
        body = _json_object(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise OutlookUnavailable(
                f"the token endpoint answered HTTP {response.status_code}",
                status=response.status_code,
                code=_str(body.get("error")),
            )
        if response.status_code != 200:
            error = _str(body.get("error")) or f"HTTP {response.status_code}"
            description = _first_line(_str(body.get("error_description")))
            detail = f": {description}" if description else ""
            raise OutlookAuthError(
                f"the token endpoint refused the app's credentials ({error}){detail}",
                code=error,
                status=response.status_code,
            )
        token = body.get("access_token")
        expires_in = body.get("expires_in")
        if not isinstance(token, str) or not token:
            raise OutlookAuthError("the token endpoint answered without an access_token")
        lifetime = _seconds(expires_in)
        expires_on = requested_at + lifetime
        refresh_at = expires_on - min(REFRESH_MARGIN_S, lifetime / 4)
        return AccessToken(token, int(expires_on)), refresh_at


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _first_line(text: str | None) -> str | None:
    # Entra's descriptions end with "Trace ID: ... Correlation ID: ... Timestamp: ..."
    # lines: the first line says what is wrong.
    if text is None:
        return None
    return text.strip().splitlines()[0][:300] if text.strip() else None


def _seconds(value: object) -> float:
    """``expires_in``: a number of seconds, sent as a number or (by some servers) a string."""
    if isinstance(value, int | float) and value > 0:
        return float(value)
    if isinstance(value, str) and value.strip().isdigit():
        return float(value.strip())
    return 3599.0
