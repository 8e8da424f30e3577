"""The Slack connector's spec: its settings and how to build it."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from dataworkflows.runtime.plugins import ConnectorSpec
from dataworkflows.runtime.settings import SECRET, env, parse_http_url, parse_secret

__all__ = ["SPEC", "SlackSettings"]


class SlackSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The Slack app the connector posts and reads as."""

    bot_token: Annotated[
        str | None,
        env("SLACK_BOT_TOKEN", parse_secret, "the Slack app's bot token (xoxb-...)"),
        SECRET,
    ] = None
    api_url: Annotated[
        str | None,
        env("SLACK_API_URL", parse_http_url, "the Web API base (default https://slack.com/api/)"),
    ] = None


SPEC: Final = ConnectorSpec(
    name="slack",
    summary="Slack messages, threads and channel history",
    settings=SlackSettings,
    parts="dataworkflows.connectors.slack.component:connector_parts",
    default_port=8102,
    configured_by=("bot_token",),
    sandbox="dataworkflows.sandboxes.slack.spec:SANDBOX",
)
