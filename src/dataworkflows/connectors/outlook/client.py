"""The real Outlook adapter: Microsoft Graph through msgraph-sdk's ``GraphServiceClient``.

Wire rules (../shared/reference/microsoft-graph.md): app-only (client credentials)
tokens for ``https://graph.microsoft.com/.default``; mailboxes addressed as
``/users/{id|upn}`` (there is no ``/me`` without a user); lists paged by following
``@odata.nextLink`` whole; errors are ``{"error": {"code", "message", "innerError"}}``
and surface as ``ODataError``. :mod:`.translation` turns those into the port's errors,
:mod:`.mapping` Graph's models into the port's types.

Retries: the SDK's own retry middleware (msgraph-core's default pipeline) retries
429/503/504, waiting exactly ``Retry-After`` when given and backing off exponentially
otherwise. Two rules are added by :class:`~.graph_http.BoundedRetryHandler`: a
``Retry-After`` longer than ``max_wait_s`` is not slept here (the typed error carries
it to the engine, which retries the step durably), and a ``POST`` that timed out at
the gateway (504) is not repeated (the mail may have been sent). Reads are additionally
retried with stamina on what the middleware does not cover (network failures, 500/502),
and a circuit breaker stops calling a Graph that keeps failing.

This module imports msgraph-sdk (a second or more), as do :mod:`.graph_http`,
:mod:`.mapping` and :mod:`.translation`: only :func:`build_outlook_client` callers
import them, never the component, service or sandbox modules.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

from dataworkflows.connectors.outlook.auth import (
    GRAPH_SCOPE,
    TokenEndpointCredential,
    microsoft_authority,
    token_url_for,
)
from dataworkflows.connectors.outlook.graph_http import (
    AsyncCredential,
    BoundedRetryHandler,
    CredentialTokenProvider,
    close_graph_http,
)
from dataworkflows.connectors.outlook.mapping import (
    event_from,
    message_from,
    quoted,
    recipients,
    utc,
)
from dataworkflows.connectors.outlook.port import (
    Event,
    EventWindow,
    Message,
    MessageQuery,
    OutgoingMail,
    OutlookOutcomeUnknown,
    OutlookUnavailable,
    SentMail,
)
from dataworkflows.connectors.outlook.translation import translate
from dataworkflows.connectors.toolkit.transport import Upstream
from dataworkflows.contracts import UpstreamError
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.resilience import CircuitBreaker

# msgraph's generated request builders (and kiota-abstractions) warn while their modules
# are imported that classes of their own are deprecated (GetQueryParameters, the
# per-builder RequestConfiguration classes). Nothing here can act on that. The SDK
# imports a builder lazily, the first time a path goes through it, so every builder on
# the paths this client uses is imported here, once, with those warnings silenced;
# later navigation finds them loaded and warns no more.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"msgraph\..*")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"kiota_abstractions\..*")
    import msgraph.generated.users.item.mail_folders.item.mail_folder_item_request_builder
    import msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder
    import msgraph.generated.users.item.mail_folders.mail_folders_request_builder
    import msgraph.generated.users.item.send_mail.send_mail_request_builder
    import msgraph.generated.users.item.user_item_request_builder
    import msgraph.generated.users.users_request_builder  # noqa: F401
    from kiota_abstractions.authentication import (
        AuthenticationProvider,
        BaseBearerTokenAuthenticationProvider,
    )
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_abstractions.request_option import RequestOption
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.kiota_client_factory import KiotaClientFactory
    from kiota_http.middleware import RetryHandler
    from kiota_http.middleware.options import RetryHandlerOption
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.event import Event as GraphEvent
    from msgraph.generated.models.importance import Importance as GraphImportance
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.message import Message as GraphMessage
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.single_value_legacy_extended_property import (
        SingleValueLegacyExtendedProperty,
    )
    from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
        CalendarViewRequestBuilder,
    )
    from msgraph.generated.users.item.messages.messages_request_builder import (
        MessagesRequestBuilder,
    )
    from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
        SendMailPostRequestBody,
    )
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_request_adapter import options as graph_options
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory  # type: ignore[import-untyped]  # no py.typed
    from msgraph_core.middleware import GraphTelemetryHandler  # type: ignore[import-untyped]
    from msgraph_core.middleware.options import (  # type: ignore[import-untyped]
        GraphTelemetryHandlerOption,
    )

__all__ = [
    "DEFAULT_API_URL",
    "IDEMPOTENCY_PROPERTY_ID",
    "OutlookClient",
    "build_outlook_client",
    "warm_up",
]

DEFAULT_API_URL: Final = "https://graph.microsoft.com/v1.0"

IDEMPOTENCY_PROPERTY_ID: Final = (
    "String {6f0c5b1e-2d4a-4e8b-9a55-3c1d2e7f9b40} Name DataWorkflowsIdempotencyKey"
)
"""The named extended property a sent mail carries its idempotency key in, so that its
Sent Items copy can be found with ``singleValueExtendedProperties/Any(...)``."""

_MESSAGE_FIELDS: Final = [
    "id",
    "subject",
    "from",
    "toRecipients",
    "ccRecipients",
    "receivedDateTime",
    "sentDateTime",
    "bodyPreview",
    "webLink",
    "hasAttachments",
    "importance",
    "isRead",
    "conversationId",
]
_EVENT_FIELDS: Final = [
    "id",
    "subject",
    "start",
    "end",
    "isAllDay",
    "isCancelled",
    "organizer",
    "attendees",
    "location",
    "onlineMeeting",
    "onlineMeetingUrl",
    "webLink",
    "type",
    "seriesMasterId",
]

_log = get_logger(__name__)
T = TypeVar("T")


class OutlookClient:
    """:class:`~dataworkflows.connectors.outlook.port.OutlookPort` over msgraph-sdk.

    Build it with :func:`build_outlook_client`; close it with :meth:`aclose` (or use
    it as an async context manager).
    """

    def __init__(
        self,
        *,
        graph: GraphServiceClient,
        credential: AsyncCredential,
        closers: Sequence[Callable[[], Awaitable[None]]] = (),
        attempts: int = 3,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.graph = graph
        self.credential = credential
        self._closers = list(closers)
        self._upstream = Upstream(
            "Microsoft Graph",
            unavailable=OutlookUnavailable,
            attempts=attempts,
            wait_max=10.0,
            retry_on=_retry_here,
            breaker=breaker,
        )
        self.breaker = self._upstream.breaker

    async def __aenter__(self) -> OutlookClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the credential and the HTTP clients this client opened."""
        for close in self._closers:
            await close()
        self._closers.clear()

    # The port -----------------------------------------------------------------------

    async def message_pages(
        self, mailbox: str, query: MessageQuery
    ) -> AsyncIterator[list[Message]]:
        user = self.graph.users.by_user_id(mailbox)
        if query.folder:
            builder: _MessageList = user.mail_folders.by_mail_folder_id(query.folder).messages
        else:
            builder = user.messages
        parameters = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            select=list(_MESSAGE_FIELDS),
            filter=query.filter,
            search=quoted(query.search),
            orderby=list(query.order_by) if query.order_by else None,
            top=query.page_size,
        )
        config = RequestConfiguration[Any](query_parameters=parameters)
        page = await self._read(lambda: builder.get(request_configuration=config))
        while page is not None:
            yield [message_from(m) for m in page.value or []]
            next_link = page.odata_next_link
            if not next_link:
                return
            page = await self._read(functools.partial(builder.with_url(next_link).get))

    async def event_pages(self, mailbox: str, window: EventWindow) -> AsyncIterator[list[Event]]:
        view = self.graph.users.by_user_id(mailbox).calendar_view
        parameters = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time=utc(window.start),
            end_date_time=utc(window.end),
            select=list(_EVENT_FIELDS),
            orderby=["start/dateTime"],
            top=window.page_size,
        )
        config = RequestConfiguration[Any](query_parameters=parameters)
        if window.time_zone:
            config.headers.add("Prefer", f'outlook.timezone="{window.time_zone}"')
        page = await self._read(lambda: view.get(request_configuration=config))
        while page is not None:
            yield [event_from(e) for e in page.value or []]
            next_link = page.odata_next_link
            if not next_link:
                return
            # The zone preference is a header: it goes with every page, not in the link.
            later = RequestConfiguration[Any](headers=config.headers)
            following = functools.partial(view.with_url(next_link).get, later)
            page = await self._read(following)

    async def send_mail(
        self, mailbox: str, mail: OutgoingMail, *, idempotency_key: str | None = None
    ) -> None:
        message = GraphMessage(
            subject=mail.subject,
            body=ItemBody(
                content_type=BodyType.Html if mail.content_type == "html" else BodyType.Text,
                content=mail.body,
            ),
            to_recipients=recipients(mail.to),
            cc_recipients=recipients(mail.cc) or None,
            bcc_recipients=recipients(mail.bcc) or None,
            importance=GraphImportance(mail.importance),
        )
        if idempotency_key is not None:
            message.single_value_extended_properties = [
                SingleValueLegacyExtendedProperty(id=IDEMPOTENCY_PROPERTY_ID, value=idempotency_key)
            ]
        body = SendMailPostRequestBody(message=message, save_to_sent_items=mail.save_to_sent_items)
        send = self.graph.users.by_user_id(mailbox).send_mail
        await self._write(lambda: send.post(body))

    async def find_sent_mail(self, mailbox: str, idempotency_key: str) -> SentMail | None:
        key = idempotency_key.replace("'", "''")
        parameters = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=(
                f"singleValueExtendedProperties/Any(ep: ep/id eq '{IDEMPOTENCY_PROPERTY_ID}' "
                f"and ep/value eq '{key}')"
            ),
            select=["id", "sentDateTime"],
            top=1,
        )
        config = RequestConfiguration[Any](query_parameters=parameters)
        sent = self.graph.users.by_user_id(mailbox).mail_folders.by_mail_folder_id("sentitems")
        page = await self._read(lambda: sent.messages.get(request_configuration=config))
        found = [m for m in (page.value or []) if m.id] if page is not None else []
        if not found:
            return None
        return SentMail(id=str(found[0].id), sent_at=found[0].sent_date_time)

    async def check(self) -> None:
        """Get a token (cached after the first time): proves the credentials work."""
        await self._call(lambda: self.credential.get_token(GRAPH_SCOPE))

    # Calls ----------------------------------------------------------------------------

    async def _read(self, operation: Callable[[], Awaitable[T]]) -> T:
        """A read, retried on failures the SDK middleware does not retry itself."""
        return await self._upstream.call(lambda: self._translated(operation))

    async def _write(self, operation: Callable[[], Awaitable[T]]) -> T:
        """A write, never repeated here: a lost answer becomes OutlookOutcomeUnknown."""
        try:
            return await self._upstream.once(lambda: self._translated(operation, write=True))
        except OutlookOutcomeUnknown:
            raise
        except OutlookUnavailable as exc:
            if exc.status in (500, 502):
                raise OutlookOutcomeUnknown(
                    exc.message, code=exc.code, status=exc.status, retry_after=exc.retry_after
                ) from None
            raise

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """One call, not retried here."""
        return await self._upstream.once(lambda: self._translated(operation))

    @staticmethod
    async def _translated(operation: Callable[[], Awaitable[T]], *, write: bool = False) -> T:
        """``operation``, with what the SDK raises as this port's errors."""
        try:
            return await operation()
        except Exception as exc:
            error = translate(exc, write=write)
            if error is None:
                raise
            raise error from None


