"""Entity links: stored functions, the links connector in a workflow, GET /v1/links."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.engine import running_engine


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def put(
    db: psycopg.Connection[dict[str, Any]], a: tuple[str, str], b: tuple[str, str]
) -> dict[str, Any]:
    row = db.execute(
        "SELECT * FROM dw.put_entity_link_v1(%s, %s, %s, %s, '{}', NULL)", (*a, *b)
    ).fetchone()
    assert row is not None
    return row


def links(db: psycopg.Connection[dict[str, Any]], system: str, id_: str) -> list[tuple[str, str]]:
    rows = db.execute("SELECT * FROM dw.get_entity_links_v1(%s, %s)", (system, id_)).fetchall()
    return [(r["other_system"], r["other_id"]) for r in rows]


def test_a_link_is_found_from_both_ends(db: psycopg.Connection[dict[str, Any]]) -> None:
    """Linking a Monday item to a task makes each the other's counterpart."""
    put(db, ("tasktracker", "TT-1"), ("monday", "111"))
    assert links(db, "monday", "111") == [("tasktracker", "TT-1")]
    assert links(db, "tasktracker", "TT-1") == [("monday", "111")]


def test_relinking_replaces_the_old_counterpart(db: psycopg.Connection[dict[str, Any]]) -> None:
    """A record has one counterpart per system: a new link moves it, from both ends."""
    put(db, ("monday", "222"), ("tasktracker", "TT-2"))
    put(db, ("monday", "222"), ("tasktracker", "TT-3"))
    assert links(db, "monday", "222") == [("tasktracker", "TT-3")]
    assert links(db, "tasktracker", "TT-2") == []
    put(db, ("monday", "333"), ("tasktracker", "TT-3"))
    assert links(db, "monday", "222") == []
    assert links(db, "tasktracker", "TT-3") == [("monday", "333")]


def test_a_record_can_link_to_several_systems(db: psycopg.Connection[dict[str, Any]]) -> None:
    """One item can have a task and a Confluence page."""
    put(db, ("monday", "444"), ("tasktracker", "TT-4"))
    put(db, ("monday", "444"), ("confluence", "98765"))
    assert links(db, "monday", "444") == [("confluence", "98765"), ("tasktracker", "TT-4")]


def test_linking_a_system_to_itself_is_refused(db: psycopg.Connection[dict[str, Any]]) -> None:
    """Both ends in one system is a mistake the database refuses."""
    with pytest.raises(psycopg.errors.CheckViolation):
        put(db, ("monday", "1"), ("monday", "2"))


async def test_workflow_steps_write_and_read_links(database_url: str) -> None:
    """links.put in one step, links.get in the next; GET /v1/links shows the link."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: link-demo
steps:
  - {id: put, uses: links.put, with: {system: monday, id: "555", other_system: tasktracker, other_id: TT-55}}
  - {id: get, uses: links.get, with: {system: tasktracker, id: TT-55, other_system: monday}}
output: "{{ steps.get.output.other_id }}"
"""
        )
        run = await engine.run("link-demo")
        response = await engine.client.get("/v1/links", params={"system": "monday", "id": "555"})
        bad = await engine.client.get("/v1/links", params={"system": "Monday!", "id": "555"})
    assert run.status == "succeeded"
    assert run.output == "555"
    body = response.json()["links"]
    assert [(link["other_system"], link["other_id"]) for link in body] == [("tasktracker", "TT-55")]
    assert body[0]["run_id"] == str(run.id)
    assert bad.status_code == 400
