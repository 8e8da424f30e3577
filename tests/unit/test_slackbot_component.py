"""Starting `serve slack-bot` without what it needs fails with one line naming the variables."""

from __future__ import annotations

from typing import Any

import pytest

from dataworkflows.composition.bot import bot_component, check_bot
from dataworkflows.composition.errors import ConfigurationProblem
from dataworkflows.composition.settings import Settings
from dataworkflows.connectors.slack.spec import SlackSettings
from dataworkflows.runtime.actions import ActionSet
from dataworkflows.slackbot.component import DEFAULT_PORT
from dataworkflows.slackbot.options import BotOptions
from dataworkflows.slackbot.settings import BotSettings

COMPLETE: dict[str, Any] = {
    "signing_secret": "signing-secret-0123",
    "engine_api_key": "engine-api-key-0123456789",
}


def settings(
    *,
    slack_bot_token: str | None = "xoxb-123",  # noqa: S107 (a test value)
    connector_urls: dict[str, str] | None = None,
    service_token: str | None = None,
    **bot: Any,
) -> Settings:
    return Settings(
        connector_urls=connector_urls or {},
        service_token=service_token,
        bot=BotSettings(**{**COMPLETE, **bot}),
        connectors={"slack": SlackSettings(bot_token=slack_bot_token)},
    )


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"signing_secret": None}, ["SLACK_SIGNING_SECRET"]),
        ({"engine_api_key": None}, ["DW_ENGINE_API_KEY"]),
        ({"slack_bot_token": None}, ["DW_CONNECTOR_URLS", "DW_SERVICE_TOKEN", "SLACK_BOT_TOKEN"]),
        (
            {"slack_bot_token": None, "connector_urls": {"slack": "http://127.0.0.1:8102"}},
            ["DW_SERVICE_TOKEN"],
        ),
        (
            {"signing_secret": None, "engine_api_key": None, "slack_bot_token": None},
            ["SLACK_SIGNING_SECRET", "DW_ENGINE_API_KEY", "SLACK_BOT_TOKEN"],
        ),
    ],
)
async def test_missing_configuration_is_named_in_one_line(
    values: dict[str, Any], named: list[str]
) -> None:
    """Each missing variable is named, on one line, before anything is opened."""
    with pytest.raises(ConfigurationProblem) as caught:
        async with bot_component(settings(**values)):
            pass
    message = str(caught.value)
    assert "\n" not in message
    for variable in named:
        assert variable in message


def test_complete_configurations_pass() -> None:
    """A connector URL with a service token, or a bot token, or injected actions, suffice."""
    check_bot(settings())
    check_bot(
        settings(
            slack_bot_token=None,
            connector_urls={"slack": "http://127.0.0.1:8102"},
            service_token="service-token-0123456789",
        )
    )
    check_bot(settings(slack_bot_token=None), in_process_slack=True)


async def test_injected_actions_need_no_slack_settings() -> None:
    """`dev` may hand the connector's actions in: no Slack token or URL is needed then."""
    async with bot_component(
        settings(slack_bot_token=None), slack_actions=ActionSet("slack")
    ) as app:
        paths = {route.path for route in app.routes}
    assert {
        "/slack/commands",
        "/slack/events",
        "/slack/interactivity",
        "/healthz",
        "/readyz",
    } <= paths
    assert DEFAULT_PORT == 8090


def test_options_come_from_settings() -> None:
    """The command, allow-list, status workflow and link base come from the settings."""
    options = BotOptions.from_settings(
        BotSettings(
            command="/flows",
            status_workflow="weekly",
            status_input="proj",
            engine_url="http://engine:8080",
        )
    )
    assert (options.command, options.status_workflow, options.status_input) == (
        "/flows",
        "weekly",
        "proj",
    )
    assert options.run_link("r1") == "http://engine:8080/runs/r1"
    assert options.follow_max_s == 24 * 3600
    public = BotOptions.from_settings(BotSettings(public_url="https://dw.example.com"))
    assert public.run_link("r1") == "https://dw.example.com/runs/r1"
