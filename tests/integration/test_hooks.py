"""Webhook deliveries over the API: verified ones start one run, others start nothing."""

from __future__ import annotations

import time
from typing import Any

import jwt
import msgspec
import psycopg

from dataworkflows.engine.hooks import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from dataworkflows.engine.store import RunFilter
from tests.support.engine import running_engine

SECRET = "whsec-integration-0123456789"
FLOW = """
name: hooked
inputs: {item: {type: integer}, board: {type: string}}
steps:
  - {id: echo, uses: core.echo, with: {item: "{{ inputs.item }}"}}
"""
HOOK = {
    "workflow": "hooked",
    "verify": {"kind": "hmac", "secret": SECRET},
    "inputs": {"item": "{{ body.event.pulseId }}", "board": "{{ query.board }}"},
}


def delivery(
    body: dict[str, Any],
    *,
    delivery_id: str | None = "d-1",
    secret: str = SECRET,
    at: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    raw = msgspec.json.encode(body)
    stamp = int(time.time()) if at is None else at
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign(secret, raw, stamp),
    }
    if delivery_id is not None:
        headers[DELIVERY_HEADER] = delivery_id
    return raw, headers


async def hook_runs(engine: Any) -> list[Any]:
    runs = await engine.service.list_runs(RunFilter(workflow="hooked", limit=100))
    return [r for r in runs if r.trigger.get("source") == "hook"]


async def test_a_signed_delivery_starts_one_run_and_a_repeat_none(database_url: str) -> None:
    """The body maps to inputs; the same delivery id again answers the same run."""
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        created = await engine.client.put("/v1/hooks/items", json=HOOK)
        assert created.status_code == 201, created.text
        assert SECRET not in created.text
        listed = await engine.client.get("/v1/hooks")
        assert SECRET not in listed.text
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            row = await (await conn.execute("SELECT secret::text FROM dw.hooks")).fetchone()
        assert row is not None
        assert SECRET not in row[0]

        raw, headers = delivery({"event": {"pulseId": 42}})
        hooks = engine.client
        hooks.headers.pop("Authorization")  # senders have no API key
        first = await hooks.post("/v1/hooks/items?board=B1", content=raw, headers=headers)
        assert first.status_code == 202, first.text
        run = first.json()
        assert run["inputs"] == {"item": 42, "board": "B1"}
        assert run["trigger"] == {"source": "hook", "hook": "items", "delivery": "d-1"}
        again = await hooks.post("/v1/hooks/items?board=B1", content=raw, headers=headers)
        assert again.status_code == 200
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["id"] == run["id"]
        assert len(await hook_runs(engine)) == 1


async def test_forged_stale_and_unknown_deliveries_start_nothing(database_url: str) -> None:
    """A wrong signature or an old timestamp is 401; an unknown hook 404; no run starts."""
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        assert (await engine.client.put("/v1/hooks/forged", json=HOOK)).status_code in (200, 201)
        client = engine.client
        client.headers.pop("Authorization")
        before = len(await hook_runs(engine))
        raw, headers = delivery(
            {"event": {"pulseId": 1}}, secret="not-the-secret-000000", delivery_id="f-1"
        )
        forged = await client.post("/v1/hooks/forged?board=x", content=raw, headers=headers)
        assert forged.status_code == 401, forged.text
        assert "signature" in forged.json()["detail"]
        raw, headers = delivery(
            {"event": {"pulseId": 1}}, at=int(time.time()) - 3600, delivery_id="f-2"
        )
        stale = await client.post("/v1/hooks/forged?board=x", content=raw, headers=headers)
        assert stale.status_code == 401
        unsigned = await client.post("/v1/hooks/forged", content=raw)
        assert unsigned.status_code == 401
        unknown = await client.post("/v1/hooks/nope", content=raw, headers=headers)
        assert unknown.status_code == 404
        assert len(await hook_runs(engine)) == before


async def test_bad_bodies_and_bad_hooks_are_clear_errors(database_url: str) -> None:
    """Malformed JSON is 422 on body, an oversized body 413; a hook reading anything but
    body/headers/query is refused when declared; management needs the API key."""
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        assert (await engine.client.put("/v1/hooks/strict", json=HOOK)).status_code in (200, 201)
        bad = await engine.client.put(
            "/v1/hooks/sneaky", json={**HOOK, "inputs": {"item": "{{ steps.x }}"}}
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "inputs"
        raw = b'{"event": '
        stamp = int(time.time())
        headers = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(SECRET, raw, stamp)}
        broken = await engine.client.post("/v1/hooks/strict", content=raw, headers=headers)
        assert broken.status_code == 422
        assert broken.json()["errors"][0]["field"] == "body"
        huge = b"{" + b" " * (300 * 1024) + b"}"
        too_big = await engine.client.post("/v1/hooks/strict", content=huge, headers=headers)
        assert too_big.status_code == 413
        engine.client.headers.pop("Authorization")
        assert (await engine.client.get("/v1/hooks")).status_code == 401
        assert (await engine.client.put("/v1/hooks/strict", json=HOOK)).status_code == 401
        assert (await engine.client.delete("/v1/hooks/strict")).status_code == 401


