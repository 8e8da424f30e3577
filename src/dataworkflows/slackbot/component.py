"""Composition root of ``dataworkflows serve slack-bot``: the one place that picks adapters.

The bot needs the Slack signing secret, an engine API key, and a way to post to Slack:
the Slack connector as a separate process (``slack`` in ``DW_CONNECTOR_URLS``, with
``DW_SERVICE_TOKEN``) or, without one, the connector's actions in this process (which
needs ``SLACK_BOT_TOKEN``). The in-process connector is imported lazily, in
:func:`in_process_slack_actions` only, so the bot module shares no code with it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Final

import httpx
from litestar import Litestar

from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.app import ReadinessCheck
from dataworkflows.runtime.settings import Settings
from dataworkflows.slackbot.app import create_slackbot_app
from dataworkflows.slackbot.background import BackgroundTasks
from dataworkflows.slackbot.conversation import BotOptions
from dataworkflows.slackbot.engine_client import EngineClient
from dataworkflows.slackbot.replies import (
    ActionSetReplies,
    ConnectorReplies,
    PatientReplies,
    SlackReplies,
)

__all__ = [
    "DEFAULT_PORT",
    "SlackBotNotConfigured",
    "check_configuration",
    "in_process_slack_actions",
    "slackbot_app",
]

DEFAULT_PORT: Final = 8090
ENGINE_TIMEOUT_S: Final = 15.0
CONNECTOR_TIMEOUT_S: Final = 60.0
"""The connector itself waits out Slack's rate limits before answering."""


class SlackBotNotConfigured(ValueError):
    """The bot lacks configuration; the one-line message names the variables to set."""


def check_configuration(settings: Settings, *, in_process_slack: bool = False) -> None:
    """Raise :class:`SlackBotNotConfigured` naming every missing variable.

    ``in_process_slack``: the caller hands the Slack connector's actions in, so no way
    to reach Slack needs configuring.
    """
    missing = []
    if not settings.slack_signing_secret:
        missing.append("SLACK_SIGNING_SECRET (the Slack app's signing secret)")
    if not settings.engine_api_key:
        missing.append("DW_ENGINE_API_KEY (one of the engine's DW_API_KEYS)")
    if not in_process_slack:
        if "slack" in settings.connector_urls:
            if not settings.service_token:
                missing.append("DW_SERVICE_TOKEN (the Slack connector's service token)")
        elif not settings.slack_bot_token:
            missing.append(
                "either slack=<url> in DW_CONNECTOR_URLS with DW_SERVICE_TOKEN, or "
                "SLACK_BOT_TOKEN to post through an in-process Slack connector"
            )
    if missing:
        raise SlackBotNotConfigured("the Slack bot needs " + "; ".join(missing))


async def in_process_slack_actions(settings: Settings, stack: AsyncExitStack) -> ActionSet:
    """The Slack connector's actions in this process (when no connector URL is set).

    Imported here and only here, by name: the bot depends on the connector's actions,
    never on its code. Whatever the connector opens (HTTP sessions) is closed by
    ``stack``. Adjust this one function if the connector's factories change shape.
    """
    component = importlib.import_module("dataworkflows.connectors.slack.component")
    parts = await stack.enter_async_context(component.connector_parts(settings))
    actions = parts.actions
    if not isinstance(actions, ActionSet):
        raise TypeError("the Slack connector's connector_parts gave no ActionSet")
    return actions


@asynccontextmanager
async def slackbot_app(
    settings: Settings,
    *,
    slack_actions: ActionSet | None = None,
    options: BotOptions | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[Litestar]:
    """The bot's app built from ``settings``; its HTTP clients and background work are
    closed on exit.

    ``slack_actions``: the Slack connector's actions to call in-process (``dev`` passes
    the ones it built). Without them, the bot calls the connector at
    ``DW_CONNECTOR_URLS``'s ``slack`` URL, or builds the connector in-process from
    ``SLACK_BOT_TOKEN``. Raises :class:`SlackBotNotConfigured` first if anything is missing.
    """
    check_configuration(settings, in_process_slack=slack_actions is not None)
    assert settings.slack_signing_secret is not None
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
        slack: SlackReplies
        if slack_actions is not None:
            slack = ActionSetReplies(slack_actions)
        elif "slack" in settings.connector_urls:
            assert settings.service_token is not None
            connector_http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=httpx.Timeout(CONNECTOR_TIMEOUT_S, connect=5.0))
            )
            connector = ConnectorReplies(
                connector_http,
                base_url=settings.connector_urls["slack"],
                service_token=settings.service_token,
            )
            readiness["slack_connector"] = connector.check
            slack = connector
        else:
            slack = ActionSetReplies(await in_process_slack_actions(settings, stack))
        tasks = BackgroundTasks(grace_s=options.shutdown_grace_s)
        # Closed here as well as by the app's lifespan: whoever runs the app may not run
        # its lifespan, and the HTTP clients must outlive the background work.
        stack.push_async_callback(tasks.close)
        yield create_slackbot_app(
            signing_secret=settings.slack_signing_secret,
            engine=engine,
            slack=PatientReplies(slack, sleep=sleep),
            options=options,
            sleep=sleep,
            tasks=tasks,
            readiness=readiness,
        )
