"""The mock Task Tracker's HTTP app (``dataworkflows serve tracker``), built by the app factory."""

from __future__ import annotations

import time
from collections.abc import Callable

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Tag

from dataworkflows import __version__
from dataworkflows.runtime.app import create_app
from dataworkflows.runtime.docs import docs_assets_router, openapi_config
from dataworkflows.tracker.api import SECURITY_SCHEME, tracker_api_router
from dataworkflows.tracker.auth import Account, TokenAuthority
from dataworkflows.tracker.store import TaskStore

__all__ = ["COMPONENT", "create_tracker_app"]

COMPONENT = "tracker"

DESCRIPTION = """\
A mock of the proprietary Task Tracker, for development and tests. Tasks live in
memory and are gone when the process stops.

**Authentication.** `POST /api/auth/login` with the configured username and password
returns a bearer token (an HS256 JWT); send it as `Authorization: Bearer <token>` on
every `/api/tasks` request until it expires (`expires_in` seconds), then log in again.
Use the *Authorize* button to try requests here.

**Updates.** `PUT /api/tasks/{id}` replaces every writable field: send the whole task
(fields left out return to their defaults). Each write adds one to `version`; send it
back as `If-Match` to get 412 instead of overwriting someone else's change.

**Errors** are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem documents
(`application/problem+json`) carrying a `request_id`; invalid input lists each field
and its problem in `errors`.
"""

TAGS = [
    Tag(name="auth", description="Trade the account for a bearer token"),
    Tag(name="tasks", description="Create, read, list, replace and delete tasks"),
    Tag(name="health", description="Liveness and readiness probes"),
]


def _openapi() -> OpenAPIConfig:
    config = openapi_config(
        title="Task Tracker (mock)",
        version=__version__,
        description=DESCRIPTION,
        tags=TAGS,
        bearer_auth=True,
    )
    # The shared scheme describes the engine's API keys; the tracker's tokens differ.
    assert isinstance(config.components, Components)
    config.components.security_schemes = {
        SECURITY_SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description="The `access_token` of POST /api/auth/login.",
        )
    }
    return config


def create_tracker_app(
    *,
    username: str,
    password: str,
    jwt_secret: str,
    token_ttl_s: float = 3600.0,
    clock: Callable[[], float] = time.time,
    store: TaskStore | None = None,
) -> Litestar:
    """The Task Tracker app: login, tasks, ``/healthz``, ``/readyz`` and docs at ``/docs``.

    It accepts the one account ``username``/``password`` and signs tokens valid for
    ``token_ttl_s`` seconds with ``jwt_secret``. ``clock`` (epoch seconds) decides token
    expiry and task timestamps, so tests can move time. ``store`` lets a test seed or
    inspect the tasks; by default the app gets an empty store of its own. ValueError
    when a credential or the secret is empty or ``token_ttl_s`` is under one second.
    """
    account = Account(username=username, password=password)
    tokens = TokenAuthority(secret=jwt_secret, ttl_s=token_ttl_s, clock=clock)
    tasks = store if store is not None else TaskStore(clock=clock)
    return create_app(
        component=COMPONENT,
        route_handlers=[
            docs_assets_router(),
            tracker_api_router(account=account, tokens=tokens, store=tasks),
        ],
        openapi=_openapi(),
    )
