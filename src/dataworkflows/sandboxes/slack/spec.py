"""The Slack sandbox's spec: ``serve sandbox slack``, and ``dev``'s stand-in."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Final

import msgspec

from dataworkflows.runtime.plugins import SandboxNotConfigured, SandboxSpec, StandIn
from dataworkflows.runtime.serving import ServedApp, bind_socket, display_host, local_url
from dataworkflows.runtime.settings import SECRET, env, parse_http_url, parse_secret, parse_text

__all__ = ["DEFAULT_BOT_URL", "SANDBOX", "SlackSandboxSettings"]

DEFAULT_BOT_URL: Final = "http://127.0.0.1:8090"
"""Where the sandbox sends what Slack would send the bot, by default."""


class SlackSandboxSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The app the sandbox stands in for, and where it reaches the bot."""

    bot_token: Annotated[
        str | None, env("SLACK_BOT_TOKEN", parse_secret, "the token the sandbox accepts"), SECRET
    ] = None
    signing_secret: Annotated[
        str | None,
        env("SLACK_SIGNING_SECRET", parse_secret, "what the sandbox signs requests with"),
        SECRET,
    ] = None
    bot_url: Annotated[
        str | None,
        env("SLACK_BOT_URL", parse_http_url, "where the sandbox delivers commands and events"),
    ] = None
    api_url: Annotated[
        str | None, env("SLACK_API_URL", parse_http_url, "the sandbox's /api as others see it")
    ] = None
    run_allow: Annotated[
        str | None, env("SLACK_RUN_ALLOW", parse_text, "left as it is when set")
    ] = None


def _create(*, token: str, signing_secret: str, bot_url: str, public_url: str) -> Any:
    from dataworkflows.sandboxes.slack.app import SlackSandbox, create_slack_sandbox_app
    from dataworkflows.sandboxes.world import demo_anchor

    sandbox = SlackSandbox(
        token=token,
        signing_secret=signing_secret,
        bot_url=bot_url,
        public_url=public_url,
        # Seeded around today, so the demo history looks current; it ends before today
        # begins, so the ts the sandbox issues come after every seeded one.
        anchor=demo_anchor(),
    )
    return create_slack_sandbox_app(sandbox)


def _app(settings: SlackSandboxSettings, url: str) -> Any:
    if not settings.bot_token or not settings.signing_secret:
        raise SandboxNotConfigured(
            "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set: the sandbox accepts "
            "Web API calls carrying this token and signs what it sends the bot with this "
            "secret (give the connector and the bot the same ones)"
        )
    return _create(
        token=settings.bot_token,
        signing_secret=settings.signing_secret,
        bot_url=settings.bot_url or DEFAULT_BOT_URL,
        # How the others reach this sandbox: response_urls it hands out point there.
        public_url=settings.api_url.removesuffix("/api") if settings.api_url else url,
    )


def _dev(settings: SlackSandboxSettings, host: str, port: int) -> StandIn | None:
    if settings.bot_token is not None:
        return None
    from dataworkflows.sandboxes.slack.demo_data import PROJECT_CHANNEL_IDS

    token, secret = f"xoxb-dev-{secrets.token_hex(12)}", secrets.token_hex(16)
    sock = bind_socket(host, port)
    url = local_url(host, sock.getsockname()[1])
    app = _create(
        token=token,
        signing_secret=secret,
        bot_url=settings.bot_url or DEFAULT_BOT_URL,
        public_url=url,
    )
    shown = f"http://{display_host(host)}:{sock.getsockname()[1]}"
    apollo = PROJECT_CHANNEL_IDS["apollo"]  # the demo's #proj-apollo
    return StandIn(
        served=ServedApp(name="sandbox-slack", app=app, sock=sock),
        environment={
            "SLACK_BOT_TOKEN": token,
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": f"{url}/api",
            # Sandbox users are made up: let them run anything.
            **({} if settings.run_allow else {"SLACK_RUN_ALLOW": "*=*"}),
        },
        banner=(
            f"  Try Slack  curl -H 'Content-Type: application/json' -d "
            f'\'{{"text": "status apollo"}}\' {shown}/sandbox/send/command',
            # Where the bot's answer and the report show up (the demo's #proj-apollo).
            f"             then read {shown}/sandbox/channels/{apollo}/messages",
        ),
    )


SANDBOX: Final = SandboxSpec(
    name="slack",
    summary="Slack's Web API, and a driver that sends the bot commands and events",
    settings=SlackSandboxSettings,
    default_port=8202,
    app=_app,
    dev=_dev,
)