async def test_bearer_hooks_and_deletion(database_url: str) -> None:
    """A bearer hook takes its token; a deleted hook takes nothing."""
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        body = {**HOOK, "verify": {"kind": "bearer", "secret": SECRET}, "delivery": ""}
        assert (await engine.client.put("/v1/hooks/token", json=body)).status_code in (200, 201)
        payload = msgspec.json.encode({"event": {"pulseId": 7}})
        ok = await engine.client.post(
            "/v1/hooks/token?board=b",
            content=payload,
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        assert ok.status_code == 202, ok.text
        assert ok.json()["trigger"] == {"source": "hook", "hook": "token"}
        # The default delivery id is the X-DW-Delivery header; a sender that sends none
        # starts a run with each delivery, and one that does is answered once per id.
        default = {key: value for key, value in body.items() if key != "delivery"}
        put = await engine.client.put("/v1/hooks/headerless", json=default)
        assert put.json()["delivery"] == "{{ headers['x-dw-delivery'] | default('') }}"
        bearer = {"Authorization": f"Bearer {SECRET}"}
        plain = [
            await engine.client.post(
                "/v1/hooks/headerless?board=b", content=payload, headers=bearer
            )
            for _ in range(2)
        ]
        assert [answer.status_code for answer in plain] == [202, 202], plain[0].text
        assert plain[0].json()["id"] != plain[1].json()["id"]
        assert plain[0].json()["trigger"] == {"source": "hook", "hook": "headerless"}
        named = [
            await engine.client.post(
                "/v1/hooks/headerless?board=b",
                content=payload,
                headers={**bearer, "X-DW-Delivery": "d-1"},
            )
            for _ in range(2)
        ]
        assert [answer.status_code for answer in named] == [202, 200]
        assert named[0].json()["id"] == named[1].json()["id"]
        wrong = await engine.client.post(
            "/v1/hooks/token?board=b",
            content=payload,
            headers={"Authorization": "Bearer wrong-token-0000000"},
        )
        assert wrong.status_code == 401
        assert (await engine.client.delete("/v1/hooks/token")).status_code == 204
        gone = await engine.client.post(
            "/v1/hooks/token?board=b",
            content=payload,
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        assert gone.status_code == 404


async def test_a_monday_hook_answers_the_challenge_and_takes_monday_s_jwt(
    database_url: str,
) -> None:
    """monday's URL challenge is echoed (no run); a delivery signed by the app's secret
    starts a run; an unsigned one is 401; other hooks do not answer challenges."""
    signing_secret = "monday-signing-secret-0123456789abcdef"
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        body = {
            **HOOK,
            "verify": {"kind": "monday", "secret": signing_secret},
            "inputs": {
                "item": "{{ body.event.pulseId }}",
                "board": "{{ body.event.boardId | string }}",
            },
            "delivery": "{{ body.event.triggerUuid }}",
        }
        assert (await engine.client.put("/v1/hooks/monday", json=body)).status_code == 201
        challenge = await engine.client.post(
            "/v1/hooks/monday", json={"challenge": "3eZbrw1aBm2rZgRNFdxV"}
        )
        assert challenge.status_code == 200
        assert challenge.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}
        assert [r for r in await hook_runs(engine) if r.trigger["hook"] == "monday"] == []

        event = {"event": {"pulseId": 42, "boardId": 7, "triggerUuid": "t-1"}}
        token = jwt.encode(
            {"exp": int(time.time()) + 60, "aud": "x"}, signing_secret, algorithm="HS256"
        )
        unsigned = await engine.client.post("/v1/hooks/monday", json=event)
        assert unsigned.status_code == 401
        signed = await engine.client.post(
            "/v1/hooks/monday", json=event, headers={"Authorization": token}
        )
        assert signed.status_code == 202, signed.text
        assert signed.json()["inputs"] == {"item": 42, "board": "7"}
        assert signed.json()["trigger"]["delivery"] == "t-1"

        assert (await engine.client.put("/v1/hooks/plain", json=HOOK)).status_code == 201
        other = await engine.client.post("/v1/hooks/plain", json={"challenge": "abc"})
        assert other.status_code == 401
