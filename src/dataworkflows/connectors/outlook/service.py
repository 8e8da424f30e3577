"""The Outlook connector's actions, over the Outlook port.

``outlook.list_messages``, ``outlook.list_events``, ``outlook.send_mail``; Graph's
errors become the connector API's typed errors here (``upstream_code`` keeps Graph's
own code). Served as ``dataworkflows serve connector outlook``.

Sending mail once
-----------------
Graph's ``sendMail`` has no idempotency key and answers 202 with nothing to look up
later, so a retried step could send a mail twice. What is done about it:

1. The connector remembers, per idempotency key, mails it sent (for a day, in
   memory): a retry whose first answer was lost between the engine and this
   connector returns ``already_sent`` without calling Graph.
2. The key is stamped on the mail as a named extended property. When a send's own
   answer was lost (a timeout, a 504, a 500: :class:`OutlookOutcomeUnknown`), or the
   engine retries the step (attempt > 1, also after an engine crash), the Sent Items
   folder is searched for that property before sending again; a copy found there
   means the mail went out.
3. What is left: with ``save_to_sent_items: false`` there is no copy to find, and
   Exchange files the copy a moment after accepting the mail, so a retry within
   that moment can still send twice. Those cases are at-least-once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

import msgspec

from dataworkflows.connectors.outlook.port import (
    ContentType,
    Event,
    EventWindow,
    Importance,
    Message,
    MessageQuery,
    OutgoingMail,
    OutlookAuthError,
    OutlookOutcomeUnknown,
    OutlookPort,
)
from dataworkflows.connectors.toolkit import RecentResults
from dataworkflows.contracts import ActionFailed
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.logging import get_logger

__all__ = [
    "EventList",
    "ListEventsInput",
    "ListMessagesInput",
    "MessageList",
    "SendMailInput",
    "SendMailOutput",
    "outlook_actions",
]

T = TypeVar("T")
_log = get_logger(__name__)

Mailbox = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=320,
        pattern=r"^[^\s/?#]+$",
        description="A user id (GUID) or user principal name (user@example.com)",
    ),
]
Address = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+$",
        description="An SMTP address (name@example.com)",
    ),
]


class ListMessagesInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which messages to list, and how many."""

    mailbox: Mailbox | None = None
    """Whose mailbox (default: OUTLOOK_MAILBOX)."""
    folder: Annotated[str, msgspec.Meta(min_length=1, max_length=512)] | None = None
    """A well-known folder (inbox, sentitems, drafts, archive, deleteditems, junkemail)
    or a folder id; default: every folder."""
    filter: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None
    """An OData $filter, e.g. "receivedDateTime ge 2024-05-01T00:00:00Z and isRead eq false"."""
    search: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    """A $search, e.g. "budget" or "subject:budget" (not together with filter/order_by)."""
    order_by: list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]] | None = None
    """$orderby terms, e.g. ["receivedDateTime desc"]; with a filter, Graph wants these
    properties to lead the filter, in the same order."""
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100
    """Stop after this many messages."""
    page_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 50
    """Messages per request ($top)."""


class MessageList(msgspec.Struct, kw_only=True):
    """Messages, newest first unless ordered otherwise."""

    mailbox: str
    folder: str | None
    count: int
    truncated: bool
    """More messages matched than ``limit``."""
    messages: list[Message]


class ListEventsInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A calendar window: every event overlapping [start, end)."""

    start: datetime
    """ISO-8601; without an offset it means UTC."""
    end: datetime
    mailbox: Mailbox | None = None
    """Whose calendar (default: OUTLOOK_MAILBOX)."""
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    """Give event times in this zone (IANA or Windows name); default UTC."""
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    page_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class EventList(msgspec.Struct, kw_only=True):
    """The events of a window, recurring ones expanded into occurrences, by start."""

    mailbox: str
    start: datetime
    end: datetime
    count: int
    truncated: bool
    events: list[Event]


class SendMailInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A mail to send from ``mailbox``."""

    to: Annotated[list[Address], msgspec.Meta(min_length=1, max_length=500)]
    subject: Annotated[str, msgspec.Meta(max_length=255)]
    body: str
    content_type: ContentType = "text"
    """``text`` or ``html``."""
    cc: Annotated[list[Address], msgspec.Meta(max_length=500)] = msgspec.field(default_factory=list)
    bcc: Annotated[list[Address], msgspec.Meta(max_length=500)] = msgspec.field(
        default_factory=list
    )
    importance: Importance = "normal"
    save_to_sent_items: bool = True
    """Keep a copy in Sent Items (needed to detect a duplicate send on retry)."""
    mailbox: Mailbox | None = None
    """Send as this mailbox (default: OUTLOOK_MAILBOX)."""


class SendMailOutput(msgspec.Struct, kw_only=True):
    """What happened to the mail."""

    mailbox: str
    status: Literal["sent", "already_sent"]
    """``already_sent``: an earlier attempt with the same idempotency key sent it."""
    recipients: int
    sent_message_id: str | None = None
    """The Sent Items copy found for an earlier attempt (only with ``already_sent``)."""


