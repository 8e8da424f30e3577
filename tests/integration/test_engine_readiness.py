"""The engine's /readyz reflects the real database: reachable and fully migrated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from dataworkflows.engine.app import create_engine_app
from dataworkflows.runtime.database import open_pool
from dataworkflows.runtime.migrations import discover_migrations, readiness_checks
from dataworkflows.runtime.resources import bundled_dir
from tests.support.engine import running_engine


@asynccontextmanager
async def probes_only(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The engine app with its database checks and no API, on ``database_url``."""
    pool = await open_pool(database_url, max_size=2, name="readiness-test")
    try:
        checks = readiness_checks(pool, discover_migrations(bundled_dir("migrations")))
        app = create_engine_app(readiness=checks, api=None)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as client:
            yield client
    finally:
        await pool.close()


async def test_ready_on_a_migrated_database(database_url: str) -> None:
    """A running engine on a migrated database is ready: database, migrations, executor."""
    async with running_engine(database_url) as engine:
        response = await engine.client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "executor": "ok"}


async def test_not_ready_while_migrations_are_pending(empty_database_url: str) -> None:
    """On a database without the schema, /readyz is 503 naming the pending migration."""
    async with probes_only(empty_database_url) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert "0001_engine_schema.sql" in body["checks"]["migrations"]
    assert "dataworkflows migrate" in body["detail"]


async def test_not_ready_when_the_database_goes_away(
    postgres_admin_url: str, database_url: str
) -> None:
    """When the database stops answering, /readyz says so instead of hanging."""
    dbname = str(conninfo_to_dict(database_url)["dbname"])
    allow = sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}")
    async with probes_only(database_url) as client:
        assert (await client.get("/readyz")).status_code == 200
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(allow.format(sql.Identifier(dbname), sql.SQL("false")))
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (dbname,),
            )
        try:
            response = await client.get("/readyz")
        finally:
            with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
                admin.execute(allow.format(sql.Identifier(dbname), sql.SQL("true")))
    assert response.status_code == 503
    assert response.json()["checks"]["database"] != "ok"
