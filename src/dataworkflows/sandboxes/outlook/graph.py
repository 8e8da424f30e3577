"""Microsoft Graph's mail and calendar resources as the Outlook sandbox serves them.

:class:`GraphResources` answers ``/v1.0`` requests (users, messages, mail folders,
calendarView, sendMail) from a :class:`~.demo_data.DemoTenant`, in Graph's JSON shapes
(:mod:`.graph_json`) and with Graph's errors (:class:`~.graph_common.GraphError`);
``sendMail`` is :mod:`.sendmail`'s. Authentication, faults and the HTTP plumbing are
:mod:`.app`'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote, urlencode

from dataworkflows.sandboxes.outlook import odata
from dataworkflows.sandboxes.outlook.demo_data import DemoMailbox, Person
from dataworkflows.sandboxes.outlook.graph_common import (
    DEFAULT_PAGE,
    MAX_PAGE,
    Answer,
    GraphError,
    GraphState,
    Query,
    check_options,
    odata_call,
)
from dataworkflows.sandboxes.outlook.graph_json import (
    EVENT_PROPERTIES,
    EVENT_TYPE,
    HIDDEN_PROPERTIES,
    MESSAGE_PROPERTIES,
    MESSAGE_TYPE,
    event_json,
    folder_json,
    iso_utc,
    message_json,
    project,
    resolve_zone,
)
from dataworkflows.sandboxes.outlook.sendmail import send_mail

__all__ = ["GraphResources"]


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
                **project(message_json(found), select),
            }
            return Answer(200, body)
        if rest == ["mailfolders"]:
            folders = [folder_json(box, f.id) for f in box.folders]
            return Answer(200, {"@odata.context": f"{context}/mailFolders", "value": folders})
        if len(rest) in (2, 3) and rest[0] == "mailfolders":
            folder = box.folder(segments[3])
            if folder is None:
                raise self._bad_folder(segments[3])
            if len(rest) == 2:
                body = {
                    "@odata.context": f"{context}/mailFolders/$entity",
                    **folder_json(box, folder.id),
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
        visible = [k for k in known if k not in HIDDEN_PROPERTIES]
        selected: list[str] = odata_call(lambda: odata.parse_select(text, visible, type_name))
        return selected

    def _messages(
        self, box: DemoMailbox, folder_id: str | None, query: Query, path: str, context: str
    ) -> Answer:
        check_options(query)
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
            message_json(m) for m in box.messages if folder_id is None or m.folder_id == folder_id
        ]
        expr = None
        if filter_text is not None:
            expr = odata_call(lambda: odata.parse_filter(filter_text))
            odata_call(lambda: odata.check_properties(expr, MESSAGE_PROPERTIES, MESSAGE_TYPE))
            items = [i for i in items if odata.matches(expr, i)]
        terms: list[odata.OrderTerm] = []
        if order_text is not None:
            terms = odata_call(
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
        body["value"] = [project(i, select) for i in page]
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
        check_options(query)
        top = query.integer("$top", DEFAULT_PAGE, 1, MAX_PAGE)
        offset = query.integer("$skip", 0, 0, 1_000_000)
        window = f"{iso_utc(start)}|{iso_utc(end)}"
        token = query.options.get("$skiptoken")
        if token is not None:
            decoded = self.sandbox.read_skiptoken(token, window)
            if decoded is None:
                raise GraphError(400, "ErrorInvalidParameter", "The $skiptoken is invalid.")
            offset = decoded
        select = self._select(query, EVENT_PROPERTIES, EVENT_TYPE)
        zone_name, zone = resolve_zone(_preferred_zone(prefer))
        items = [event_json(i, zone_name, zone) for i in box.calendar_view(start, end)]
        filter_text = query.options.get("$filter")
        if filter_text is not None:
            expr = odata_call(lambda: odata.parse_filter(filter_text))
            odata_call(lambda: odata.check_properties(expr, EVENT_PROPERTIES, EVENT_TYPE))
            items = [i for i in items if odata.matches(expr, i)]
        order_text = query.options.get("$orderby")
        if order_text is not None:
            terms = odata_call(
                lambda: odata.parse_orderby(order_text, EVENT_PROPERTIES, EVENT_TYPE)
            )
            items = odata.sort_items(items, terms)
        page = items[offset : offset + top]
        body: dict[str, Any] = {
            "@odata.context": context + (f"({','.join(select)})" if select else "")
        }
        body["value"] = [project(i, select) for i in page]
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
        send_mail(self.sandbox, person, user_segment, raw)
        return Answer(202, None)


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
