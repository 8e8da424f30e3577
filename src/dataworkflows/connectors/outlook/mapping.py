"""Between the Outlook port's types and msgraph-sdk's models: Graph's messages and
events read into :class:`~.port.Message` and :class:`~.port.Event`, and the values a
request carries (recipients, a quoted ``$search``, UTC times).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from msgraph.generated.models.email_address import EmailAddress as GraphEmailAddress
from msgraph.generated.models.event import Event as GraphEvent
from msgraph.generated.models.message import Message as GraphMessage
from msgraph.generated.models.recipient import Recipient

from dataworkflows.connectors.outlook.port import (
    Attendee,
    EmailAddress,
    Event,
    EventTime,
    Importance,
    Message,
)

__all__ = ["event_from", "message_from", "quoted", "recipients", "utc"]


def quoted(search: str | None) -> str | None:
    """A ``$search`` value as Graph takes it: in double quotes."""
    # Graph wants the $search value in double quotes: "pizza", "subject:pizza".
    if search is None:
        return None
    text = search.strip()
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        return text
    escaped = text.replace('"', '\\"')
    return f'"{escaped}"'


def utc(moment: dt.datetime) -> str:
    """A time for a query parameter: in UTC, ending in ``Z``."""
    # A naive time means UTC (as Graph reads it); 'Z' avoids a '+' in the query string.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def recipients(addresses: Sequence[str]) -> list[Recipient]:
    """Addresses as Graph's recipients."""
    return [Recipient(email_address=GraphEmailAddress(address=a)) for a in addresses]


def _address(recipient: Recipient | None) -> EmailAddress | None:
    if recipient is None or recipient.email_address is None:
        return None
    return EmailAddress(name=recipient.email_address.name, address=recipient.email_address.address)


def _enum(value: object) -> str | None:
    if value is None:
        return None
    raw = getattr(value, "value", value)
    return str(raw)


_IMPORTANCE: Final[dict[str, Importance]] = {"low": "low", "normal": "normal", "high": "high"}


def message_from(raw: GraphMessage) -> Message:
    """A Graph message as the port's :class:`~.port.Message`."""
    return Message(
        id=str(raw.id),
        subject=raw.subject,
        sender=_address(raw.from_),
        to=[a for a in (_address(r) for r in raw.to_recipients or []) if a is not None],
        cc=[a for a in (_address(r) for r in raw.cc_recipients or []) if a is not None],
        received_at=raw.received_date_time,
        sent_at=raw.sent_date_time,
        preview=raw.body_preview,
        web_link=raw.web_link,
        has_attachments=bool(raw.has_attachments),
        importance=_IMPORTANCE.get(_enum(raw.importance) or ""),
        is_read=raw.is_read,
        conversation_id=raw.conversation_id,
    )


def _event_time(value: Any) -> EventTime | None:
    if value is None or not value.date_time:
        return None
    text = str(value.date_time)
    # Graph sends seven fractional digits ("09:30:00.0000000"); keep whole seconds.
    whole, _, fraction = text.partition(".")
    if fraction.strip("0"):
        whole = text
    return EventTime(date_time=whole, time_zone=str(value.time_zone or "UTC"))


def event_from(raw: GraphEvent) -> Event:
    """A Graph event as the port's :class:`~.port.Event`."""
    attendees = []
    for attendee in raw.attendees or []:
        address = attendee.email_address
        attendees.append(
            Attendee(
                name=address.name if address else None,
                address=address.address if address else None,
                type=_enum(attendee.type),
                response=_enum(attendee.status.response) if attendee.status else None,
            )
        )
    online = raw.online_meeting.join_url if raw.online_meeting is not None else None
    return Event(
        id=str(raw.id),
        subject=raw.subject,
        start=_event_time(raw.start),
        end=_event_time(raw.end),
        is_all_day=bool(raw.is_all_day),
        is_cancelled=bool(raw.is_cancelled),
        organizer=_address(raw.organizer),
        attendees=attendees,
        location=(raw.location.display_name or None) if raw.location is not None else None,
        online_meeting_url=online or raw.online_meeting_url,
        web_link=raw.web_link,
        type=_enum(raw.type),
        series_master_id=raw.series_master_id,
    )
