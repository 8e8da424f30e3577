"""The Outlook port: what the connector needs from Microsoft Graph, in its own types.

The msgraph-sdk client (:mod:`.client`) and the in-memory fake (:mod:`.fake`)
implement :class:`OutlookPort`; the connector's actions (:mod:`.service`) see only
this module. Errors are this module's own hierarchy, so nothing above sees
``ODataError``, httpx or azure-identity exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal, Protocol

import msgspec

from dataworkflows.contracts import upstream

__all__ = [
    "Attendee",
    "ContentType",
    "EmailAddress",
    "Event",
    "EventTime",
    "EventWindow",
    "Importance",
    "Message",
    "MessageQuery",
    "OutgoingMail",
    "OutlookAuthError",
    "OutlookError",
    "OutlookInvalidInput",
    "OutlookNotFound",
    "OutlookOutcomeUnknown",
    "OutlookPort",
    "OutlookRateLimited",
    "OutlookUnavailable",
    "SentMail",
]

Importance = Literal["low", "normal", "high"]
ContentType = Literal["text", "html"]


class EmailAddress(msgspec.Struct, frozen=True, kw_only=True):
    """A person or mailbox: display name (may be empty) and SMTP address."""

    name: str | None = None
    address: str | None = None


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """A mail message, normalised from Graph's ``message`` resource."""

    id: str
    subject: str | None
    sender: EmailAddress | None = msgspec.field(default=None, name="from")
    """Who the message is from (Graph's ``from``)."""
    to: list[EmailAddress] = msgspec.field(default_factory=list)
    cc: list[EmailAddress] = msgspec.field(default_factory=list)
    received_at: datetime | None = None
    sent_at: datetime | None = None
    preview: str | None = None
    """The first 255 characters of the body as text (``bodyPreview``)."""
    web_link: str | None = None
    """Opens the message in Outlook on the web."""
    has_attachments: bool = False
    importance: Importance | None = None
    is_read: bool | None = None
    conversation_id: str | None = None


class EventTime(msgspec.Struct, frozen=True, kw_only=True):
    """A wall-clock time in a named time zone, as Graph gives it (``dateTimeTimeZone``)."""

    date_time: str
    """``YYYY-MM-DDTHH:MM:SS`` in ``time_zone`` (no offset)."""
    time_zone: str
    """``UTC`` unless another zone was asked for (an IANA or Windows zone name)."""


class Attendee(msgspec.Struct, frozen=True, kw_only=True):
    """An invitee with their role and answer."""

    name: str | None = None
    address: str | None = None
    type: str | None = None
    """``required``, ``optional`` or ``resource``."""
    response: str | None = None
    """``none``, ``organizer``, ``tentativelyAccepted``, ``accepted``, ``declined`` or
    ``notResponded``."""


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A calendar event (or one occurrence of a recurring one), normalised."""

    id: str
    subject: str | None
    start: EventTime | None
    end: EventTime | None
    is_all_day: bool = False
    is_cancelled: bool = False
    organizer: EmailAddress | None = None
    attendees: list[Attendee] = msgspec.field(default_factory=list)
    location: str | None = None
    online_meeting_url: str | None = None
    """The join URL of the online meeting (Teams), if any."""
    web_link: str | None = None
    type: str | None = None
    """``singleInstance``, ``occurrence``, ``exception`` or ``seriesMaster``."""
    series_master_id: str | None = None


class MessageQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which messages of a mailbox to list (Graph's query options)."""

    folder: str | None = None
    """A well-known folder name (``inbox``, ``sentitems``, ...) or a folder id; None
    lists the whole mailbox."""
    filter: str | None = None
    """An OData ``$filter`` expression, passed as given."""
    search: str | None = None
    """A ``$search`` expression (Graph refuses it together with filter or order_by)."""
    order_by: list[str] | None = None
    page_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 50


class EventWindow(msgspec.Struct, frozen=True, kw_only=True):
    """A calendarView window: every event overlapping ``[start, end)``."""

    start: datetime
    end: datetime
    time_zone: str | None = None
    """Give start and end in this zone (``Prefer: outlook.timezone``); default UTC."""
    page_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class OutgoingMail(msgspec.Struct, frozen=True, kw_only=True):
    """A mail to send."""

    to: list[str]
    subject: str
    body: str
    content_type: ContentType = "text"
    cc: list[str] = msgspec.field(default_factory=list)
    bcc: list[str] = msgspec.field(default_factory=list)
    importance: Importance = "normal"
    save_to_sent_items: bool = True


class SentMail(msgspec.Struct, frozen=True, kw_only=True):
    """The Sent Items copy of a mail this connector sent earlier."""

    id: str
    sent_at: datetime | None = None


class OutlookError(upstream.UpstreamError):
    """Graph refused or failed a request; ``code`` is Graph's error code if any."""


class OutlookAuthError(OutlookError, upstream.AuthFailed):
    """The app's credentials were refused, or it lacks a permission (401/403, token errors)."""


class OutlookNotFound(OutlookError, upstream.NotFound):
    """The mailbox, folder or item does not exist (or is not visible to the app)."""


class OutlookInvalidInput(OutlookError, upstream.Invalid):
    """Graph refused the request's content (a bad filter, parameter or recipient)."""


class OutlookRateLimited(OutlookError, upstream.RateLimited):
    """Throttled (429) after the retries: try again after ``retry_after`` seconds if given."""


class OutlookUnavailable(OutlookError, upstream.Unavailable):
    """Graph did not answer usefully (5xx, network, timeout, circuit open): transient.

    ``status`` is None for transport failures; ``retry_after`` is Graph's hint if any.
    """


class OutlookOutcomeUnknown(OutlookUnavailable):
    """A write whose answer was lost (timeout, 504): Graph may or may not have done it."""


class OutlookPort(Protocol):
    """Port: the Microsoft Graph mail and calendar operations the connector uses.

    ``mailbox`` is a user id or user principal name: the app acts on any mailbox its
    application permissions allow (client credentials; there is no ``/me``).
    """

    def message_pages(self, mailbox: str, query: MessageQuery) -> AsyncIterator[list[Message]]:
        """The mailbox's messages matching ``query``, a page at a time.

        Raises :class:`OutlookNotFound` for an unknown mailbox or folder and
        :class:`OutlookInvalidInput` for a filter Graph refuses.
        """
        ...

    def event_pages(self, mailbox: str, window: EventWindow) -> AsyncIterator[list[Event]]:
        """The calendar view of ``window`` (recurring events expanded), a page at a time."""
        ...

    async def send_mail(
        self, mailbox: str, mail: OutgoingMail, *, idempotency_key: str | None = None
    ) -> None:
        """Send ``mail`` as ``mailbox``; Graph accepts it for delivery (202).

        ``idempotency_key`` is stamped on the message (an extended property) so that
        :meth:`find_sent_mail` can find its Sent Items copy later. Raises
        :class:`OutlookOutcomeUnknown` when the answer was lost.
        """
        ...

    async def find_sent_mail(self, mailbox: str, idempotency_key: str) -> SentMail | None:
        """The Sent Items copy of the mail sent with ``idempotency_key``, or None."""
        ...
