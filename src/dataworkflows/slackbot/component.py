"""The Slack bot as a component: its app built from its settings and a way to Slack.

The bot needs the Slack signing secret, an engine API key, and a way to post to
Slack: the Slack connector's actions (in-process) or the address of a Slack
connector process. Which one is the composition root's choice
(:mod:`dataworkflows.composition.bot`); the bot never imports a connector.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Final

import httpx
from litestar import Litestar

from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.app import ReadinessCheck
from dataworkflows.slackbot.app import create_slackbot_app
from dataworkflows.slackbot.background import BackgroundTasks
from dataworkflows.slackbot.engine_client import EngineClient
from dataworkflows.slackbot.options import BotOptions
from dataworkflows.slackbot.replies import (
    ActionReplies,
    ActionSetReplies,
    ConnectorReplies,
    PatientReplies,
)
from dataworkflows.slackbot.settings import BotSettings

__all__ = [
    "DEFAULT_PORT",
    "SlackBotNotConfigured",
    "SlackConnectorAddress",
    "check_configuration",
    "slackbot_app",
]

DEFAULT_PORT: Final = 8090
ENGINE_TIMEOUT_S: Final = 15.0
CONNECTOR_TIMEOUT_S: Final = 60.0
"""The connector itself waits out Slack's rate limits before answering."""


class SlackBotNotConfigured(ValueError):
    """The bot lacks configuration; the one-line message names the variables to set."""


@dataclass(frozen=True, slots=True)
class SlackConnectorAddress:
    """A Slack connector process: its URL and the service token it takes."""

    url: str
    service_token: str


def check_configuration(settings: BotSettings, *, slack_missing: str | None = None) -> None:
    """Raise :class:`SlackBotNotConfigured` naming every missing variable.

    ``slack_missing``: what is missing to reach Slack, as the composition root sees it.
    """
    missing = []
    if not settings.signing_secret:
        missing.append("SLACK_SIGNING_SECRET (the Slack app's signing secret)")
    if not settings.engine_api_key:
        missing.append("DW_ENGINE_API_KEY (one of the engine's DW_API_KEYS)")
    if slack_missing:
        missing.append(slack_missing)
    if missing:
        raise SlackBotNotConfigured("the Slack bot needs " + "; ".join(missing))


@asynccontextmanager
async def slackbot_app(
    settings: BotSettings,
    *,
    slack: ActionSet | SlackConnectorAddress,
    options: BotOptions | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[Litestar]:
    """The bot's app built from ``settings``, posting through ``slack`` (the Slack
    connector's actions, or a connector process); its HTTP clients and background work
    are closed on exit. Raises :class:`SlackBotNotConfigured` first if anything is
    missing."""
    check_configuration(settings)
    assert settings.signing_secret is not None
    assert settings.engine_api_key is not None
    options = options or BotOptions.from_settings(settings)
    async with AsyncExitStack() as stack:
        engine_http = await stack.enter_async_context(
            httpx.AsyncClient(timeout=httpx.Timeout(ENGINE_TIMEOUT_S, connect=5.0))
        )
        engine = EngineClient(
            engine_http, base_url=settings.engine_url, api_key=settings.engine_api_key, sleep=sleep
        )
        readiness: dict[str, ReadinessCheck] = {"engine": engine.check}
        replies: ActionReplies
        if isinstance(slack, ActionSet):
            replies = ActionSetReplies(slack)
        else:
            connector_http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=httpx.Timeout(CONNECTOR_TIMEOUT_S, connect=5.0))
            )
            connector = ConnectorReplies(
                connector_http, base_url=slack.url, service_token=slack.service_token
            )
            readiness["slack_connector"] = connector.check
            replies = connector
        tasks = BackgroundTasks(grace_s=options.shutdown_grace_s)
        # Closed here as well as by the app's lifespan: whoever runs the app may not run
        # its lifespan, and the HTTP clients must outlive the background work.
        stack.push_async_callback(tasks.close)
        yield create_slackbot_app(
            signing_secret=settings.signing_secret,
            engine=engine,
            slack=PatientReplies(replies, sleep=sleep),
            options=options,
            sleep=sleep,
            tasks=tasks,
            readiness=readiness,
        )
