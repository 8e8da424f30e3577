"""The engine's /readyz tells the truth: the database answers and is fully migrated, the
connector processes answer, and every shipped workflow is registered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from dataworkflows.composition.engine import engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.engine.app import create_engine_app
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.runtime.database import open_pool
from dataworkflows.runtime.migrations import discover_migrations, readiness_checks
from dataworkflows.runtime.resources import bundled_dir
from tests.support.engine import API_KEY, running_engine
from tests.support.net import free_port
from tests.support.processes import CliProcess

SERVICE_TOKEN = "service-token-for-readiness-tests"


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
    assert response.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "executor": "ok",
        "workflows": "ok",
    }


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


async def test_not_ready_until_a_connector_process_answers(
    database_url: str, tmp_path: Path
) -> None:
    """While a connector process named in DW_CONNECTOR_URLS is down, /readyz is 503 naming
    it and the shipped workflows that need it; once it answers they are registered and
    the engine is ready, with no restart."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        engine=EngineSettings(api_keys=(API_KEY,)),
        service_token=SERVICE_TOKEN,
        connector_urls={"core": url},
        db_pool_max=4,
    )
    async with engine_parts(settings, database_url=database_url) as (parts, app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as client:
            response = await client.get("/readyz")
            assert response.status_code == 503
            checks = response.json()["checks"]
            assert checks["connector:core"] == (
                f"connector core at {url} does not answer (ConnectionRefusedError)"
            )
            assert "hello-world.yaml" in checks["workflows"]
            assert "connector core" in checks["workflows"]
            # Workflows that need connectors this engine is not given are skipped, not
            # counted against readiness.
            assert "monday-board-snapshot" not in checks["workflows"]
            env = {"DW_SERVICE_TOKEN": SERVICE_TOKEN, "DW_PORT": str(port)}
            with CliProcess("serve", "connector", "core", env=env, cwd=tmp_path) as core:
                deadline = time.monotonic() + 45
                while (response := await client.get("/readyz")).status_code != 200:
                    assert time.monotonic() < deadline, response.text + core.stderr[-2000:]
                    await asyncio.sleep(0.2)
                assert set(response.json()["checks"].values()) == {"ok"}
                assert await parts.service.store.get_workflow_version("hello-world") is not None
                assert core.stop() == 0


async def test_not_ready_when_a_connector_refuses_the_service_token(
    database_url: str, tmp_path: Path
) -> None:
    """A connector process that refuses the engine's token makes /readyz say so."""
    port = free_port()
    env = {"DW_SERVICE_TOKEN": "a-different-service-token", "DW_PORT": str(port)}
    with CliProcess("serve", "connector", "core", env=env, cwd=tmp_path) as core:
        core.wait_http(f"http://127.0.0.1:{port}/healthz")
        settings = Settings(
            engine=EngineSettings(api_keys=(API_KEY,)),
            service_token=SERVICE_TOKEN,
            connector_urls={"core": f"http://127.0.0.1:{port}"},
            db_pool_max=4,
        )
        async with engine_parts(settings, database_url=database_url) as (_, app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://engine.test"
            ) as client:
                response = await client.get("/readyz")
        assert core.stop() == 0
    assert response.status_code == 503
    assert "refused the service token (check DW_SERVICE_TOKEN)" in response.json()["detail"]
