"""Graph's JSON shapes of the Outlook sandbox's data: messages, events (in a
``Prefer: outlook.timezone``), mail folders, and ``$select`` projections of them,
with the property names ``$select``, ``$filter`` and ``$orderby`` may use.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dataworkflows.sandboxes.outlook.demo_data import (
    Address,
    DemoEvent,
    DemoMailbox,
    DemoMessage,
    EventInstance,
    graph_id,
)

__all__ = [
    "EVENT_PROPERTIES",
    "EVENT_TYPE",
    "HIDDEN_PROPERTIES",
    "MESSAGE_PROPERTIES",
    "MESSAGE_TYPE",
    "event_json",
    "folder_json",
    "iso_utc",
    "message_json",
    "project",
    "resolve_zone",
]


def iso_utc(moment: datetime) -> str:
    """``moment`` as Graph writes a UTC ``DateTimeOffset``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _email(address: Address) -> dict[str, Any]:
    return {"emailAddress": {"name": address.name, "address": address.address}}


def _preview(body: str) -> str:
    text = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(re.sub(r"\s+", " ", text).strip())[:255]


def _change_key(*parts: object) -> str:
    return "CQAAABYAAAC" + graph_id("change", *parts)[6:30]


MESSAGE_TYPE: Final = "microsoft.graph.message"
EVENT_TYPE: Final = "microsoft.graph.event"


def message_json(message: DemoMessage) -> dict[str, Any]:
    """``message`` as Graph shows it (every property; see :func:`project`)."""
    change = _change_key(message.id, message.is_read, message.folder_id)
    return {
        "@odata.etag": f'W/"{change}"',
        "id": message.id,
        "createdDateTime": iso_utc(message.received),
        "lastModifiedDateTime": iso_utc(message.received),
        "changeKey": change,
        "categories": list(message.categories),
        "receivedDateTime": iso_utc(message.received),
        "sentDateTime": iso_utc(message.sent),
        "hasAttachments": message.has_attachments,
        "internetMessageId": message.internet_message_id,
        "subject": message.subject,
        "bodyPreview": _preview(message.body),
        "importance": message.importance,
        "parentFolderId": message.folder_id,
        "conversationId": message.conversation_id,
        "conversationIndex": base64.b64encode(message.conversation_id.encode()[:22]).decode(),
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isRead": message.is_read,
        "isDraft": False,
        "webLink": "https://outlook.office365.com/owa/?ItemID="
        + quote(message.id, safe="")
        + "&exvsurl=1&viewmodel=ReadMessageItem",
        "inferenceClassification": "focused",
        "body": {"contentType": message.content_type, "content": message.body},
        "sender": _email(message.sender),
        "from": _email(message.sender),
        "toRecipients": [_email(a) for a in message.to],
        "ccRecipients": [_email(a) for a in message.cc],
        "bccRecipients": [_email(a) for a in message.bcc],
        "replyTo": [],
        "flag": {"flagStatus": "notFlagged"},
        # Filterable, but only returned through $expand (which the sandbox does not do).
        "singleValueExtendedProperties": [
            {"id": k, "value": v} for k, v in message.extended.items()
        ],
    }


MESSAGE_PROPERTIES: Final = tuple(
    k
    for k in message_json(
        DemoMessage(
            id="",
            folder_id="",
            subject="",
            body="",
            content_type="html",
            sender=Address("", ""),
            to=[],
            cc=[],
            bcc=[],
            sent=datetime(2000, 1, 1, tzinfo=UTC),
            received=datetime(2000, 1, 1, tzinfo=UTC),
            is_read=False,
            importance="normal",
            has_attachments=False,
            conversation_id="",
            internet_message_id="",
        )
    )
    if not k.startswith("@")
)
HIDDEN_PROPERTIES: Final = frozenset({"singleValueExtendedProperties"})

_WINDOWS_ZONES: Final[Mapping[str, str]] = {
    "utc": "UTC",
    "pacific standard time": "America/Los_Angeles",
    "mountain standard time": "America/Denver",
    "central standard time": "America/Chicago",
    "eastern standard time": "America/New_York",
    "gmt standard time": "Europe/London",
    "w. europe standard time": "Europe/Berlin",
    "romance standard time": "Europe/Paris",
    "central european standard time": "Europe/Warsaw",
    "tokyo standard time": "Asia/Tokyo",
    "india standard time": "Asia/Kolkata",
    "aus eastern standard time": "Australia/Sydney",
}


