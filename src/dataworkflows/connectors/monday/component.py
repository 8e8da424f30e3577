"""The Monday connector as a component: the client built from settings, its checks
and routes (``dataworkflows serve connector monday``, or in-process in the engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Response, get
from litestar.params import FromPath

from dataworkflows.connectors.monday.client import DEFAULT_API_URL, MondayClient
from dataworkflows.connectors.monday.port import MondayError
from dataworkflows.connectors.monday.service import monday_actions
from dataworkflows.connectors.monday.spec import MondaySettings
from dataworkflows.contracts import ERROR_STATUS, ActionErrorEnvelope, ActionFailed, ActionRequest
from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.connector_app import (
    ConnectorNotConfigured,
    ConnectorParts,
    upstream_readiness,
)
from dataworkflows.runtime.tracing import traced_http_client

__all__ = ["connector_parts", "monday_client"]


def monday_client(settings: MondaySettings, http: httpx.AsyncClient) -> MondayClient:
    """The GraphQL client for the configured account (or sandbox)."""
    if not settings.api_token:
        raise ConnectorNotConfigured(
            "MONDAY_API_TOKEN is not set: the Monday connector needs an API token "
            "(monday.com: Avatar > Developers > My access tokens), or a sandbox's token "
            "and MONDAY_API_URL"
        )
    return MondayClient(
        token=settings.api_token,
        http=http,
        url=settings.api_url or DEFAULT_API_URL,
        api_version=settings.api_version,
    )


def _items_route(actions: ActionSet) -> Any:
    @get(
        "/items/{board_id:str}",
        summary="A board's items (the spec's resource route)",
        description='The same as POST /v1/actions/list_items with {"board_id": ...}.',
    )
    async def board_items(board_id: FromPath[str]) -> Response[Any]:
        try:
            output = await actions.invoke("list_items", ActionRequest(input={"board_id": board_id}))
        except ActionFailed as failed:
            return Response(
                ActionErrorEnvelope(error=failed.error), status_code=ERROR_STATUS[failed.error.code]
            )
        return Response(output)

    return board_items


@asynccontextmanager
async def connector_parts(settings: MondaySettings) -> AsyncIterator[ConnectorParts]:
    """The Monday connector's actions, readiness and the items route."""
    async with traced_http_client(timeout=httpx.Timeout(30.0, connect=5.0)) as http:
        client = monday_client(settings, http)
        actions = monday_actions(client)

        async def probe() -> str | None:
            try:
                await client.check()
            except MondayError as exc:
                return f"monday.com: {exc.message}"
            return None

        upstream = upstream_readiness(client.breaker.problem, probe)

        yield ConnectorParts(
            actions=actions, readiness={"monday": upstream}, routes=[_items_route(actions)]
        )
