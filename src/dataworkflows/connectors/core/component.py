"""The core connector as a component (``dataworkflows serve connector core``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dataworkflows.connectors.core.service import core_actions
from dataworkflows.runtime.connector_app import ConnectorParts
from dataworkflows.runtime.settings import Settings

__all__ = ["DEFAULT_PORT", "connector_parts"]

DEFAULT_PORT = 8100


@asynccontextmanager
async def connector_parts(settings: Settings) -> AsyncIterator[ConnectorParts]:
    """The core actions; nothing to configure or check."""
    yield ConnectorParts(actions=core_actions())
