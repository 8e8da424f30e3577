"""msgraph-sdk's HTTP side as this connector sets it up: :class:`BoundedRetryHandler`
(the SDK's retry middleware with two limits), the token provider for a Graph served
over plain http (a sandbox), and closing the httpx client msgraph-core wrapped.

:func:`~.client.build_outlook_client` assembles the pipeline from these.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.options import RetryHandlerOption

__all__ = ["AsyncCredential", "BoundedRetryHandler", "CredentialTokenProvider", "close_graph_http"]


class BoundedRetryHandler(RetryHandler):
    """The SDK's retry handler, with two limits for a connector behind a durable engine.

    - A ``Retry-After`` above ``max_wait_s`` is not slept: the 429/503 goes back to the
      caller at once with its hint (sleeping minutes inside one step attempt would
      outlast the step's timeout; the engine waits durably instead).
    - A ``POST`` answered 504 is not repeated: the gateway gave up waiting, but Graph
      may have sent the mail; repeating could send it twice.
    """

    def __init__(self, options: RetryHandlerOption, *, max_wait_s: float) -> None:
        super().__init__(options)
        self.max_wait_s = max_wait_s

    def get_delay_time(
        self,
        retry_count: int,
        response: httpx.Response | None = None,
        delay: float = RetryHandlerOption.DEFAULT_DELAY,
    ) -> float:
        """The SDK's delay, or MAX_DELAY (no retry) for a Retry-After above max_wait_s."""
        retry_after = self._get_retry_after(response)
        if retry_after is not None and retry_after > self.max_wait_s:
            return RetryHandlerOption.MAX_DELAY  # the handler then does not retry
        return super().get_delay_time(retry_count, response, delay)

    def should_retry(
        self, request: httpx.Request, options: RetryHandlerOption, response: httpx.Response
    ) -> bool:
        """The SDK's rule, except that a POST answered 504 is never repeated."""
        if request.method.upper() == "POST" and response.status_code == 504:
            return False
        return bool(super().should_retry(request, options, response))


class AsyncCredential(Protocol):
    """What the client needs of a credential (azure-identity's async ones, or
    :class:`~.auth.TokenEndpointCredential`)."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...

    async def close(self) -> None: ...


class CredentialTokenProvider(AccessTokenProvider):
    """Tokens from any async credential, for a Graph served over plain http.

    kiota's azure provider refuses ``http://`` for any host but localhost; a sandbox
    on a compose network is such a host, configured on purpose by the operator. The
    allowed hosts still keep the token from going anywhere but the configured API.
    """

    def __init__(self, credential: AsyncCredential, scopes: list[str], hosts: list[str]) -> None:
        self._credential = credential
        self._scopes = scopes
        self._hosts = AllowedHostsValidator(hosts)

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        if not self._hosts.is_url_host_valid(uri):
            return ""
        token = await self._credential.get_token(*self._scopes)
        return str(token.token)

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts


async def close_graph_http(client: httpx.AsyncClient) -> None:
    """Close a client msgraph-core wrapped, connections included.

    msgraph-core's ``AsyncGraphTransport`` (which replaces the client's transports) has
    no ``aclose``: closing the client alone would leave the wrapped transports' pooled
    connections open. The wrapped ones are closed first.
    """
    for wrapped in (client._transport, *client._mounts.values()):
        inner = getattr(wrapped, "transport", None)
        if isinstance(inner, httpx.AsyncBaseTransport):
            await inner.aclose()
    await client.aclose()
