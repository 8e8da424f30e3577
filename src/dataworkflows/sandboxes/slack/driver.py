"""The Slack sandbox playing Slack towards the bot: signed slash commands, Events API
deliveries and interactivity payloads, sent to ``<bot_url>/slack/...``.

Shapes follow ../shared/reference/slack.md and Slack's docs ("Implementing slash
commands", "Events API", "app_mention event", "Handling user interaction": the
``block_actions`` payload), checked against bolt-python's test payloads:

- command: ``application/x-www-form-urlencoded`` with the documented fields in the
  documented order (``token`` is the app's verification token, never the bot token),
  a fresh ``response_url`` (``<public_url>/commands/<team>/<id>/<secret>``) and
  ``trigger_id``. Slack waits 3,000 ms for the ack; an ack slower than that is not
  shown (``within_deadline: false``). An ack whose body is a JSON message is shown as
  Slack would: ``in_channel`` in the channel's history, otherwise to the user only; a
  plain-text body is shown to the user only.
- event: a JSON ``event_callback`` envelope with an ``app_mention`` event (``type``,
  ``user``, ``text``, ``ts``, ``channel``, ``event_ts``, ``team``, ``blocks``,
  ``client_msg_id``, and ``thread_ts`` in a thread), ``event_id``, ``event_time`` and
  ``authorizations``; redeliveries carry ``X-Slack-Retry-Num`` and
  ``X-Slack-Retry-Reason``. Slack sends ``app_mention`` only for channels the app is
  in, so a mention elsewhere is stored but not delivered.
- action: form field ``payload`` holding the ``block_actions`` JSON, with the message
  the button is on (absent for an ephemeral message, whose ``container`` says
  ``is_ephemeral``) and a fresh ``response_url`` (``<public_url>/actions/...``).

Every request is signed with the signing secret
(:func:`~dataworkflows.contracts.slack_signing.sign_request`)
at the current wall-clock time (what the bot checks its replay window against), unless
the caller asks for another ``timestamp`` or a ``bad_signature`` to test refusals.
The request bodies and the signed POST are :mod:`.driver_base`'s.
"""

from __future__ import annotations

import json
import string
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from dataworkflows.sandboxes.slack.chat import post_bot_message
from dataworkflows.sandboxes.slack.demo_data import (
    DIRECT_MESSAGE_NAME,
    DemoChannel,
    DemoMessage,
    DemoUser,
)
from dataworkflows.sandboxes.slack.driver_base import (
    ActionDelivery,
    CommandDelivery,
    DriverError,
    MentionDelivery,
    VerificationDelivery,
    post_to_bot,
    requested_channel,
    requested_user,
)
from dataworkflows.sandboxes.slack.state import EphemeralMessage, SlackSandbox, random_id
from dataworkflows.sandboxes.slack.views import message_view

__all__ = [
    "send_action",
    "send_command",
    "send_mention",
    "send_url_verification",
]


def _record_ack(
    sandbox: SlackSandbox,
    channel: DemoChannel | None,
    channel_id: str,
    user: DemoUser,
    sent: Mapping[str, Any],
) -> str | None:
    """Show a command's ack as Slack would; where it went (or None)."""
    if sent["status"] != 200 or not sent["within_deadline"] or not sent["body"].strip():
        return None
    body: Any = sent["body"]
    if (sent["content_type"] or "").startswith("application/json"):
        try:
            body = json.loads(sent["body"])
        except ValueError:
            return None
    if isinstance(body, dict):
        text = body.get("text") if isinstance(body.get("text"), str) else None
        blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
        if not text and not blocks:
            return None
        if body.get("response_type") == "in_channel" and channel is not None:
            message = post_bot_message(sandbox, channel, text=text, blocks=blocks)
            return f"in_channel:{message.ts}"
    else:
        text, blocks = str(body), None
    ephemeral = EphemeralMessage(
        ts=sandbox.next_ts(),
        channel=channel_id,
        user=user.id,
        text=text or "",
        blocks=blocks,
        source="ack",
    )
    sandbox.ephemeral.append(ephemeral)
    return f"ephemeral:{ephemeral.ts}"


# -- deliveries --------------------------------------------------------------------------


