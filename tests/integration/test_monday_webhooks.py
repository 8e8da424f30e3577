"""The Monday sandbox's webhooks over real HTTP: registered only after the URL answers
monday's challenge, delivered signed on every item change, retried until answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar, Request, Response, post

from dataworkflows.connectors.monday.client import MondayClient
from dataworkflows.connectors.monday.port import MondayInvalidInput, MondayNotFound
from dataworkflows.sandboxes.monday.app import MondaySandbox, create_monday_sandbox_app
from dataworkflows.sandboxes.monday.webhooks import WebhookHub
from tests.support.net import serve_in_process

TOKEN = "sandbox-token-0123456789"
SIGNING_SECRET = "monday-app-signing-secret-for-webhook-tests"
BOARD = "5012345611"  # Borealis Mobile App - Roadmap


@dataclass
class Receiver:
    """An endpoint that records what it is sent; it fails the first ``fail`` deliveries
    and answers challenges only when ``echo`` is set."""

    echo: bool = True
    fail: int = 0
    challenges: list[str] = field(default_factory=list)
    events: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    url: str = ""

    def app(self) -> Litestar:
        @post("/hook", status_code=200)
        async def hook(request: Request[Any, Any, Any]) -> Response[Any]:
            body = json.loads(await request.body())
            if "challenge" in body:
                self.challenges.append(body["challenge"])
                return Response(body if self.echo else {"ok": True})
            self.events.append((body["event"], request.headers.get("authorization")))
            if self.fail > 0:
                self.fail -= 1
                return Response({"error": "busy"}, status_code=503)
            return Response({"ok": True})

        return Litestar([hook])

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.events) < count:
                await asyncio.sleep(0.02)


@asynccontextmanager
async def world(receiver: Receiver) -> AsyncIterator[tuple[MondayClient, MondaySandbox]]:
    hub = WebhookHub(signing_secret=SIGNING_SECRET, retry_interval_s=0.1)
    sandbox = MondaySandbox(token=TOKEN, hub=hub)
    async with (
        serve_in_process(create_monday_sandbox_app(sandbox)) as base,
        serve_in_process(receiver.app()) as receiver_base,
        httpx.AsyncClient(timeout=10) as http,
    ):
        receiver.url = f"{receiver_base}/hook"
        yield MondayClient(token=TOKEN, http=http, url=f"{base}/v2"), sandbox


async def test_a_webhook_is_registered_after_its_challenge_and_gets_signed_changes() -> None:
    """create_webhook challenges the URL; a status change is POSTed with monday's event
    shape and a JWT signed with the app's signing secret, audience the URL."""
    receiver = Receiver()
    async with world(receiver) as (client, sandbox):
        webhook = await client.create_webhook(BOARD, receiver.url, "change_column_value")
        assert len(receiver.challenges) == 1
        assert (webhook.board_id, webhook.event) == (BOARD, "change_column_value")

        item = (await anext(client.item_pages(BOARD)))[0]
        await client.update_item(BOARD, item.id, {"status": {"label": "Stuck"}})
        await receiver.wait_for(1)
        event, authorization = receiver.events[0]
        assert event["type"] == "update_column_value"
        assert (event["boardId"], event["pulseId"]) == (int(BOARD), int(item.id))
        assert (event["columnId"], event["columnType"]) == ("status", "color")
        assert event["value"]["label"]["text"] == "Stuck"
        assert event["triggerUuid"]
        assert event["subscriptionId"] == int(webhook.id)
        assert authorization is not None
        claims = jwt.decode(
            authorization, SIGNING_SECRET, algorithms=["HS256"], audience=receiver.url
        )
        assert claims["exp"] > claims["iat"]

        # Only cells that changed are events; an unchanged value sends nothing.
        await client.update_item(BOARD, item.id, {"status": {"label": "Stuck"}})
        await asyncio.sleep(0.3)
        assert len(receiver.events) == 1
        assert [d.status for d in sandbox.hub.deliveries] == [200]


async def test_a_failed_delivery_is_retried_with_the_same_trigger() -> None:
    """A 503 from the endpoint is retried (monday: once a minute for 30 minutes) with
    the same triggerUuid, so the receiver can tell a retry from a new event."""
    receiver = Receiver(fail=2)
    async with world(receiver) as (client, sandbox):
        await client.create_webhook(BOARD, receiver.url, "create_item")
        created = await client.create_item(BOARD, "Webhook retry")
        await receiver.wait_for(3)
        uuids = {event["triggerUuid"] for event, _ in receiver.events}
        assert len(uuids) == 1
        assert receiver.events[0][0]["type"] == "create_pulse"
        assert receiver.events[0][0]["pulseId"] == int(created.id)
        # The receiver has the third POST before the hub has read its answer and
        # recorded the delivery: wait for the record, as wait_for does for the events.
        async with asyncio.timeout(10):
            while len(sandbox.hub.deliveries) < 3:
                await asyncio.sleep(0.02)
        assert [(d.attempt, d.status) for d in sandbox.hub.deliveries] == [
            (1, 503),
            (2, 503),
            (3, 200),
        ]


async def test_a_url_that_does_not_echo_the_challenge_is_refused() -> None:
    """monday registers nothing when the URL does not answer its challenge."""
    receiver = Receiver(echo=False)
    async with world(receiver) as (client, sandbox):
        with pytest.raises(MondayInvalidInput, match="challenge"):
            await client.create_webhook(BOARD, receiver.url, "create_item")
        assert sandbox.hub.of_board(BOARD) == []
        with pytest.raises(MondayInvalidInput, match="challenge"):
            await client.create_webhook(BOARD, "http://127.0.0.1:9/nothing", "create_item")


async def test_specific_column_webhooks_filter_and_deleted_ones_stop() -> None:
    """change_specific_column_value sends only its column; a deleted webhook nothing."""
    receiver = Receiver()
    async with world(receiver) as (client, _sandbox):
        webhook = await client.create_webhook(
            BOARD, receiver.url, "change_specific_column_value", config={"columnId": "status"}
        )
        assert webhook.config == {"columnId": "status"}
        item = (await anext(client.item_pages(BOARD)))[1]
        await client.update_item(BOARD, item.id, {"date4": {"date": "2031-01-02"}})
        label = "Done" if item.columns["status"].text != "Done" else "Working on it"
        await client.update_item(BOARD, item.id, {"status": {"label": label}})
        await receiver.wait_for(1)
        await asyncio.sleep(0.2)
        assert [e["columnId"] for e, _ in receiver.events] == ["status"]

        await client.delete_webhook(webhook.id)
        with pytest.raises(MondayNotFound):
            await client.delete_webhook(webhook.id)
        await client.update_item(BOARD, item.id, {"status": {"label": "Stuck"}})
        await asyncio.sleep(0.3)
        assert len(receiver.events) == 1
