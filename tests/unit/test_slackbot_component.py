"""Starting `serve slack-bot` without what it needs fails with one line naming the variables."""

from __future__ import annotations

import msgspec
import pytest

from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.settings import Settings
from dataworkflows.slackbot.component import (
    DEFAULT_PORT,
    SlackBotNotConfigured,
    check_configuration,
    slackbot_app,
)
from dataworkflows.slackbot.conversation import BotOptions

COMPLETE = {
    "slack_signing_secret": "signing-secret-0123",
    "engine_api_key": "engine-api-key-0123456789",
    "slack_bot_token": "xoxb-123",
}


def settings(**values: object) -> Settings:
    return msgspec.convert({**COMPLETE, **values}, Settings)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"slack_signing_secret": None}, ["SLACK_SIGNING_SECRET"]),
        ({"engine_api_key": None}, ["DW_ENGINE_API_KEY"]),
        ({"slack_bot_token": None}, ["DW_CONNECTOR_URLS", "DW_SERVICE_TOKEN", "SLACK_BOT_TOKEN"]),
        (
            {"slack_bot_token": None, "connector_urls": {"slack": "http://127.0.0.1:8102"}},
            ["DW_SERVICE_TOKEN"],
        ),
        (
            {"slack_signing_secret": None, "engine_api_key": None, "slack_bot_token": None},
            ["SLACK_SIGNING_SECRET", "DW_ENGINE_API_KEY", "SLACK_BOT_TOKEN"],
        ),
    ],
)
async def test_missing_configuration_is_named_in_one_line(
    values: dict[str, object], named: list[str]
) -> None:
    """Each missing variable is named, on one line, before anything is opened."""
    with pytest.raises(SlackBotNotConfigured) as caught:
        async with slackbot_app(settings(**values)):
            pass
    message = str(caught.value)
    assert "\n" not in message
    for variable in named:
        assert variable in message
    assert isinstance(caught.value, ValueError)


def test_complete_configurations_pass() -> None:
    """A connector URL with a service token, or a bot token, or injected actions, suffice."""
    check_configuration(settings())
    check_configuration(
        settings(
            slack_bot_token=None,
            connector_urls={"slack": "http://127.0.0.1:8102"},
            service_token="service-token-0123456789",
        )
    )
    check_configuration(settings(slack_bot_token=None), in_process_slack=True)


async def test_injected_actions_need_no_slack_settings() -> None:
    """`dev` hands the connector's actions in: no Slack token or URL is needed then."""
    async with slackbot_app(
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
        settings(
            slack_command="/flows",
            slack_status_workflow="weekly",
            slack_status_input="proj",
            engine_url="http://engine:8080",
        )
    )
    assert (options.command, options.status_workflow, options.status_input) == (
        "/flows",
        "weekly",
        "proj",
    )
    assert options.run_link("r1") == "http://engine:8080/v1/runs/r1"
    assert options.follow_max_s == 24 * 3600
    public = BotOptions.from_settings(settings(public_url="https://dw.example.com"))
    assert public.run_link("r1") == "https://dw.example.com/v1/runs/r1"
