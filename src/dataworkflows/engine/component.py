"""Composition root of the engine process: the one place that picks its adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from dataworkflows.engine.app import create_engine_app
from dataworkflows.runtime.database import open_pool
from dataworkflows.runtime.migrations import discover_migrations, readiness_checks
from dataworkflows.runtime.resources import bundled_dir
from dataworkflows.runtime.settings import Settings

__all__ = ["ENGINE_DEFAULT_PORT", "engine_component"]

ENGINE_DEFAULT_PORT = 8080


@asynccontextmanager
async def engine_component(settings: Settings, *, database_url: str) -> AsyncIterator[Litestar]:
    """The engine app with its database pool open; the pool closes on exit."""
    pool = await open_pool(database_url, max_size=settings.db_pool_max, name="engine")
    try:
        migration_files = discover_migrations(bundled_dir("migrations"))
        yield create_engine_app(readiness=readiness_checks(pool, migration_files))
    finally:
        await pool.close()
