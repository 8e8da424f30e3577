"""The Task Tracker connector's spec: its settings and how to build it."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from dataworkflows.runtime.plugins import ConnectorSpec
from dataworkflows.runtime.settings import (
    SECRET,
    env,
    parse_http_url,
    parse_identifier,
    parse_secret,
)

__all__ = ["SPEC", "TaskTrackerSettings"]


class TaskTrackerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The tracker the connector calls, and the account it logs in with."""

    url: Annotated[
        str | None, env("TRACKER_URL", parse_http_url, "the Task Tracker's base URL")
    ] = None
    username: Annotated[
        str | None, env("TRACKER_USERNAME", parse_identifier, "the account to log in with")
    ] = None
    password: Annotated[
        str | None, env("TRACKER_PASSWORD", parse_secret, "that account's password"), SECRET
    ] = None


SPEC: Final = ConnectorSpec(
    name="tasktracker",
    summary="the internal Task Tracker's tasks",
    settings=TaskTrackerSettings,
    parts="dataworkflows.connectors.tasktracker.component:connector_parts",
    default_port=8105,
    configured_by=("url", "username", "password"),
)