class _MessageList(Protocol):
    async def get(self, request_configuration: Any = None) -> Any: ...

    def with_url(self, raw_url: str) -> _MessageList: ...


def warm_up() -> None:
    """Import the model modules msgraph-sdk loads on the first message and event it reads.

    kiota imports them lazily, when a type is first deserialised: several hundred
    modules, seconds on a slow machine, paid by whichever request comes first. The
    component calls this in a thread at start instead.
    """
    GraphMessage().get_field_deserializers()
    GraphEvent().get_field_deserializers()
    ODataError().get_field_deserializers()


def _retry_here(error: UpstreamError) -> bool:
    # 429/503/504 were already retried by the SDK middleware (honouring Retry-After);
    # repeating them here would multiply the attempts. Network failures and 500/502
    # are not retried by the middleware.
    return error.status not in (429, 503, 504)


def build_outlook_client(
    *,
    tenant_id: str,
    client_id: str,
    client_secret: str,
    api_url: str | None = None,
    token_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    token_http: httpx.AsyncClient | None = None,
    max_retries: int = 3,
    retry_base_delay_s: float = 1.0,
    max_wait_s: float = 30.0,
    attempts: int = 3,
    timeout_s: float = 30.0,
    breaker: CircuitBreaker | None = None,
) -> OutlookClient:
    """An :class:`OutlookClient` for an app registration (or a sandbox standing in for one).

    ``api_url`` is Graph's base (default ``https://graph.microsoft.com/v1.0``),
    ``token_url`` the token endpoint (default Microsoft's for the tenant; ``{tenant}``
    is filled in). Microsoft's endpoint (or a national cloud's, same shape, https) is
    used through azure-identity's ``ClientSecretCredential``; any other one (a
    sandbox) through :class:`~.auth.TokenEndpointCredential`.

    ``transport`` carries Graph's requests (default: a new connection pool; the client
    closes it); ``token_http`` the token requests to a sandbox (default: a client of
    its own; one passed in stays the caller's). ``max_retries`` and
    ``retry_base_delay_s`` configure the SDK's retry handler (``RetryHandlerOption``:
    retries after the first attempt, and a delay added to each backoff when no
    ``Retry-After`` is given); ``timeout_s`` bounds each request.
    """
    base = (api_url or DEFAULT_API_URL).rstrip("/")
    endpoint = token_url_for(tenant_id, token_url)
    closers: list[Callable[[], Awaitable[None]]] = []
    timeout = httpx.Timeout(timeout_s, connect=5.0)
    # Our own client: the SDK installs its middleware on it, so it must not be shared.
    graph_http = httpx.AsyncClient(
        transport=transport or httpx.AsyncHTTPTransport(), timeout=timeout
    )
    host = urlsplit(base).hostname or ""
    authority = microsoft_authority(endpoint, tenant_id)
    credential: AsyncCredential
    auth: AuthenticationProvider
    if authority is not None:
        from azure.identity.aio import ClientSecretCredential

        secret_credential = ClientSecretCredential(
            tenant_id, client_id, client_secret, authority=authority
        )
        credential = secret_credential
        auth = AzureIdentityAuthenticationProvider(
            secret_credential, scopes=[GRAPH_SCOPE], allowed_hosts=[host]
        )
    else:
        token_transport = token_http or httpx.AsyncClient(timeout=timeout)
        if token_http is None:
            closers.append(token_transport.aclose)
        credential = TokenEndpointCredential(
            token_url=endpoint,
            client_id=client_id,
            client_secret=client_secret,
            http=token_transport,
        )
        auth = BaseBearerTokenAuthenticationProvider(
            CredentialTokenProvider(credential, [GRAPH_SCOPE], [host])
        )
    closers.insert(0, credential.close)

    options: dict[str, RequestOption] = dict(graph_options)
    retry = RetryHandlerOption(delay=retry_base_delay_s, max_retries=max_retries)
    options[RetryHandlerOption.get_key()] = retry
    # msgraph-core's default pipeline, with its RetryHandler replaced by the bounded one.
    middleware = [
        BoundedRetryHandler(retry, max_wait_s=max_wait_s) if isinstance(m, RetryHandler) else m
        for m in KiotaClientFactory.get_default_middleware(options)
    ]
    middleware.append(GraphTelemetryHandler(options=options[GraphTelemetryHandlerOption.get_key()]))
    GraphClientFactory.create_with_custom_middleware(middleware, client=graph_http)
    closers.append(functools.partial(close_graph_http, graph_http))
    adapter = GraphRequestAdapter(auth, client=graph_http)
    # A setter; without it requests go to graph.microsoft.com whatever the client says.
    adapter.base_url = base
    return OutlookClient(
        graph=GraphServiceClient(request_adapter=adapter),
        credential=credential,
        closers=closers,
        attempts=attempts,
        breaker=breaker,
    )
