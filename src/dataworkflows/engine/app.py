"""The engine's HTTP app: its REST API and documentation, built by the app factory."""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Litestar
from litestar.openapi.spec import Tag

from dataworkflows import __version__
from dataworkflows.runtime.app import ReadinessCheck, create_app
from dataworkflows.runtime.docs import docs_assets_router, openapi_config

__all__ = ["create_engine_app"]

DESCRIPTION = """\
Data Workflows runs declared multi-step workflows across Monday.com, Confluence,
Slack, Outlook and the task tracker, and records every run and step in PostgreSQL.

Errors are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem documents
(`application/problem+json`) carrying a `request_id`; quote it when reporting one.
"""


def create_engine_app(*, readiness: Mapping[str, ReadinessCheck]) -> Litestar:
    """The engine app; ``readiness`` are its ``/readyz`` checks (database, migrations)."""
    return create_app(
        component="engine",
        route_handlers=[docs_assets_router()],
        readiness=readiness,
        openapi=openapi_config(
            title="Data Workflows engine",
            version=__version__,
            description=DESCRIPTION,
            tags=[Tag(name="health", description="Liveness and readiness probes")],
        ),
    )
