"""The core connector as a component (``dataworkflows serve connector core``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dataworkflows.connectors.core.service import core_actions
from dataworkflows.connectors.core.spec import CoreSettings
from dataworkflows.runtime.connector_app import ConnectorParts

__all__ = ["connector_parts"]


@asynccontextmanager
async def connector_parts(settings: CoreSettings) -> AsyncIterator[ConnectorParts]:
    """The core actions; nothing to configure or check."""
    yield ConnectorParts(actions=core_actions())
