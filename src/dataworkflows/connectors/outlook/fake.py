"""An in-memory Outlook port for unit tests of code that uses the port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import msgspec

from dataworkflows.connectors.outlook.port import (
    EmailAddress,
    Event,
    EventTime,
    EventWindow,
    Message,
    MessageQuery,
    OutgoingMail,
    OutlookError,
    OutlookNotFound,
    SentMail,
)

__all__ = ["FakeOutlook", "SentRecord", "demo_events", "demo_messages"]


class SentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One mail handed to :meth:`FakeOutlook.send_mail`."""

    mailbox: str
    mail: OutgoingMail
    idempotency_key: str | None


class FakeOutlook:
    """:class:`~dataworkflows.connectors.outlook.port.OutlookPort` over lists.

    Messages live per mailbox and folder (``None`` lists all folders); events per
    mailbox. Filters and searches are not evaluated: ``queries`` records what was
    asked so tests can check what the service passed on. ``fail_next`` raises the
    given errors from the next calls, in order; ``fail_after_send`` raises its error
    after a mail was recorded (a send whose answer was lost).
    """

    def __init__(self) -> None:
        self.messages: dict[str, dict[str, list[Message]]] = {}
        self.events: dict[str, list[Event]] = {}
        self.sent: list[SentRecord] = []
        self.sent_copies: dict[tuple[str, str], SentMail] = {}
        self.queries: list[tuple[str, MessageQuery | EventWindow]] = []
        self.fail_next: list[OutlookError] = []
        self.fail_after_send: OutlookError | None = None
        self.calls: list[str] = []

    def add_messages(self, mailbox: str, folder: str, messages: list[Message]) -> None:
        """Put ``messages`` in ``folder`` of ``mailbox``."""
        self.messages.setdefault(mailbox, {}).setdefault(folder, []).extend(messages)

    def add_events(self, mailbox: str, events: list[Event]) -> None:
        """Put ``events`` on ``mailbox``'s calendar."""
        self.events.setdefault(mailbox, []).extend(events)

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def message_pages(
        self, mailbox: str, query: MessageQuery
    ) -> AsyncIterator[list[Message]]:
        self._enter("message_pages")
        self.queries.append((mailbox, query))
        folders = self.messages.get(mailbox)
        if folders is None:
            raise OutlookNotFound(f"mailbox {mailbox} not found", code="ErrorInvalidUser")
        by_name = {name.lower(): messages for name, messages in folders.items()}
        if query.folder is None:
            selected = [m for folder in folders.values() for m in folder]
        elif query.folder.lower() in by_name:
            selected = by_name[query.folder.lower()]
        else:
            raise OutlookNotFound(f"folder {query.folder} not found", code="ErrorItemNotFound")
        ordered = sorted(selected, key=lambda m: m.received_at or _EPOCH, reverse=True)
        for start in range(0, max(len(ordered), 1), query.page_size):
            yield ordered[start : start + query.page_size]

    async def event_pages(self, mailbox: str, window: EventWindow) -> AsyncIterator[list[Event]]:
        self._enter("event_pages")
        self.queries.append((mailbox, window))
        if mailbox not in self.events:
            raise OutlookNotFound(f"mailbox {mailbox} not found", code="ErrorInvalidUser")
        start, end = _utc(window.start), _utc(window.end)
        inside = [
            e
            for e in self.events[mailbox]
            if e.start and e.end and _at(e.start) < end and _at(e.end) > start
        ]
        inside.sort(key=lambda e: _at(e.start) if e.start else _EPOCH)
        for first in range(0, max(len(inside), 1), window.page_size):
            yield inside[first : first + window.page_size]

    async def send_mail(
        self, mailbox: str, mail: OutgoingMail, *, idempotency_key: str | None = None
    ) -> None:
        self._enter("send_mail")
        self.sent.append(SentRecord(mailbox=mailbox, mail=mail, idempotency_key=idempotency_key))
        if idempotency_key is not None and mail.save_to_sent_items:
            self.sent_copies[(mailbox, idempotency_key)] = SentMail(
                id=f"sent-{len(self.sent)}", sent_at=datetime.now(UTC)
            )
        if self.fail_after_send is not None:
            error, self.fail_after_send = self.fail_after_send, None
            raise error

    async def find_sent_mail(self, mailbox: str, idempotency_key: str) -> SentMail | None:
        self._enter("find_sent_mail")
        return self.sent_copies.get((mailbox, idempotency_key))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _at(value: EventTime) -> datetime:
    # The fake keeps every event in UTC.
    return datetime.fromisoformat(value.date_time).replace(tzinfo=UTC)


def demo_messages(count: int, *, now: datetime | None = None) -> list[Message]:
    """``count`` messages an hour apart, newest first, for tests."""
    base = now or datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    return [
        Message(
            id=f"msg-{n:05d}",
            subject=f"Status {n}",
            sender=EmailAddress(name="Maya Patel", address="maya.patel@example.com"),
            to=[EmailAddress(name="Jonas Berg", address="jonas.berg@example.com")],
            received_at=base - timedelta(hours=n),
            sent_at=base - timedelta(hours=n, minutes=1),
            preview=f"Preview {n}",
            importance="normal",
            is_read=n % 2 == 0,
            conversation_id=f"conv-{n // 3}",
        )
        for n in range(count)
    ]


def demo_events(count: int, *, start: datetime | None = None) -> list[Event]:
    """``count`` half-hour events a day apart, for tests."""
    base = start or datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    events = []
    for n in range(count):
        begins = base + timedelta(days=n)
        events.append(
            Event(
                id=f"evt-{n:05d}",
                subject=f"Standup {n}",
                start=EventTime(date_time=begins.strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC"),
                end=EventTime(
                    date_time=(begins + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                    time_zone="UTC",
                ),
                organizer=EmailAddress(name="Maya Patel", address="maya.patel@example.com"),
                type="occurrence",
            )
        )
    return events
