"""The bot as `serve slack-bot` builds it from settings, on real HTTP (127.0.0.1): the
engine, the Slack connector and the bot each behind their own port."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from dataworkflows.composition.bot import bot_component, slack_actions_in_process
from dataworkflows.composition.engine import engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.connectors.slack.spec import SlackSettings
from dataworkflows.engine.executor import EngineConfig
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.runtime.connector_app import create_connector_app
from dataworkflows.slackbot.options import BotOptions
from dataworkflows.slackbot.settings import BotSettings
from tests.support.engine import API_KEY
from tests.support.net import serve_in_process
from tests.support.slackbot import (
    CHANNEL,
    PUBLIC_URL,
    SIGNING_SECRET,
    USER,
    RecordingSlack,
    allow,
    command_body,
    mention_body,
    signed_headers,
)

SERVICE_TOKEN = "bot-to-connector-token-0123456789"
GREET = """\
name: greet
inputs:
  who: {type: string}
steps:
  - {id: hello, uses: core.echo, with: {text: "hello {{ inputs.who }}"}}
output: "{{ steps.hello.output.text }}"
"""


@asynccontextmanager
async def served_engine(database_url: str) -> AsyncIterator[str]:
    """A real engine with the greet workflow, served on 127.0.0.1; its URL."""
    settings = Settings(
        engine=EngineSettings(api_keys=(API_KEY,)), service_token=SERVICE_TOKEN, db_pool_max=4
    )
    config = EngineConfig(lease_seconds=5.0, claim_interval_s=0.05, shutdown_grace_s=2.0)
    async with engine_parts(settings, database_url=database_url, config=config) as (parts, app):
        await parts.service.register(GREET, source=GREET)
        async with serve_in_process(app) as url:
            yield url


def bot_settings(
    engine_url: str,
    *,
    engine_api_key: str = API_KEY,
    connector_urls: dict[str, str] | None = None,
    service_token: str | None = None,
) -> Settings:
    return Settings(
        connector_urls=connector_urls or {},
        service_token=service_token,
        bot=BotSettings(
            signing_secret=SIGNING_SECRET,
            engine_url=engine_url,
            engine_api_key=engine_api_key,
            public_url=PUBLIC_URL,
            run_allow=(allow("greet", users=[USER]),),
        ),
    )


def fast(settings: Settings) -> BotOptions:
    return BotOptions.from_settings(settings.bot, poll_initial_s=0.05, poll_max_s=0.2)


async def test_served_bot_runs_a_command_through_the_connector_process(database_url: str) -> None:
    """A signed /dw run over HTTP is acknowledged at once; the run's messages reach Slack
    through the Slack connector process, with the service token; /readyz checks both."""
    slack = RecordingSlack()
    connector = create_connector_app(slack.as_connector(), service_token=SERVICE_TOKEN)
    async with AsyncExitStack() as stack:
        engine_url = await stack.enter_async_context(served_engine(database_url))
        connector_url = await stack.enter_async_context(serve_in_process(connector))
        settings = bot_settings(
            engine_url, connector_urls={"slack": connector_url}, service_token=SERVICE_TOKEN
        )
        app = await stack.enter_async_context(bot_component(settings, options=fast(settings)))
        bot_url = await stack.enter_async_context(serve_in_process(app))
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=bot_url, trust_env=False, timeout=10.0)
        )
        ready = await http.get("/readyz")
        body = command_body("run greet who=Wire")
        started = time.monotonic()
        response = await http.post("/slack/commands", content=body, headers=signed_headers(body))
        acknowledged = time.monotonic() - started
        await slack.wait_for(lambda: bool(slack.posts and slack.posts[0].updates))
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"engine": "ok", "slack_connector": "ok"}
    assert response.status_code == 200
    assert acknowledged < 1.0
    [post] = slack.posts
    assert post.channel == CHANNEL
    assert "started *greet*" in post.text
    assert "✅ *greet* succeeded" in post.latest
    assert "hello Wire" in post.latest


async def test_served_bot_with_in_process_slack_answers_mentions(database_url: str) -> None:
    """Given the Slack connector's actions in-process (as `dev` does), mentions work the same."""
    slack = RecordingSlack()
    async with AsyncExitStack() as stack:
        engine_url = await stack.enter_async_context(served_engine(database_url))
        settings = bot_settings(engine_url)
        app = await stack.enter_async_context(
            bot_component(settings, slack_actions=slack.as_connector(), options=fast(settings))
        )
        bot_url = await stack.enter_async_context(serve_in_process(app))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=bot_url, trust_env=False))
        body = mention_body("run greet who=Inline", event_id="EvSERVED", ts="1700000009.000001")
        response = await http.post(
            "/slack/events",
            content=body,
            headers=signed_headers(body, content_type="application/json"),
        )
        await slack.wait_for(lambda: bool(slack.posts and slack.posts[0].updates))
        ready = await http.get("/readyz")
    assert response.status_code == 200
    [post] = slack.posts
    assert post.thread_ts == "1700000009.000001"
    assert "hello Inline" in post.latest
    assert ready.json()["checks"] == {"engine": "ok"}


async def test_readiness_names_refused_credentials_without_showing_them(database_url: str) -> None:
    """A wrong engine API key or service token makes /readyz 503, naming the variable only."""
    slack = RecordingSlack()
    connector = create_connector_app(slack.as_connector(), service_token=SERVICE_TOKEN)
    wrong_key, wrong_token = "not-the-engine-key-0123", "not-the-service-token-0123"
    async with AsyncExitStack() as stack:
        engine_url = await stack.enter_async_context(served_engine(database_url))
        connector_url = await stack.enter_async_context(serve_in_process(connector))
        settings = bot_settings(
            engine_url,
            engine_api_key=wrong_key,
            connector_urls={"slack": connector_url},
            service_token=wrong_token,
        )
        app = await stack.enter_async_context(bot_component(settings))
        bot_url = await stack.enter_async_context(serve_in_process(app))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=bot_url, trust_env=False))
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert "DW_ENGINE_API_KEY" in ready.text
    assert "DW_SERVICE_TOKEN" in ready.text
    for secret in (wrong_key, wrong_token, API_KEY, SERVICE_TOKEN, SIGNING_SECRET):
        assert secret not in ready.text


async def test_in_process_slack_comes_from_the_slack_connector() -> None:
    """Without a connector URL, the bot builds the Slack connector's own actions in-process."""
    async with AsyncExitStack() as stack:
        slack = SlackSettings(bot_token="xoxb-test-token", api_url="http://127.0.0.1:9/api")
        actions = await slack_actions_in_process(Settings(connectors={"slack": slack}), stack)
    assert actions.connector == "slack"
    assert {"post_message", "update_message", "respond"} <= set(actions.names())
