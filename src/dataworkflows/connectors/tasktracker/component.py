"""The Task Tracker connector as a component (``dataworkflows serve connector tasktracker``,
or in-process in the engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from dataworkflows.connectors.tasktracker.client import TaskTrackerClient
from dataworkflows.connectors.tasktracker.port import TaskQuery, TrackerError
from dataworkflows.connectors.tasktracker.service import tasktracker_actions
from dataworkflows.connectors.tasktracker.spec import TaskTrackerSettings
from dataworkflows.runtime.connector_app import ConnectorNotConfigured, ConnectorParts
from dataworkflows.runtime.tracing import traced_http_client

__all__ = ["connector_parts", "tasktracker_client"]


def tasktracker_client(settings: TaskTrackerSettings, http: httpx.AsyncClient) -> TaskTrackerClient:
    """The REST client for the configured tracker and account."""
    missing = [
        name
        for name, value in (
            ("TRACKER_URL", settings.url),
            ("TRACKER_USERNAME", settings.username),
            ("TRACKER_PASSWORD", settings.password),
        )
        if not value
    ]
    if missing:
        raise ConnectorNotConfigured(
            f"{', '.join(missing)} not set: the Task Tracker connector needs the tracker's "
            "URL and an account to log in with"
        )
    assert settings.url
    assert settings.username
    assert settings.password
    return TaskTrackerClient(
        base_url=settings.url,
        username=settings.username,
        password=settings.password,
        http=http,
    )


@asynccontextmanager
async def connector_parts(settings: TaskTrackerSettings) -> AsyncIterator[ConnectorParts]:
    """The tracker actions, and a readiness check that logs in."""
    async with traced_http_client(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
        client = tasktracker_client(settings, http)

        async def tracker() -> str | None:
            try:
                await client.list_tasks(TaskQuery(limit=1))
            except TrackerError as exc:
                return f"task tracker: {exc.message}"
            return None

        yield ConnectorParts(
            actions=tasktracker_actions(client), readiness={"tasktracker": tracker}
        )
