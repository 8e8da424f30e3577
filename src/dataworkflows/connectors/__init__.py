"""Connectors: one package per upstream service (port, client, fake, sandbox, service).

:data:`COMPONENTS` names each connector's component module, which offers
``DEFAULT_PORT`` and ``connector_parts(settings)``; the CLI serves them and the
engine runs the configured ones in-process. Modules are imported only when used,
so a process loads only its own SDKs (msgraph is large).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["COMPONENTS", "ConnectorComponent"]


@dataclass(frozen=True, slots=True)
class ConnectorComponent:
    """Where a connector's component lives and which settings configure it."""

    module: str
    settings: tuple[str, ...] = ()
    """Settings fields that configure the connector: none set means "not wanted here";
    some but not all set is a configuration mistake worth refusing to start over."""


COMPONENTS: Final[dict[str, ConnectorComponent]] = {
    "core": ConnectorComponent("dataworkflows.connectors.core.component"),
    "monday": ConnectorComponent(
        "dataworkflows.connectors.monday.component", ("monday_api_token",)
    ),
    "tasktracker": ConnectorComponent(
        "dataworkflows.connectors.tasktracker.component",
        ("tracker_url", "tracker_username", "tracker_password"),
    ),
    "slack": ConnectorComponent("dataworkflows.connectors.slack.component", ("slack_bot_token",)),
    "confluence": ConnectorComponent(
        "dataworkflows.connectors.confluence.component",
        ("confluence_url", "confluence_api_token"),
    ),
    "outlook": ConnectorComponent(
        "dataworkflows.connectors.outlook.component",
        ("graph_tenant_id", "graph_client_id", "graph_client_secret"),
    ),
}