def resolve_zone(name: str | None) -> tuple[str, ZoneInfo | None]:
    """The zone of a ``Prefer: outlook.timezone`` (IANA or Windows name), or UTC."""
    if not name:
        return "UTC", None
    iana = _WINDOWS_ZONES.get(name.lower(), name)
    try:
        return name, ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC", None


def _local(moment: datetime, zone: ZoneInfo | None) -> str:
    value = moment.astimezone(zone) if zone is not None else moment.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + ".0000000"


def event_json(instance: EventInstance, zone_name: str, zone: ZoneInfo | None) -> dict[str, Any]:
    """An event occurrence as calendarView shows it, its times in ``zone``."""
    event = instance.event
    change = _change_key(instance.id, event.is_cancelled)
    online = event.join_url is not None
    return {
        "@odata.etag": f'W/"{change}"',
        "id": instance.id,
        "createdDateTime": iso_utc(event.created),
        "lastModifiedDateTime": iso_utc(event.created),
        "changeKey": change,
        "categories": [],
        "transactionId": None,
        "originalStartTimeZone": "UTC",
        "originalEndTimeZone": "UTC",
        "iCalUId": event.ical_uid,
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": not event.is_all_day,
        "hasAttachments": False,
        "subject": event.subject,
        "bodyPreview": _preview(event.body),
        "importance": event.importance,
        "sensitivity": "normal",
        "isAllDay": event.is_all_day,
        "isCancelled": event.is_cancelled,
        "isOrganizer": event.is_organizer,
        "responseRequested": True,
        "seriesMasterId": instance.series_master_id,
        "showAs": event.show_as,
        "type": instance.type,
        "webLink": "https://outlook.office365.com/owa/?itemid="
        + quote(instance.id, safe="")
        + "&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": online,
        "onlineMeetingProvider": "teamsForBusiness" if online else "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {
            "response": event.response,
            "time": "0001-01-01T00:00:00Z",
        },
        "body": {"contentType": "html", "content": event.body},
        "start": {"dateTime": _local(instance.start, zone), "timeZone": zone_name},
        "end": {"dateTime": _local(instance.end, zone), "timeZone": zone_name},
        "location": {
            "displayName": event.location or "",
            "locationType": "default",
            "uniqueIdType": "unknown",
        },
        "locations": [{"displayName": event.location, "locationType": "default"}]
        if event.location
        else [],
        # calendarView returns occurrences and single events, never series masters.
        "recurrence": None,
        "attendees": [
            {
                "type": kind,
                "status": {"response": answer, "time": "0001-01-01T00:00:00Z"},
                **_email(who),
            }
            for who, kind, answer in event.attendees
        ],
        "organizer": _email(event.organizer),
        "onlineMeeting": {"joinUrl": event.join_url} if online else None,
    }


def _empty_instance() -> EventInstance:
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    event = DemoEvent(
        id="",
        ical_uid="",
        subject="",
        body="",
        organizer=Address("", ""),
        attendees=[],
        start=moment,
        end=moment,
        is_all_day=False,
        location=None,
        join_url=None,
        is_cancelled=False,
        is_organizer=False,
        response="none",
        created=moment,
    )
    return EventInstance(event, "", "singleInstance", moment, moment)


EVENT_PROPERTIES: Final = tuple(
    k for k in event_json(_empty_instance(), "UTC", None) if not k.startswith("@")
)


def folder_json(box: DemoMailbox, folder_id: str) -> dict[str, Any]:
    """The mail folder ``folder_id`` of ``box`` as Graph shows it."""
    folder = next(f for f in box.folders if f.id == folder_id)
    inside = [m for m in box.messages if m.folder_id == folder.id]
    return {
        "id": folder.id,
        "displayName": folder.display_name,
        "parentFolderId": folder.parent_id,
        "childFolderCount": 0,
        "unreadItemCount": sum(not m.is_read for m in inside),
        "totalItemCount": len(inside),
        "sizeInBytes": sum(len(m.body) + 512 for m in inside),
        "isHidden": False,
    }


def project(item: Mapping[str, Any], select: Sequence[str] | None) -> dict[str, Any]:
    """``item`` cut down to ``$select`` (id and etag always), hidden properties left out."""
    if select is None:
        return {k: v for k, v in item.items() if k not in HIDDEN_PROPERTIES}
    chosen = {"@odata.etag", "id", *select}
    return {k: v for k, v in item.items() if k in chosen and k not in HIDDEN_PROPERTIES}
