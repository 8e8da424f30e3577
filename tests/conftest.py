"""Shared fixtures: PostgreSQL databases and instant retries.

Tests that use a database (any fixture built on ``postgres_admin_url``) are marked
``storage`` automatically; ``.ci/run`` re-runs them against the machine's server.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import stamina

from dataworkflows.runtime.embedded import EmbeddedPostgres
from dataworkflows.runtime.migrations import apply_migrations
from dataworkflows.runtime.resources import bundled_dir
from tests.support.databases import create_database, drop_database, unique_name


@pytest.fixture(autouse=True, scope="session")
def _instant_retries() -> Iterator[None]:
    """Retries happen at once and a limited number of times (stamina's testing mode)."""
    stamina.set_testing(True)
    yield
    stamina.set_testing(False)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A URL to a maintenance database on the test server (CREATE DATABASE allowed)."""
    external = os.environ.get("DW_TEST_DATABASE_URL")
    if external:
        yield external
        return
    # Not under pytest's basetemp: a concurrent pytest session of the same user prunes
    # old basetemps and would delete a running server's data.
    root = Path(tempfile.mkdtemp(prefix="dw-test-pg-"))
    server = EmbeddedPostgres(root / "data", database="postgres")
    server.start()
    # A throwaway server: durability costs time and proves nothing here.
    with psycopg.connect(server.admin_url(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("ALTER SYSTEM SET synchronous_commit = off")
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield server.admin_url()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_template(postgres_admin_url: str) -> Iterator[str]:
    """The name of a database with every migration applied, to clone from."""
    name = unique_name("dw_template")
    url = create_database(postgres_admin_url, name)
    apply_migrations(url, bundled_dir("migrations"))
    try:
        yield name
    finally:
        drop_database(postgres_admin_url, name)


@pytest.fixture(scope="module")
def database_url(postgres_admin_url: str, migrated_template: str) -> Iterator[str]:
    """A migrated database of this test module's own."""
    name = unique_name("dw_test")
    url = create_database(postgres_admin_url, name, template=migrated_template)
    try:
        yield url
    finally:
        drop_database(postgres_admin_url, name)


@pytest.fixture
def empty_database_url(postgres_admin_url: str) -> Iterator[str]:
    """A database with nothing in it (no migrations), for this test alone."""
    name = unique_name("dw_empty")
    url = create_database(postgres_admin_url, name)
    try:
        yield url
    finally:
        drop_database(postgres_admin_url, name)


@pytest.fixture
def migrations_dir() -> Path:
    """The shipped migration files."""
    return bundled_dir("migrations")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that touches PostgreSQL as ``storage``."""
    for item in items:
        if "postgres_admin_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.storage)
