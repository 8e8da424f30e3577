"""The Slack bot, composed: its settings, and the way to Slack this deployment has.

``serve slack-bot`` and ``dev`` both build the bot here. With ``slack`` in
``DW_CONNECTOR_URLS`` the bot posts through that connector process; otherwise
through the Slack connector's actions in this process (``dev`` hands in the ones the
engine already runs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from litestar import Litestar

from dataworkflows.composition.errors import ConfigurationProblem
from dataworkflows.composition.settings import Settings, connector_specs
from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.connector_app import ConnectorNotConfigured
from dataworkflows.slackbot.component import (
    SlackBotNotConfigured,
    SlackConnectorAddress,
    check_configuration,
    slackbot_app,
)
from dataworkflows.slackbot.options import BotOptions

__all__ = ["bot_component", "check_bot", "slack_actions_in_process"]


def _slack_missing(settings: Settings, *, in_process_slack: bool) -> str | None:
    if in_process_slack:
        return None
    if "slack" in settings.connector_urls:
        if not settings.service_token:
            return "DW_SERVICE_TOKEN (the Slack connector's service token)"
        return None
    slack = connector_specs()["slack"]
    if not slack.wanted(settings.connector(slack)):
        return (
            "either slack=<url> in DW_CONNECTOR_URLS with DW_SERVICE_TOKEN, or "
            "SLACK_BOT_TOKEN to post through an in-process Slack connector"
        )
    return None


def check_bot(settings: Settings, *, in_process_slack: bool = False) -> None:
    """Raise :class:`ConfigurationProblem` naming every variable the bot lacks."""
    try:
        check_configuration(
            settings.bot, slack_missing=_slack_missing(settings, in_process_slack=in_process_slack)
        )
    except SlackBotNotConfigured as exc:
        raise ConfigurationProblem(str(exc)) from None


async def slack_actions_in_process(settings: Settings, stack: AsyncExitStack) -> ActionSet:
    """The Slack connector's actions, built here from its section; what it opens is
    closed by ``stack``."""
    spec = connector_specs()["slack"]
    try:
        parts = await stack.enter_async_context(spec.open(settings.connector(spec)))
    except ConnectorNotConfigured as exc:
        raise ConfigurationProblem(str(exc)) from None
    return parts.actions


@asynccontextmanager
async def bot_component(
    settings: Settings,
    *,
    slack_actions: ActionSet | None = None,
    options: BotOptions | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncIterator[Litestar]:
    """The bot's app, posting through ``slack_actions`` when given, else through the
    connector this deployment configures."""
    check_bot(settings, in_process_slack=slack_actions is not None)
    async with AsyncExitStack() as stack:
        slack: ActionSet | SlackConnectorAddress
        if slack_actions is not None:
            slack = slack_actions
        elif "slack" in settings.connector_urls:
            assert settings.service_token is not None
            slack = SlackConnectorAddress(settings.connector_urls["slack"], settings.service_token)
        else:
            slack = await slack_actions_in_process(settings, stack)
        extra = {} if sleep is None else {"sleep": sleep}
        app = await stack.enter_async_context(
            slackbot_app(settings.bot, slack=slack, options=options, **extra)
        )
        yield app
