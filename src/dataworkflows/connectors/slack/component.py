"""The Slack connector as a component: the client built from settings and its
readiness check (``dataworkflows serve connector slack``, or in-process in the engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import httpx

from dataworkflows.connectors.slack.client import DEFAULT_API_URL, SlackClient
from dataworkflows.connectors.slack.port import SlackError
from dataworkflows.connectors.slack.service import slack_actions
from dataworkflows.connectors.slack.spec import SlackSettings
from dataworkflows.runtime.connector_app import (
    ConnectorNotConfigured,
    ConnectorParts,
    upstream_readiness,
)
from dataworkflows.runtime.tracing import traced_http_client

__all__ = ["connector_parts", "slack_client"]

TIMEOUT_S = 30


def slack_client(
    settings: SlackSettings,
    http: httpx.AsyncClient,
    *,
    session: aiohttp.ClientSession | None = None,
) -> SlackClient:
    """The Web API client for the configured workspace (or sandbox)."""
    return SlackClient(
        token=_bot_token(settings),
        http=http,
        base_url=settings.api_url or DEFAULT_API_URL,
        session=session,
        timeout_s=TIMEOUT_S,
    )


def _bot_token(settings: SlackSettings) -> str:
    if not settings.bot_token:
        raise ConnectorNotConfigured(
            "SLACK_BOT_TOKEN is not set: the Slack connector needs the app's bot token "
            "(api.slack.com/apps > your app > OAuth & Permissions > Bot User OAuth Token, "
            "xoxb-...), or a sandbox's token and SLACK_API_URL"
        )
    return settings.bot_token


@asynccontextmanager
async def connector_parts(settings: SlackSettings) -> AsyncIterator[ConnectorParts]:
    """The Slack connector's actions, and a readiness check that calls ``auth.test``."""
    _bot_token(settings)  # before opening anything
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S, connect=5)
    async with (
        traced_http_client(timeout=httpx.Timeout(15.0, connect=5.0)) as http,
        aiohttp.ClientSession(timeout=timeout) as session,
    ):
        client = slack_client(settings, http, session=session)

        async def probe() -> str | None:
            try:
                await client.auth_test()
            except SlackError as exc:
                return f"slack: {exc.message}"
            return None

        upstream = upstream_readiness(client.breaker.problem, probe)

        yield ConnectorParts(actions=slack_actions(client), readiness={"slack": upstream})
