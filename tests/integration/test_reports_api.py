"""The reports' REST API over a real database: templates, projects and reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from litestar import Router

from dataworkflows.engine.expressions import EVALUATION_TASKS as EXPRESSION_TASKS
from dataworkflows.reports import PostgresReportStore, reports_api
from dataworkflows.reports.registry import register_project
from dataworkflows.reports.render import EVALUATION_TASKS as RENDER_TASKS
from dataworkflows.reports.store import NewReport
from dataworkflows.runtime.app import create_app
from dataworkflows.runtime.database import open_pool
from dataworkflows.runtime.docs import openapi_config
from dataworkflows.runtime.evaluation_pool import EvaluationPool

TEXT = {"Content-Type": "text/plain; charset=utf-8"}


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, PostgresReportStore]]:
    """The controllers mounted under /v1 as the engine mounts them, on a test database."""
    pool = await open_pool(database_url, max_size=4, name="reports-api-test")
    store = PostgresReportStore(pool)
    evaluations = EvaluationPool(tasks={**EXPRESSION_TASKS, **RENDER_TASKS}, workers=1)
    parts = reports_api(store, evaluations)
    app = create_app(
        component="engine",
        route_handlers=[
            Router(
                path="/v1", route_handlers=list(parts.controllers), dependencies=parts.dependencies
            )
        ],
        openapi=openapi_config(
            title="test", version="0", description="", tags=list(parts.tags), bearer_auth=True
        ),
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://engine.test"
        ) as client:
            yield client, store
    finally:
        await evaluations.close()
        await pool.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:8]}"


async def test_a_template_is_registered_versioned_and_read(
    api: tuple[httpx.AsyncClient, PostgresReportStore],
) -> None:
    """PUT creates (201) or keeps (200) a version; GET shows the source and every version."""
    client, _ = api
    name = unique("status") + ".slack"
    created = await client.put(
        f"/v1/templates/{name}", content="# {{ project.name }}", headers=TEXT
    )
    same = await client.put(
        f"/v1/templates/{name}",
        content="# {{ project.name }}",
        headers={"Content-Type": "text/x-jinja2"},
    )
    changed = await client.put(
        f"/v1/templates/{name}", content="# {{ project.name }}!", headers=TEXT
    )
    latest = await client.get(f"/v1/templates/{name}")
    first = await client.get(f"/v1/templates/{name}", params={"version": 1})
    listed = await client.get("/v1/templates")
    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/templates/{name}"
    assert created.json()["format"] == "slack"
    assert (same.status_code, same.json()["version"], same.json()["created"]) == (200, 1, False)
    assert (changed.status_code, changed.json()["version"]) == (201, 2)
    assert latest.json()["source"] == "# {{ project.name }}!"
    assert [v["version"] for v in latest.json()["versions"]] == [1, 2]
    assert (first.json()["version"], first.json()["latest_version"]) == (1, 2)
    assert name in [t["name"] for t in listed.json()["templates"]]


async def test_a_broken_template_is_a_422_naming_the_line(
    api: tuple[httpx.AsyncClient, PostgresReportStore],
) -> None:
    """A syntax error answers a problem with field `source` and the line; nothing is stored."""
    client, _ = api
    name = unique("broken") + ".md"
    response = await client.put(f"/v1/templates/{name}", content="fine\n{{ oops(", headers=TEXT)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == "source"
    assert error["message"].startswith("line 2:")
    assert (await client.get(f"/v1/templates/{name}")).status_code == 404


@pytest.mark.parametrize(
    ("name", "body", "headers", "status"),
    [
        ("Bad Name", "x", TEXT, 422),
        ("fine.md", "x", {"Content-Type": "application/json"}, 415),
        ("fine.md", b"\xff\xfe", TEXT, 400),
        ("fine.md", "x" * (1024 * 1024 + 1), TEXT, 413),
    ],
)
async def test_bad_template_requests_are_refused(
    api: tuple[httpx.AsyncClient, PostgresReportStore],
    name: str,
    body: str | bytes,
    headers: dict[str, str],
    status: int,
) -> None:
    """Bad names, media types, encodings and sizes get the matching problem status."""
    client, _ = api
    response = await client.put(f"/v1/templates/{name}", content=body, headers=headers)
    assert response.status_code == status
    assert response.json()["status"] == status


async def test_a_template_can_be_tried_on_data(
    api: tuple[httpx.AsyncClient, PostgresReportStore],
) -> None:
    """POST .../render shows the rendering, or a 422 naming the line that failed."""
    client, _ = api
    name = unique("try") + ".slack"
    await client.put(
        f"/v1/templates/{name}", content="# Hi {{ who }}\n{{ n | plural('item') }}", headers=TEXT
    )
    ok = await client.post(f"/v1/templates/{name}/render", json={"data": {"who": "A&B", "n": 2}})
    bad = await client.post(f"/v1/templates/{name}/render", json={"data": {"who": "x"}})
    missing = await client.post(f"/v1/templates/{unique('none')}/render", json={"data": {}})
    assert ok.status_code == 200
    assert ok.json()["blocks"] == [
        {"type": "header", "text": {"type": "plain_text", "text": "Hi A&B", "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "2 items"}},
    ]
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["message"].startswith("line 2:")
    assert missing.status_code == 404


async def test_projects_are_registered_and_read(
    api: tuple[httpx.AsyncClient, PostgresReportStore],
) -> None:
    """PUT a project (201, then 200), read it by key in any case, see it listed."""
    client, _ = api
    key = unique("apollo")
    body = {
        "name": "Apollo Website Relaunch",
        "monday_board_ids": ["5012345601", "5012345602"],
        "tracker_ref_prefixes": ["apollo:"],
        "confluence_space_key": "APOLLO",
        "outlook_mailbox": "maya.patel@example.com",
        "slack_channel_id": "C07APOLLO1",
        "settings": {"meeting_keywords": ["Apollo"]},
    }
    created = await client.put(f"/v1/projects/{key}", json=body)
    replaced = await client.put(f"/v1/projects/{key}", json={**body, "name": "Apollo 2"})
    fetched = await client.get(f"/v1/projects/{key.upper()}")
    listed = await client.get("/v1/projects")
    assert created.status_code == 201
    assert replaced.status_code == 200
    assert fetched.json()["name"] == "Apollo 2"
    assert fetched.json()["monday_board_ids"] == ["5012345601", "5012345602"]
    assert fetched.json()["source"] == "api"
    assert key in [p["key"] for p in listed.json()["projects"]]


async def test_an_invalid_project_lists_each_problem(
    api: tuple[httpx.AsyncClient, PostgresReportStore],
) -> None:
    """Unknown fields, bad board ids and bad settings are 422 naming the field; a key
    outside the documented pattern is a 400 naming the path parameter."""
    client, _ = api
    unknown = await client.put("/v1/projects/x1", json={"name": "X", "colour": "red"})
    boards = await client.put(
        "/v1/projects/x2", json={"name": "X", "monday_board_ids": ["not-digits"]}
    )
    settings = await client.put(
        "/v1/projects/x3", json={"name": "X", "settings": {"status_map": {"Done": "finished"}}}
    )
    key = await client.put("/v1/projects/Not%20A%20Key", json={"name": "X"})
    missing = await client.get(f"/v1/projects/{unique('none')}")
    assert [r.status_code for r in (unknown, boards, settings)] == [422] * 3
    assert key.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "colour"
    assert boards.json()["errors"][0]["field"] == "monday_board_ids[0]"
    assert settings.json()["errors"][0]["field"] == "settings"
    assert "finished" in settings.json()["errors"][0]["message"]
    assert key.json()["errors"][0]["field"] == "key"
    assert missing.status_code == 404


async def test_reports_are_listed_and_read(
    api: tuple[httpx.AsyncClient, PostgresReportStore],
) -> None:
    """GET /reports pages a project's reports; GET /reports/{id} shows one, or one rendering."""
    client, store = api
    key = unique("rep")
    await register_project(store, key, {"name": "Reported"})
    ids = []
    for n in range(3):
        saved, _ = await store.save_report(
            NewReport(
                project=key,
                run_id=uuid4(),
                idempotency_key=None,
                outputs={
                    "slack": {"format": "slack", "text": f"report {n}"},
                    "markdown": {"format": "markdown", "text": f"# {n}"},
                },
                snapshot={"work_items": [n]},
                summary={"health": {"status": "at_risk"}, "counts": {"total": n}},
                changes={"first_report": n == 0},
            )
        )
        ids.append(str(saved.id))
    page = await client.get("/v1/reports", params={"project": key, "limit": 2})
    rest = await client.get(
        "/v1/reports", params={"project": key, "limit": 2, "cursor": page.json()["next_cursor"]}
    )
    detail = await client.get(f"/v1/reports/{ids[0]}")
    with_snapshot = await client.get(f"/v1/reports/{ids[0]}", params={"snapshot": "true"})
    markdown = await client.get(f"/v1/reports/{ids[1]}", params={"format": "markdown"})
    no_such_format = await client.get(f"/v1/reports/{ids[1]}", params={"format": "confluence"})
    unknown = await client.get(f"/v1/reports/{uuid4()}")
    bad_cursor = await client.get("/v1/reports", params={"cursor": "nonsense"})
    assert [r["id"] for r in page.json()["reports"] + rest.json()["reports"]] == list(reversed(ids))
    assert rest.json()["next_cursor"] is None
    first = page.json()["reports"][0]
    assert (first["health"], first["counts"], first["formats"]) == (
        {"status": "at_risk"},
        {"total": 2},
        ["markdown", "slack"],
    )
    assert first["links"]["self"] == f"/v1/reports/{ids[2]}"
    assert detail.json()["outputs"]["slack"]["text"] == "report 0"
    assert detail.json()["changes"] == {"first_report": True}
    assert "snapshot" not in detail.json()
    assert with_snapshot.json()["snapshot"] == {"work_items": [0]}
    assert markdown.json() == {"format": "markdown", "text": "# 1"}
    assert no_such_format.status_code == 404
    assert "markdown, slack" in no_such_format.json()["detail"]
    assert unknown.status_code == 404
    assert bad_cursor.status_code == 400


async def test_the_routes_are_documented(
    api: tuple[httpx.AsyncClient, PostgresReportStore],
) -> None:
    """The OpenAPI document lists every reports route with a summary."""
    client, _ = api
    document = (await client.get("/docs/openapi.json")).json()
    paths = document["paths"]
    for path, method in [
        ("/v1/templates/{name}", "put"),
        ("/v1/templates", "get"),
        ("/v1/templates/{name}/render", "post"),
        ("/v1/projects/{key}", "put"),
        ("/v1/projects", "get"),
        ("/v1/reports", "get"),
        ("/v1/reports/{report_id}", "get"),
    ]:
        assert paths[path][method]["summary"], (path, method)
    assert "text/plain" in paths["/v1/templates/{name}"]["put"]["requestBody"]["content"]
