"""Graph's ``sendMail`` as the Outlook sandbox answers it: the request body read as
Graph reads it (property names matched case-insensitively, enum values too,
``@odata.type`` annotations ignored, anything else refused), the mail delivered, and
a :class:`~.graph_common.SentRecord` kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from dataworkflows.sandboxes.outlook.demo_data import Address, Person
from dataworkflows.sandboxes.outlook.graph_common import GraphError, GraphState, SentRecord
from dataworkflows.sandboxes.outlook.graph_json import MESSAGE_TYPE, iso_utc

__all__ = ["send_mail"]


def send_mail(sandbox: GraphState, person: Person, user_segment: str, raw: bytes) -> None:
    """Carry out ``sendMail`` for ``person`` (named ``user_segment`` in the path): check
    the JSON body ``raw`` as Graph does, deliver the mail, and log it in
    ``sandbox.sent``; raises GraphError."""
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
            at=iso_utc(now),
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