async def send_command(sandbox: SlackSandbox, request: CommandDelivery) -> dict[str, Any]:
    """Send a signed slash command to ``<bot_url>/slack/commands``."""
    user = requested_user(sandbox, request.user_id)
    channel: DemoChannel | None
    if request.channel_id and request.channel_id.startswith("D"):
        channel_id, channel_name = request.channel_id, DIRECT_MESSAGE_NAME
        # Typed in the person's DM with the app, an in_channel answer shows there; a DM
        # between people has no history here.
        channel = None
        if channel_id == sandbox.workspace.direct_message_id(user.id):
            channel = sandbox.workspace.direct_message(user.id, created=int(sandbox.now()))
    else:
        channel = requested_channel(sandbox, request.channel_id)
        channel_id, channel_name = channel.id, channel.name
    team = sandbox.workspace.team
    minted = sandbox.mint_response_url("commands", channel_id=channel_id, user_id=user.id)
    trigger_id = sandbox.trigger_id()
    fields = {
        "token": sandbox.verification_token,
        "team_id": team.id,
        "team_domain": team.domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user.id,
        "user_name": user.name,
        "command": request.command,
        "text": request.text,
        "api_app_id": sandbox.workspace.bot.app_id,
        "is_enterprise_install": "false",
        "response_url": minted.url,
        "trigger_id": trigger_id,
    }
    body = urllib.parse.urlencode(fields).encode()
    sent = await post_to_bot(
        sandbox,
        "command",
        "/slack/commands",
        body,
        content_type="application/x-www-form-urlencoded",
        signing=request,
    )
    shown = _record_ack(sandbox, channel, channel_id, user, sent)
    return {
        **sent,
        "response_url": minted.url,
        "response_url_id": minted.id,
        "trigger_id": trigger_id,
        "shown": shown,
        "form": fields,
    }


def _mention_blocks(bot_user: str, text: str, block_id: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "rich_text",
            "block_id": block_id,
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "user", "user_id": bot_user},
                        {"type": "text", "text": f" {text}"},
                    ],
                }
            ],
        }
    ]


async def send_mention(sandbox: SlackSandbox, request: MentionDelivery) -> dict[str, Any]:
    """Post ``<@BOT> text`` as the user, then deliver its ``app_mention`` event."""
    user = requested_user(sandbox, request.user)
    channel = requested_channel(sandbox, request.channel)
    if channel.is_archived:
        raise DriverError(400, f"#{channel.name} is archived: nobody can write there")
    ws = sandbox.workspace
    thread_ts = request.thread_ts
    if thread_ts is not None:
        parent = channel.message(thread_ts)
        if parent is None:
            raise DriverError(404, f"no message {thread_ts} in #{channel.name} to reply to")
        thread_ts = parent.thread_ts if parent.is_reply else parent.ts
    text = f"<@{ws.bot.user_id}> {request.text}"
    block_id = random_id(5)
    message = DemoMessage(
        ts=sandbox.next_ts(),
        user=user.id,
        text=text,
        thread_ts=thread_ts,
        blocks=_mention_blocks(ws.bot.user_id, request.text, block_id),
        client_msg_id=str(uuid.uuid4()),
    )
    channel.add(message)
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user.id,
        "text": text,
        "ts": message.ts,
        "channel": channel.id,
        "event_ts": message.ts,
        "team": ws.team.id,
        "client_msg_id": message.client_msg_id,
        "blocks": message.blocks,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        parent = channel.message(thread_ts)
        if parent is not None and parent.user:
            event["parent_user_id"] = parent.user
    event_id = "Ev" + random_id(9, string.ascii_uppercase + string.digits)
    envelope = {
        "token": sandbox.verification_token,
        "team_id": ws.team.id,
        "context_team_id": ws.team.id,
        "context_enterprise_id": None,
        "api_app_id": ws.bot.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team.id,
                "user_id": ws.bot.user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + random_id(40),
    }
    result: dict[str, Any] = {
        "event_id": event_id,
        "ts": message.ts,
        "channel": channel.id,
        "envelope": envelope,
        "delivered": channel.bot_is_member,
        "deliveries": [],
    }
    if not channel.bot_is_member:
        return result
    body = json.dumps(envelope).encode()
    first = request.retry_num
    tries = [first] + [(first or 0) + n for n in range(1, request.redeliver + 1)]
    for retry_num in tries:
        retry = (retry_num, request.retry_reason) if retry_num else None
        sent = await post_to_bot(
            sandbox,
            "event",
            "/slack/events",
            body,
            content_type="application/json",
            signing=request,
            retry=retry,
        )
        result["deliveries"].append({"retry_num": retry_num, **sent})
    return result


