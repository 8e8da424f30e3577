"""Microsoft Graph's mail and calendar resources as the Outlook sandbox serves them.

:class:`GraphResources` answers ``/v1.0`` requests (users, messages, mail folders,
calendarView, sendMail) from a :class:`~.demo_data.DemoTenant`, in Graph's JSON shapes
and with Graph's errors (:class:`GraphError`). Authentication, faults and the HTTP
plumbing are :mod:`.sandbox`'s.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from dataworkflows.sandboxes.outlook import odata
from dataworkflows.sandboxes.outlook.demo_data import (
    Address,
    DemoEvent,
    DemoMailbox,
    DemoMessage,
    DemoTenant,
    EventInstance,
    Person,
    graph_id,
)

__all__ = [
    "DEFAULT_PAGE",
    "EVENT_PROPERTIES",
    "MAX_PAGE",
    "MESSAGE_PROPERTIES",
    "Answer",
    "GraphError",
    "GraphResources",
    "GraphState",
    "Query",
    "SentRecord",
    "graph_error_body",
]

DEFAULT_PAGE: Final = 10
"""Items per page without ``$top``."""
MAX_PAGE: Final = 1000
"""The largest ``$top``."""


class GraphState(Protocol):
    """What the resources need of the sandbox: its data, its URL, its clock and keys."""

    tenant: DemoTenant
    public_url: str
    sent: list[SentRecord]

    def now(self) -> datetime:
        """The sandbox's current time."""
        ...

    def skiptoken(self, offset: int, window: str) -> str:
        """An opaque, signed paging token."""
        ...

    def read_skiptoken(self, token: str, window: str) -> int | None:
        """The offset of a token this sandbox issued for ``window``, else None."""
        ...


@dataclass(slots=True)
class Answer:
    """What a request is answered with: status, JSON body (None: empty) and headers."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


class GraphError(Exception):
    """An error answer in Graph's shape."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def graph_error_body(
    code: str, message: str, request_id: str, client_request_id: str
) -> dict[str, Any]:
    """Graph's error document: ``{"error": {"code", "message", "innerError"}}``."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


class SentRecord(msgspec.Struct, frozen=True):
    """One mail accepted by ``sendMail``: normalised, and as received."""

    mailbox: str
    """The sender's address (the user the request named, resolved)."""
    user: str
    """The user segment as the request spelled it (id or UPN)."""
    subject: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    content_type: str
    body: str
    importance: str
    save_to_sent_items: bool
    extended_properties: dict[str, str]
    sent_message_id: str | None
    """The Sent Items copy's id, when one was saved."""
    raw: dict[str, Any]
    """The JSON body exactly as received (key casing included)."""
    at: str


# -- rendering ---------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
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