async def _collect(pages: AsyncIterator[list[T]], limit: int) -> tuple[list[T], bool]:
    """Items of ``pages`` up to ``limit``; and whether more existed.

    Callers ask for pages of at most ``limit + 1`` items, so that one extra item, not
    one extra request, tells whether the listing was cut short.
    """
    items: list[T] = []
    async for page in pages:
        items.extend(page)
        if len(items) > limit:
            return items[:limit], True
    return items, False


def outlook_actions(port: OutlookPort, *, default_mailbox: str | None = None) -> ActionSet:
    """The ``outlook`` connector's actions over ``port``.

    ``default_mailbox`` (OUTLOOK_MAILBOX) is used when an input names no mailbox.
    """
    outlook = ActionSet("outlook", description="Mail and calendars of Microsoft 365 (Graph).")
    # Per idempotency key: True once sent, False when an attempt's outcome is unknown.
    sent_keys: RecentResults[bool] = RecentResults()

    def mailbox_of(given: str | None) -> str:
        mailbox = given or default_mailbox
        if not mailbox:
            raise ActionFailed.of(
                "invalid_input",
                "mailbox: no mailbox given and OUTLOOK_MAILBOX is not set",
            )
        return mailbox

    @outlook.action(
        "list_messages",
        effect="read",
        description="Messages of a mailbox (a folder such as inbox, or all), optionally "
        "filtered ($filter), searched ($search) and ordered ($orderby); follows "
        "@odata.nextLink up to `limit`. Each message: id, subject, from, to, cc, received "
        "and sent times, preview, web link, attachments flag, importance, read flag and "
        "conversation id.",
    )
    async def list_messages(data: ListMessagesInput, call: ActionCall) -> MessageList:
        mailbox = mailbox_of(data.mailbox)
        query = MessageQuery(
            folder=data.folder,
            filter=data.filter,
            search=data.search,
            order_by=data.order_by,
            page_size=min(data.page_size, data.limit + 1),
        )
        messages, truncated = await _collect(port.message_pages(mailbox, query), data.limit)
        return MessageList(
            mailbox=mailbox,
            folder=data.folder,
            count=len(messages),
            truncated=truncated,
            messages=messages,
        )

    @outlook.action(
        "list_events",
        effect="read",
        description="Events of a calendar overlapping [start, end) (Graph's calendarView: "
        "recurring meetings expanded into occurrences), by start time. Each event: id, "
        "subject, start and end with their time zone, all-day and cancelled flags, "
        "organizer, attendees with their answers, location and online meeting URL.",
    )
    async def list_events(data: ListEventsInput, call: ActionCall) -> EventList:
        mailbox = mailbox_of(data.mailbox)
        if _aware(data.end) <= _aware(data.start):
            raise ActionFailed.of("invalid_input", "end: must be later than start")
        window = EventWindow(
            start=data.start,
            end=data.end,
            time_zone=data.time_zone,
            page_size=min(data.page_size, data.limit + 1),
        )
        events, truncated = await _collect(port.event_pages(mailbox, window), data.limit)
        return EventList(
            mailbox=mailbox,
            start=data.start,
            end=data.end,
            count=len(events),
            truncated=truncated,
            events=events,
        )

    @outlook.action(
        "send_mail",
        effect="write",
        description="Send a mail (text or HTML) from a mailbox to `to`, `cc` and `bcc`. "
        "With an idempotency key a retried step does not send twice when the first "
        "attempt's mail can be found (in memory, or in Sent Items); see the connector's "
        "documentation for the cases that stay at-least-once.",
    )
    async def send_mail(data: SendMailInput, call: ActionCall) -> SendMailOutput:
        mailbox = mailbox_of(data.mailbox)
        recipients = len(data.to) + len(data.cc) + len(data.bcc)
        key = call.idempotency_key
        known = sent_keys.get(key)
        if known is True:
            return SendMailOutput(mailbox=mailbox, status="already_sent", recipients=recipients)
        if key is not None and data.save_to_sent_items and (known is not None or call.attempt > 1):
            found = await _earlier_copy(port, mailbox, key)
            if found is not None:
                sent_keys.put(key, True)
                return SendMailOutput(
                    mailbox=mailbox,
                    status="already_sent",
                    recipients=recipients,
                    sent_message_id=found,
                )
        mail = OutgoingMail(
            to=list(data.to),
            cc=list(data.cc),
            bcc=list(data.bcc),
            subject=data.subject,
            body=data.body,
            content_type=data.content_type,
            importance=data.importance,
            save_to_sent_items=data.save_to_sent_items,
        )
        try:
            await port.send_mail(mailbox, mail, idempotency_key=key)
        except OutlookOutcomeUnknown:
            if key is not None:
                sent_keys.put(key, False)
            raise
        if key is not None:
            sent_keys.put(key, True)
        return SendMailOutput(mailbox=mailbox, status="sent", recipients=recipients)

    return outlook


async def _earlier_copy(port: OutlookPort, mailbox: str, key: str) -> str | None:
    """The id of the Sent Items copy of an earlier attempt, or None.

    When the app may not read the mailbox (no Mail.Read), the check cannot be made;
    sending is then the only way forward, and the log says so.
    """
    try:
        found = await port.find_sent_mail(mailbox, key)
    except OutlookAuthError as exc:
        _log.warning(
            "cannot check Sent Items for an earlier attempt; sending again",
            mailbox=mailbox,
            error=exc.message,
        )
        return None
    return found.id if found is not None else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
