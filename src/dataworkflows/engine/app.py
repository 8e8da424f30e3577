"""The engine's HTTP app: its REST API and documentation, built by the app factory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from litestar import Litestar, Router
from litestar.openapi.spec import Tag

from dataworkflows import __version__
from dataworkflows.runtime.app import ReadinessCheck, create_app
from dataworkflows.runtime.docs import docs_assets_router, openapi_config

__all__ = ["create_engine_app"]

DESCRIPTION = """\
Data Workflows runs declared multi-step workflows across Monday.com, Confluence,
Slack, Outlook and the task tracker, and records every run and step in PostgreSQL.

**Authentication.** Every `/v1` route needs `Authorization: Bearer <key>` with a key
from `DW_API_KEYS` (`dataworkflows dev` prints its key on start). Use the
*Authorize* button to try requests here.

**Errors** are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem documents
(`application/problem+json`) carrying a `request_id`; invalid input lists each field
and its problem in `errors`.
"""

TAGS = [
    Tag(name="workflows", description="Register definitions (YAML) and start runs"),
    Tag(name="runs", description="Run history with every step attempt; cancel and retry"),
    Tag(name="connectors", description="What each connector offers; try one action"),
    Tag(name="links", description="Which record in one system is which in another"),
]
HEALTH_TAG = Tag(name="health", description="Liveness and readiness probes")


def create_engine_app(
    *,
    readiness: Mapping[str, ReadinessCheck],
    api: Router | None,
    extra_tags: Sequence[Tag] = (),
    console: Router | None = None,
) -> Litestar:
    """The engine app: ``api`` is the ``/v1`` router (None: probes and docs only);
    ``extra_tags`` document the resources extensions added to it; ``console`` is the
    web console's pages at ``/``."""
    handlers: list[Router] = [docs_assets_router()]
    if api is not None:
        handlers.append(api)
    if console is not None:
        handlers.append(console)
    return create_app(
        component="engine",
        route_handlers=handlers,
        readiness=readiness,
        openapi=openapi_config(
            title="Data Workflows engine",
            version=__version__,
            description=DESCRIPTION,
            tags=[*TAGS, *extra_tags, HEALTH_TAG],
            bearer_auth=True,
        ),
    )
