"""The Task Tracker connector as a component (``dataworkflows serve connector tasktracker``,
or in-process in the engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from dataworkflows.connectors.tasktracker.client import TaskTrackerClient
from dataworkflows.connectors.tasktracker.port import TrackerError
from dataworkflows.connectors.tasktracker.service import tasktracker_actions
from dataworkflows.runtime.connector_app import ConnectorNotConfigured, ConnectorParts
from dataworkflows.runtime.settings import Settings

__all__ = ["DEFAULT_PORT", "connector_parts", "tasktracker_client"]

DEFAULT_PORT = 8105


def tasktracker_client(settings: Settings, http: httpx.AsyncClient) -> TaskTrackerClient:
    """The REST client for the configured tracker and account."""
    missing = [
        name
        for name, value in (
            ("TRACKER_URL", settings.tracker_url),
            ("TRACKER_USERNAME", settings.tracker_username),
            ("TRACKER_PASSWORD", settings.tracker_password),
        )
        if not value
    ]
    if missing:
        raise ConnectorNotConfigured(
            f"{', '.join(missing)} not set: the Task Tracker connector needs the tracker's "
            "URL and an account to log in with"
        )
    assert settings.tracker_url
    assert settings.tracker_username
    assert settings.tracker_password
    return TaskTrackerClient(
        base_url=settings.tracker_url,
        username=settings.tracker_username,
        password=settings.tracker_password,
        http=http,
    )


@asynccontextmanager
async def connector_parts(settings: Settings) -> AsyncIterator[ConnectorParts]:
    """The tracker actions, and a readiness check that logs in."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
        client = tasktracker_client(settings, http)

        async def tracker() -> str | None:
            try:
                await client.list_tasks(limit=1)
            except TrackerError as exc:
                return f"task tracker: {exc.message}"
            return None

        yield ConnectorParts(
            actions=tasktracker_actions(client), readiness={"tasktracker": tracker}
        )