def _message_json(message: DemoMessage) -> dict[str, Any]:
    change = _change_key(message.id, message.is_read, message.folder_id)
    return {
        "@odata.etag": f'W/"{change}"',
        "id": message.id,
        "createdDateTime": _iso(message.received),
        "lastModifiedDateTime": _iso(message.received),
        "changeKey": change,
        "categories": list(message.categories),
        "receivedDateTime": _iso(message.received),
        "sentDateTime": _iso(message.sent),
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
    for k in _message_json(
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
_HIDDEN: Final = frozenset({"singleValueExtendedProperties"})

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


def _zone(name: str | None) -> tuple[str, ZoneInfo | None]:
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


def _event_json(instance: EventInstance, zone_name: str, zone: ZoneInfo | None) -> dict[str, Any]:
    event = instance.event
    change = _change_key(instance.id, event.is_cancelled)
    online = event.join_url is not None
    return {
        "@odata.etag": f'W/"{change}"',
        "id": instance.id,
        "createdDateTime": _iso(event.created),
        "lastModifiedDateTime": _iso(event.created),
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
    k for k in _event_json(_empty_instance(), "UTC", None) if not k.startswith("@")
)


def _folder_json(box: DemoMailbox, folder_id: str) -> dict[str, Any]:
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


def _project(item: Mapping[str, Any], select: Sequence[str] | None) -> dict[str, Any]:
    if select is None:
        return {k: v for k, v in item.items() if k not in _HIDDEN}
    chosen = {"@odata.etag", "id", *select}
    return {k: v for k, v in item.items() if k in chosen and k not in _HIDDEN}


# -- requests ----------------------------------------------------------------------------


@dataclass(slots=True)
class Query:
    """The query string: system options by lowercased name, other parameters as given."""

    options: dict[str, str]
    params: dict[str, str]
    raw: list[tuple[str, str]]

    @classmethod
    def parse(cls, query_string: str) -> Query:
        """Split a raw query string (``+`` is a space, as Graph reads it)."""
        raw = parse_qsl(query_string, keep_blank_values=True)
        options: dict[str, str] = {}
        params: dict[str, str] = {}
        for name, value in raw:
            if name.startswith("$"):
                options[name.lower()] = value
            else:
                params[name.lower()] = value
        return cls(options, params, raw)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """The integer option ``name`` within ``[low, high]``, else a 400 GraphError."""
        text = self.options.get(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise GraphError(
                400, "BadRequest", f"Invalid value '{text}' for query option '{name}'."
            ) from None
        if not low <= value <= high:
            raise GraphError(
                400,
                "BadRequest",
                f"The value of query option '{name}' must be between {low} and {high}.",
            )
        return value


_KNOWN_OPTIONS: Final = frozenset(
    {"$select", "$filter", "$orderby", "$top", "$skip", "$search", "$count", "$skiptoken"}
)


def _check_options(query: Query) -> None:
    for name in query.options:
        if name == "$expand":
            raise GraphError(400, "BadRequest", "The sandbox does not support $expand.")
        if name not in _KNOWN_OPTIONS:
            raise GraphError(400, "BadRequest", f"Query option '{name}' is not allowed.")


def _odata(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except odata.ODataQueryError as exc:
        raise GraphError(400, exc.code, exc.message) from None


class GraphResources:
    """Answers ``/v1.0`` requests for one sandbox."""

    def __init__(self, sandbox: GraphState) -> None:
        self.sandbox = sandbox

    def _base(self) -> str:
        return f"{self.sandbox.public_url}/v1.0"

    def _user(self, segment: str) -> tuple[Person, DemoMailbox]:
        person = self.sandbox.tenant.user(segment)
        if person is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{segment}' is invalid.")
        box = self.sandbox.tenant.mailbox_of(person)
        if box is None:
            raise GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        return person, box

    def get(self, segments: list[str], query: Query, prefer: str | None) -> Answer:
        """A GET under ``/v1.0`` (``segments`` of the path after it); raises GraphError."""
        if not segments or segments[0].lower() != "users" or len(segments) < 3:
            return self._unknown(segments)
        user_segment = segments[1]
        _, box = self._user(user_segment)
        rest = [s.lower() for s in segments[2:]]
        context = f"{self._base()}/$metadata#users('{user_segment}')"
        if rest == ["messages"]:
            return self._messages(
                box, None, query, f"users/{quote(user_segment)}/messages", f"{context}/messages"
            )
        if len(rest) == 2 and rest[0] == "messages":
            found = next((m for m in box.messages if m.id == segments[3]), None)
            if found is None:
                raise GraphError(
                    404, "ErrorItemNotFound", "The specified object was not found in the store."
                )
            select = self._select(query, MESSAGE_PROPERTIES, MESSAGE_TYPE)
            body = {
                "@odata.context": f"{context}/messages/$entity",
                **_project(_message_json(found), select),
            }
            return Answer(200, body)
        if rest == ["mailfolders"]:
            folders = [_folder_json(box, f.id) for f in box.folders]
            return Answer(200, {"@odata.context": f"{context}/mailFolders", "value": folders})
        if len(rest) in (2, 3) and rest[0] == "mailfolders":
            folder = box.folder(segments[3])
            if folder is None:
                raise self._bad_folder(segments[3])
            if len(rest) == 2:
                body = {
                    "@odata.context": f"{context}/mailFolders/$entity",
                    **_folder_json(box, folder.id),
                }
                return Answer(200, body)
            if rest[2] == "messages":
                path = f"users/{quote(user_segment)}/mailFolders/{quote(segments[3])}/messages"
                return self._messages(
                    box, folder.id, query, path, f"{context}/mailFolders('{segments[3]}')/messages"
                )
        if rest in (["calendarview"], ["calendar", "calendarview"]):
            path = f"users/{quote(user_segment)}/{'/'.join(segments[2:])}"
            return self._calendar_view(box, query, prefer, path, f"{context}/calendarView")
        return self._unknown(segments[2:])

    @staticmethod
    def _unknown(segments: Sequence[str]) -> Answer:
        first = segments[0] if segments else ""
        if first.lower() == "me":
            raise GraphError(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{first}'.")

    @staticmethod
    def _bad_folder(given: str) -> GraphError:
        if given.startswith("AAMk"):
            return GraphError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")

    @staticmethod
    def _select(query: Query, known: Sequence[str], type_name: str) -> list[str] | None:
        text = query.options.get("$select")
        if text is None:
            return None
        visible = [k for k in known if k not in _HIDDEN]
        selected: list[str] = _odata(lambda: odata.parse_select(text, visible, type_name))
        return selected

    def _messages(
        self, box: DemoMailbox, folder_id: str | None, query: Query, path: str, context: str
    ) -> Answer:
        _check_options(query)
        top = query.integer("$top", DEFAULT_PAGE, 1, MAX_PAGE)
        skip = query.integer("$skip", 0, 0, 1_000_000)
        select = self._select(query, MESSAGE_PROPERTIES, MESSAGE_TYPE)
        search = query.options.get("$search")
        filter_text = query.options.get("$filter")
        order_text = query.options.get("$orderby")
        if search is not None and (filter_text is not None or order_text is not None):
            other = "$filter" if filter_text is not None else "$orderby"
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                f"The query parameter '{other}' is not supported with '$search'.",
            )
        items = [
            _message_json(m) for m in box.messages if folder_id is None or m.folder_id == folder_id
        ]
        expr = None
        if filter_text is not None:
            expr = _odata(lambda: odata.parse_filter(filter_text))
            _odata(lambda: odata.check_properties(expr, MESSAGE_PROPERTIES, MESSAGE_TYPE))
            items = [i for i in items if odata.matches(expr, i)]
        terms: list[odata.OrderTerm] = []
        if order_text is not None:
            terms = _odata(
                lambda: odata.parse_orderby(order_text, MESSAGE_PROPERTIES, MESSAGE_TYPE)
            )
            if expr is not None:
                _require_efficient(expr, terms)
        if search is not None:
            items = [i for i in items if _search_matches(search, i)]
            items = odata.sort_items(items, [odata.OrderTerm(("sentDateTime",), True)])
        elif terms:
            items = odata.sort_items(items, terms)
        else:
            items = odata.sort_items(items, [odata.OrderTerm(("receivedDateTime",), True)])
        page = items[skip : skip + top]
        body: dict[str, Any] = {
            "@odata.context": context + (f"({','.join(select)})" if select else "")
        }
        if query.options.get("$count", "").lower() == "true":
            body["@odata.count"] = len(items)
        body["value"] = [_project(i, select) for i in page]
        if skip + top < len(items):
            kept = [(n, v) for n, v in query.raw if n.lower() != "$skip"]
            body["@odata.nextLink"] = self._link(path, [*kept, ("$skip", str(skip + top))])
        return Answer(200, body)

    def _link(self, path: str, params: Sequence[tuple[str, str]]) -> str:
        return f"{self._base()}/{path}?" + urlencode(params, quote_via=quote, safe="")

    def _calendar_view(
        self, box: DemoMailbox, query: Query, prefer: str | None, path: str, context: str
    ) -> Answer:
        start_text = query.params.get("startdatetime")
        end_text = query.params.get("enddatetime")
        if not start_text or not end_text:
            raise GraphError(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters "
                "StartDateTime and EndDateTime.",
            )
        start = _window_bound(start_text, "StartDateTime")
        end = _window_bound(end_text, "EndDateTime")
        _check_options(query)
        top = query.integer("$top", DEFAULT_PAGE, 1, MAX_PAGE)
        offset = query.integer("$skip", 0, 0, 1_000_000)
        window = f"{_iso(start)}|{_iso(end)}"
        token = query.options.get("$skiptoken")
        if token is not None:
            decoded = self.sandbox.read_skiptoken(token, window)
            if decoded is None:
                raise GraphError(400, "ErrorInvalidParameter", "The $skiptoken is invalid.")
            offset = decoded
        select = self._select(query, EVENT_PROPERTIES, EVENT_TYPE)
        zone_name, zone = _zone(_preferred_zone(prefer))
        items = [_event_json(i, zone_name, zone) for i in box.calendar_view(start, end)]
        filter_text = query.options.get("$filter")
        if filter_text is not None:
            expr = _odata(lambda: odata.parse_filter(filter_text))
            _odata(lambda: odata.check_properties(expr, EVENT_PROPERTIES, EVENT_TYPE))
            items = [i for i in items if odata.matches(expr, i)]
        order_text = query.options.get("$orderby")
        if order_text is not None:
            terms = _odata(lambda: odata.parse_orderby(order_text, EVENT_PROPERTIES, EVENT_TYPE))
            items = odata.sort_items(items, terms)
        page = items[offset : offset + top]
        body: dict[str, Any] = {
            "@odata.context": context + (f"({','.join(select)})" if select else "")
        }
        body["value"] = [_project(i, select) for i in page]
        if offset + top < len(items):
            kept = [(n, v) for n, v in query.raw if n.lower() not in ("$skip", "$skiptoken")]
            next_token = self.sandbox.skiptoken(offset + top, window)
            body["@odata.nextLink"] = self._link(path, [*kept, ("$skiptoken", next_token)])
        headers = {"Preference-Applied": f'outlook.timezone="{zone_name}"'} if prefer else {}
        return Answer(200, body, headers)

    def post(self, segments: list[str], raw: bytes) -> Answer:
        """A POST under ``/v1.0`` (only ``sendMail``); raises GraphError."""
        if not segments or segments[0].lower() != "users" or len(segments) < 3:
            return self._unknown(segments)
        user_segment = segments[1]
        person, _ = self._user(user_segment)
        rest = [s.lower() for s in segments[2:]]
        if rest != ["sendmail"]:
            return self._unknown(segments[2:])
        self._send_mail(person, user_segment, raw)
        return Answer(202, None)

    def _send_mail(self, person: Person, user_segment: str, raw: bytes) -> None:
        try:
            document = json.loads(raw) if raw.strip() else None
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise GraphError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set "
                "and payload is of valid JSON format.",
            )
        parameters = _fields(
            document, ("message", "saveToSentItems"), "the operation 'sendMail'", parameter=True
        )
        message = parameters.get("message")
        if not isinstance(message, dict):
            raise GraphError(
                400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty."
            )
        save = parameters.get("saveToSentItems", True)
        # Microsoft's own sendMail example sends "false" as a string, and Graph takes it.
        if isinstance(save, str) and save.lower() in ("true", "false"):
            save = save.lower() == "true"
        if not isinstance(save, bool):
            raise GraphError(
                400,
                "RequestBodyRead",
                f"Cannot convert the literal '{save}' to the expected type 'Edm.Boolean'.",
            )
        fields = _fields(message, _MESSAGE_WRITABLE, f"type '{MESSAGE_TYPE}'")
        to = _recipient_list(fields, "toRecipients")
        cc = _recipient_list(fields, "ccRecipients")
        bcc = _recipient_list(fields, "bccRecipients")
        if not (to or cc or bcc):
            raise GraphError(
                400,
                "ErrorInvalidRecipients",
                "At least one recipient isn't valid., A message can't be sent because it "
                "contains no recipients.",
            )
        subject = fields.get("subject") or ""
        if not isinstance(subject, str):
            raise GraphError(400, "RequestBodyRead", "The property 'subject' must be a string.")
        content_type, content = _item_body(fields.get("body"))
        importance = _enum_value(
            fields.get("importance", "normal"), ("low", "normal", "high"), "importance"
        )
        extended = _extended(fields.get("singleValueExtendedProperties"))
        sandbox = self.sandbox
        now = sandbox.now().replace(microsecond=0)
        copy = sandbox.tenant.deliver(
            sender=person.email,
            to=to,
            cc=cc,
            bcc=bcc,
            subject=subject,
            body=content,
            content_type=content_type,
            sent=now,
            importance=importance,
            save_to_sent_items=save,
            read_by={person.address.lower(): True},
            extended=extended,
        )
        sandbox.sent.append(
            SentRecord(
                mailbox=person.address,
                user=user_segment,
                subject=subject,
                to=[a.address for a in to],
                cc=[a.address for a in cc],
                bcc=[a.address for a in bcc],
                content_type=content_type,
                body=content,
                importance=importance,
                save_to_sent_items=save,
                extended_properties=extended,
                sent_message_id=copy.id if copy is not None else None,
                raw=document,
                at=_iso(now),
            )
        )


_MESSAGE_WRITABLE: Final = (
    "subject",
    "body",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "importance",
    "categories",
    "from",
    "sender",
    "flag",
    "inferenceClassification",
    "internetMessageHeaders",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "attachments",
    "singleValueExtendedProperties",
    "multiValueExtendedProperties",
    "mentions",
)
_ADDRESS: Final = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def _fields(
    document: Mapping[str, Any], known: Sequence[str], owner: str, *, parameter: bool = False
) -> dict[str, Any]:
    """``document``'s members by their documented spelling, matched case-insensitively;
    annotations (``@odata.type``) dropped; anything else refused as Graph does."""
    by_lower = {k.lower(): k for k in known}
    fields: dict[str, Any] = {}
    for key, value in document.items():
        if key.startswith("@") or "@odata." in key:
            continue
        name = by_lower.get(key.lower())
        if name is None:
            if parameter:
                message = (
                    f"The parameter '{key}' in the request payload is not a valid parameter "
                    f"for {owner}."
                )
            else:
                message = (
                    f"The property '{key}' does not exist on {owner}. Make sure to only use "
                    "property names that are defined by the type or mark the type as open type."
                )
            raise GraphError(400, "RequestBodyRead", message)
        fields[name] = value
    return fields


def _recipient_list(fields: Mapping[str, Any], name: str) -> list[Address]:
    value = fields.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise GraphError(400, "RequestBodyRead", f"The property '{name}' must be a collection.")
    found: list[Address] = []
    for entry in value:
        recipient = (
            _fields(entry, ("emailAddress",), "type 'microsoft.graph.recipient'")
            if isinstance(entry, dict)
            else {}
        )
        address = recipient.get("emailAddress")
        parts = (
            _fields(address, ("address", "name"), "type 'microsoft.graph.emailAddress'")
            if isinstance(address, dict)
            else {}
        )
        text = parts.get("address")
        if not isinstance(text, str) or not _ADDRESS.match(text):
            raise GraphError(
                400,
                "ErrorInvalidRecipients",
                f"At least one recipient isn't valid., Recipient '{text}' is not resolved. All "
                "recipients must be resolved before a message can be submitted.",
            )
        name_text = parts.get("name")
        found.append(Address(name_text if isinstance(name_text, str) else text, text))
    return found


def _item_body(value: object) -> tuple[str, str]:
    if value is None:
        return "text", ""
    if not isinstance(value, dict):
        raise GraphError(400, "RequestBodyRead", "The property 'body' must be an itemBody object.")
    parts = _fields(value, ("contentType", "content"), "type 'microsoft.graph.itemBody'")
    content_type = _enum_value(parts.get("contentType", "text"), ("text", "html"), "bodyType")
    content = parts.get("content") or ""
    if not isinstance(content, str):
        raise GraphError(400, "RequestBodyRead", "The property 'content' must be a string.")
    return content_type, content


def _enum_value(value: object, allowed: Sequence[str], type_name: str) -> str:
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    raise GraphError(
        400,
        "RequestBodyRead",
        f"Cannot convert the literal '{value}' to the expected type 'microsoft.graph.{type_name}'.",
    )


def _extended(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise GraphError(
            400, "RequestBodyRead", "singleValueExtendedProperties must be a collection."
        )
    found: dict[str, str] = {}
    for entry in value:
        parts = (
            _fields(
                entry, ("id", "value"), "type 'microsoft.graph.singleValueLegacyExtendedProperty'"
            )
            if isinstance(entry, dict)
            else {}
        )
        key, text = parts.get("id"), parts.get("value")
        if not isinstance(key, str) or not isinstance(text, str):
            raise GraphError(
                400, "ErrorInvalidProperty", "An extended property needs an id and a value."
            )
        found[key] = text
    return found


def _require_efficient(expr: odata.Expr, terms: Sequence[odata.OrderTerm]) -> None:
    """Graph's rule for $filter with $orderby: ordered properties lead the filter, in order."""
    filtered = odata.filter_properties(expr)
    ordered = [t.text for t in terms]
    if filtered[: len(ordered)] != ordered:
        raise GraphError(
            400,
            "InefficientFilter",
            "The restriction or sort order is too complex for this operation.",
        )


def _search_matches(search: str, item: Mapping[str, Any]) -> bool:
    text = search.strip()
    if len(text) > 1 and text.startswith('"') and text.endswith('"'):
        text = text[1:-1].replace('\\"', '"').strip()
    prop, sep, value = text.partition(":")
    fields: dict[str, list[str]] = {
        "subject": [item["subject"] or ""],
        "body": [item["body"]["content"] or ""],
        "from": [item["from"]["emailAddress"]["name"], item["from"]["emailAddress"]["address"]],
        "to": [a["emailAddress"]["address"] for a in item["toRecipients"]],
    }
    if sep and prop.lower() in fields:
        haystacks = fields[prop.lower()]
        needle = value.strip().strip('"').lower()
    else:
        haystacks = [*fields["subject"], *fields["body"], *fields["from"]]
        needle = text.lower()
    return any(needle in h.lower() for h in haystacks)


def _window_bound(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise GraphError(
            400, "ErrorInvalidParameter", f"The value '{text}' of parameter '{name}' is invalid."
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_PREFER_ZONE: Final = re.compile(r'outlook\.timezone\s*=\s*"([^"]+)"', re.IGNORECASE)


def _preferred_zone(prefer: str | None) -> str | None:
    match = _PREFER_ZONE.search(prefer or "")
    return match.group(1) if match else None