async def send_url_verification(
    sandbox: SlackSandbox, request: VerificationDelivery
) -> dict[str, Any]:
    """Send the Events API's ``url_verification`` challenge; did the bot echo it?"""
    challenge = request.challenge or random_id(48)
    body = json.dumps(
        {"token": sandbox.verification_token, "challenge": challenge, "type": "url_verification"}
    ).encode()
    sent = await post_to_bot(
        sandbox,
        "url_verification",
        "/slack/events",
        body,
        content_type="application/json",
        signing=request,
    )
    echoed = sent["status"] == 200 and sent["body"].strip() == challenge
    if sent["status"] == 200 and not echoed:
        try:
            echoed = json.loads(sent["body"]).get("challenge") == challenge
        except (ValueError, AttributeError):
            echoed = False
    return {**sent, "challenge": challenge, "echoed": echoed}


def _find_element(
    blocks: list[dict[str, Any]] | None, action_id: str
) -> tuple[str | None, Mapping[str, Any] | None]:
    for block in blocks or []:
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        elif isinstance(block.get("accessory"), Mapping):
            candidates = [block["accessory"]]
        for element in candidates:
            if isinstance(element, Mapping) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None


async def send_action(sandbox: SlackSandbox, request: ActionDelivery) -> dict[str, Any]:
    """Send a signed ``block_actions`` payload for a click on a button of a message."""
    user = requested_user(sandbox, request.user_id)
    channel = requested_channel(sandbox, request.channel_id)
    ws = sandbox.workspace
    stored = channel.message(request.message_ts)
    ephemeral = next(
        (
            e
            for e in sandbox.ephemeral
            if e.ts == request.message_ts and e.channel == channel.id and not e.deleted
        ),
        None,
    )
    if stored is None and ephemeral is None:
        raise DriverError(404, f"no message {request.message_ts} in #{channel.name}")
    blocks = stored.blocks if stored is not None else ephemeral.blocks if ephemeral else None
    block_id, element = _find_element(blocks, request.action_id)
    if element is None and request.block_id is None:
        raise DriverError(
            400,
            f"the message has no element with action_id {request.action_id!r}; "
            "give block_id to send the action anyway",
        )
    minted = sandbox.mint_response_url(
        "actions",
        channel_id=channel.id,
        user_id=user.id,
        source_ts=request.message_ts,
        source_ephemeral=stored is None,
    )
    trigger_id = sandbox.trigger_id()
    element = element or {}
    action: dict[str, Any] = {
        "action_id": request.action_id,
        "block_id": request.block_id or block_id,
        "value": request.value if request.value is not None else element.get("value"),
        "type": element.get("type", "button"),
        "action_ts": sandbox.next_ts(),
    }
    if isinstance(element.get("text"), Mapping):
        action["text"] = element["text"]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": ws.team.id},
        "api_app_id": ws.bot.app_id,
        "token": sandbox.verification_token,
        "container": {
            "type": "message",
            "message_ts": request.message_ts,
            "channel_id": channel.id,
            "is_ephemeral": stored is None,
        },
        "trigger_id": trigger_id,
        "team": {"id": ws.team.id, "domain": ws.team.domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "state": {"values": {}},
        "response_url": minted.url,
        "actions": [action],
    }
    if stored is not None:
        payload["message"] = message_view(ws, channel, stored)
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    sent = await post_to_bot(
        sandbox,
        "action",
        "/slack/interactivity",
        body,
        content_type="application/x-www-form-urlencoded",
        signing=request,
    )
    return {
        **sent,
        "response_url": minted.url,
        "response_url_id": minted.id,
        "trigger_id": trigger_id,
        "payload": payload,
    }
