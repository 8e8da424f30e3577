"""The engine's /readyz reflects the real database: reachable and fully migrated."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from dataworkflows.engine.component import engine_component
from dataworkflows.runtime.settings import Settings


async def test_ready_on_a_migrated_database(database_url: str) -> None:
    """With every migration applied, /readyz is 200 and both checks say ok."""
    async with (
        engine_component(Settings(), database_url=database_url) as app,
        AsyncTestClient(app) as client,
    ):
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}


async def test_not_ready_while_migrations_are_pending(empty_database_url: str) -> None:
    """On a database without the schema, /readyz is 503 naming the pending migration."""
    async with (
        engine_component(Settings(), database_url=empty_database_url) as app,
        AsyncTestClient(app) as client,
    ):
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert "0001_engine_schema.sql" in body["checks"]["migrations"]
    assert "dataworkflows migrate" in body["detail"]
