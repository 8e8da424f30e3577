"""The Outlook connector as a component: the Graph client built from settings, its
readiness check (``dataworkflows serve connector outlook``).

msgraph-sdk and azure-identity are imported by :func:`outlook_client`, not by this
module: the CLI and the engine can import it without paying for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from dataworkflows.connectors.outlook.port import OutlookError
from dataworkflows.connectors.outlook.service import outlook_actions
from dataworkflows.connectors.outlook.spec import OutlookSettings
from dataworkflows.runtime.connector_app import ConnectorNotConfigured, ConnectorParts
from dataworkflows.runtime.logging import get_logger

if TYPE_CHECKING:
    from dataworkflows.connectors.outlook.client import OutlookClient

__all__ = ["connector_parts", "outlook_client"]


_log = get_logger(__name__)


def outlook_client(settings: OutlookSettings, **options: Any) -> OutlookClient:
    """The msgraph-sdk client for the configured app registration (or sandbox).

    ``options`` go to :func:`~.client.build_outlook_client` (``transport``, ``max_retries``,
    ``max_wait_s``, ...). Raises :class:`ConnectorNotConfigured` naming the missing
    variables.
    """
    missing = [
        name
        for name, value in (
            ("GRAPH_TENANT_ID", settings.tenant_id),
            ("GRAPH_CLIENT_ID", settings.client_id),
            ("GRAPH_CLIENT_SECRET", settings.client_secret),
        )
        if not value
    ]
    if missing:
        raise ConnectorNotConfigured(
            f"{', '.join(missing)} not set: the Outlook connector signs in as an Entra ID "
            "app registration (Azure portal > App registrations: the Directory (tenant) ID, "
            "the Application (client) ID and a client secret; application permissions "
            "Mail.Read, Calendars.Read and Mail.Send with admin consent), or as a "
            "sandbox's (GRAPH_API_URL and GRAPH_TOKEN_URL pointing at it)"
        )
    assert settings.tenant_id
    assert settings.client_id
    assert settings.client_secret
    from dataworkflows.connectors.outlook.client import build_outlook_client

    return build_outlook_client(
        tenant_id=settings.tenant_id,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        api_url=settings.api_url,
        token_url=settings.token_url,
        **options,
    )


@asynccontextmanager
async def connector_parts(settings: OutlookSettings) -> AsyncIterator[ConnectorParts]:
    """The Outlook actions, and a readiness check that gets a token."""
    from dataworkflows.connectors.outlook.client import warm_up

    client = outlook_client(settings)
    # The SDK's model modules load in the background, not during the first request.
    warming = asyncio.create_task(asyncio.to_thread(warm_up), name="outlook-warm-up")
    try:

        async def graph() -> str | None:
            problem = client.breaker.problem()
            if problem:
                return problem
            # The token is cached until shortly before it expires: most probes cost nothing.
            try:
                await client.check()
            except OutlookError as exc:
                return f"Microsoft Graph: {exc.message}"
            return None

        actions = outlook_actions(client, default_mailbox=settings.mailbox)
        yield ConnectorParts(actions=actions, readiness={"graph": graph})
    finally:
        try:
            await warming
        except Exception as exc:  # an optimisation only: requests load what they need
            _log.warning("loading msgraph's models in advance failed", error=repr(exc))
        await client.aclose()
