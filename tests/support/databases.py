"""Test databases: a migrated template, cloned per test module.

The server is the embedded PostgreSQL (started once per test session in a temporary
directory), or the one at ``DW_TEST_DATABASE_URL`` when that is set. Cloning a
migrated template with ``CREATE DATABASE ... TEMPLATE`` takes milliseconds, so every
module gets a database of its own without re-running the migrations.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def with_database(url: str, dbname: str) -> str:
    """``url`` pointing at database ``dbname`` instead (keeps host, user and options)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def unique_name(prefix: str) -> str:
    """A database name no other test run uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def create_database(admin_url: str, name: str, *, template: str | None = None) -> str:
    """Create database ``name`` (optionally cloned from ``template``); return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if template is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, closing whatever still connects to it."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
