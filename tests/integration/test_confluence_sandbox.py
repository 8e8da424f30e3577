"""The Confluence sandbox over real HTTP on 127.0.0.1 answers with Confluence Cloud's wire
shapes, checked with a plain httpx client written from Atlassian's docs (not ours)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import uvicorn

from dataworkflows.runtime.serving import bind_socket
from dataworkflows.sandboxes.confluence.app import (
    ConfluenceSandbox,
    create_confluence_sandbox_app,
)
from dataworkflows.sandboxes.confluence.demo_data import CLOUD_ID, DemoPage
from dataworkflows.sandboxes.confluence.faults import Fault
from dataworkflows.sandboxes.world import ANCHOR

EMAIL = "jonas.berg@example.com"
TOKEN = "sandbox-api-token-0123456789"
BASIC = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
BEARER = f"Bearer {TOKEN}"
APOLLO, CYGNUS = "1933313", "1998849"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
LINK_BASE = re.compile(r'<([^>]+)>;\s*rel="base"')


class FakeClock:
    """Wall-clock seconds that a test can set: the day after the demo data's anchor."""

    def __init__(self) -> None:
        self.now = (ANCHOR + timedelta(days=1)).timestamp()

    def __call__(self) -> float:
        return self.now


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # pytest owns the process's signals.
        yield


@dataclass
class Served:
    """A sandbox served on 127.0.0.1 and a plain HTTP client for it."""

    sandbox: ConfluenceSandbox
    http: httpx.AsyncClient
    origin: str

    async def get(
        self, path: str, params: Any = None, *, auth: str | None = BASIC
    ) -> httpx.Response:
        headers = {"Authorization": auth} if auth else {}
        return await self.http.get(path, params=params, headers=headers)

    async def send(
        self, method: str, path: str, body: Any, *, auth: str | None = BASIC
    ) -> httpx.Response:
        headers = {"Authorization": auth} if auth else {}
        return await self.http.request(method, path, json=body, headers=headers)

    async def ok(self, path: str, params: Any = None, *, auth: str | None = BASIC) -> Any:
        response = await self.get(path, params, auth=auth)
        assert response.status_code == 200, response.text
        return response.json()

    def pages_of(self, space_id: str) -> list[DemoPage]:
        return [
            p
            for p in self.sandbox.site.pages.values()
            if p.space_id == space_id and p.status == "current"
        ]


@contextlib.asynccontextmanager
async def serve(sandbox_factory: Any) -> AsyncIterator[Served]:
    sock = bind_socket("127.0.0.1", 0)
    try:
        origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
        sandbox = sandbox_factory(origin)
        config = uvicorn.Config(
            create_confluence_sandbox_app(sandbox),
            log_config=None,
            access_log=False,
            lifespan="on",
            ws="none",
        )
    except BaseException:
        sock.close()
        raise
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=origin, timeout=10.0, trust_env=False) as http:
            yield Served(sandbox=sandbox, http=http, origin=origin)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    """A fresh sandbox (seed 7, Basic for jonas.berg) on a free 127.0.0.1 port."""

    def factory(origin: str) -> ConfluenceSandbox:
        return ConfluenceSandbox(email=EMAIL, api_token=TOKEN, public_url=origin, clock=FakeClock())

    async with serve(factory) as served:
        yield served


def _account_id(sandbox: ConfluenceSandbox) -> str:
    account = sandbox.site.account_by_email(EMAIL)
    assert account is not None
    return account.account_id


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The single v2 error of a response, after checking its documented shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert set(error) == {"status", "code", "title", "detail"}
    assert error["status"] == status
    assert isinstance(error["code"], str)
    assert isinstance(error["title"], str)
    return dict(error)


# -- v2 pages: paging --------------------------------------------------------------------


async def test_pages_are_paged_with_the_link_header_and_links_next(served: Served) -> None:
    """Every page of results but the last names the next one in the Link header and _links.next."""
    response = await served.get("/wiki/api/v2/pages", {"space-id": CYGNUS, "limit": 10})
    ids: list[str] = []
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        ids += [r["id"] for r in body["results"]]
        assert body["_links"]["base"] == f"{served.origin}/wiki"
        header = response.headers.get("Link")
        nxt = body["_links"].get("next")
        if nxt is None:
            assert header is None
            break
        link = LINK_NEXT.search(header or "")
        assert link is not None
        assert link.group(1) == nxt
        base = LINK_BASE.search(header or "")
        assert base is not None
        assert base.group(1) == f"{served.origin}/wiki"
        # Relative to the site origin and already under /wiki; the cursor is not last.
        assert nxt.startswith("/wiki/api/v2/pages?")
        names = [k for k, _ in parse_qsl(urlsplit(nxt).query)]
        assert "cursor" in names
        assert names[-1] != "cursor"
        response = await served.get(nxt)
    expected = sorted(p.id for p in served.pages_of(CYGNUS))
    assert sorted(ids) == expected
    assert len(ids) == len(set(ids))
    assert pages == -(-len(expected) // 10)


async def test_joining_next_to_links_base_is_the_documented_pitfall(served: Served) -> None:
    """_links.base + _links.next gives /wiki/wiki/...: a 404, as on Confluence."""
    body = await served.ok("/wiki/api/v2/pages", {"limit": 5})
    wrong = body["_links"]["base"] + body["_links"]["next"]
    assert "/wiki/wiki/" in wrong
    response = await served.http.get(wrong, headers={"Authorization": BASIC})
    _error(response, 404)


async def test_the_default_limit_is_25_and_250_is_the_most(served: Served) -> None:
    """limit defaults to 25; values outside 1-250 are refused with INVALID_REQUEST_PARAMETER."""
    body = await served.ok("/wiki/api/v2/pages")
    assert len(body["results"]) == 25
    assert "next" in body["_links"]
    everything = await served.ok("/wiki/api/v2/pages", {"limit": 250})
    assert len(everything["results"]) == len(served.sandbox.site.pages)
    for bad in ("0", "251", "many"):
        error = _error(await served.get("/wiki/api/v2/pages", {"limit": bad}), 400)
        assert error["code"] == "INVALID_REQUEST_PARAMETER"
        assert "'limit'" in error["title"]


async def test_a_forged_or_foreign_cursor_is_refused(served: Served) -> None:
    """An edited cursor, or one from another sort, is 400 with Atlassian's cursor message."""
    body = await served.ok("/wiki/api/v2/pages", {"limit": 5, "sort": "title"})
    cursor = dict(parse_qsl(urlsplit(body["_links"]["next"]).query))["cursor"]
    forged = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    for params in ({"cursor": forged}, {"cursor": cursor, "sort": "-id"}, {"cursor": "garbage"}):
        error = _error(await served.get("/wiki/api/v2/pages", params), 400)
        assert error["title"] == (
            "Provided value for 'cursor' is not the correct type. Expected type is Cursor."
        )
        assert "new valid cursor" in error["detail"]


async def test_pages_added_while_paging_do_not_shift_the_cursor(served: Served) -> None:
    """Cursors are positions, not offsets: a page created meanwhile neither repeats nor skips."""
    first = await served.ok("/wiki/api/v2/pages", {"space-id": APOLLO, "limit": 10})
    created = await served.send(
        "POST",
        "/wiki/api/v2/pages",
        {
            "spaceId": APOLLO,
            "title": "Added meanwhile",
            "body": {"representation": "storage", "value": ""},
        },
    )
    assert created.status_code == 200
    seen = [r["id"] for r in first["results"]]
    nxt = first["_links"].get("next")
    while nxt:
        body = await served.ok(nxt)
        seen += [r["id"] for r in body["results"]]
        nxt = body["_links"].get("next")
    assert len(seen) == len(set(seen)) == len(served.pages_of(APOLLO))


# -- v2 pages: shapes and filters --------------------------------------------------------


async def test_a_page_has_the_documented_fields(served: Served) -> None:
    """Results carry ids as strings, the version object, ISO instants and _links; no body unless asked."""
    body = await served.ok("/wiki/api/v2/pages", {"space-id": APOLLO, "limit": 3})
    page = body["results"][1]
    assert isinstance(page["id"], str)
    assert page["id"].isdigit()
    assert page["spaceId"] == APOLLO
    assert page["status"] == "current"
    assert page["parentType"] == "page"
    assert isinstance(page["parentId"], str)
    assert ISO_MS.match(page["createdAt"])
    version = page["version"]
    assert set(version) >= {"number", "message", "minorEdit", "authorId", "createdAt"}
    assert isinstance(version["number"], int)
    assert ISO_MS.match(version["createdAt"])
    assert page["authorId"].startswith("712020:")
    assert page["body"] == {}
    assert page["_links"]["webui"].startswith(f"/spaces/APOLLO/pages/{page['id']}/")
    assert page["_links"]["tinyui"].startswith("/x/")
    with_body = await served.ok(
        "/wiki/api/v2/pages", {"space-id": APOLLO, "limit": 3, "body-format": "storage"}
    )
    storage = with_body["results"][1]["body"]["storage"]
    assert storage["representation"] == "storage"
    assert storage["value"].startswith("<")


async def test_sort_title_and_status_filters(served: Served) -> None:
    """sort orders results (- for descending); title is an exact filter; status selects trashed pages."""
    by_title = await served.ok(
        "/wiki/api/v2/pages", {"space-id": APOLLO, "sort": "title", "limit": 250}
    )
    titles = [r["title"] for r in by_title["results"]]
    assert titles == sorted(titles, key=str.casefold)
    newest = await served.ok(
        "/wiki/api/v2/pages", {"space-id": APOLLO, "sort": "-modified-date", "limit": 250}
    )
    stamps = [r["version"]["createdAt"] for r in newest["results"]]
    assert stamps == sorted(stamps, reverse=True)
    runbooks = await served.ok("/wiki/api/v2/pages", {"space-id": APOLLO, "title": "Runbooks"})
    assert [r["title"] for r in runbooks["results"]] == ["Runbooks"]
    none = await served.ok("/wiki/api/v2/pages", {"space-id": APOLLO, "title": "Runbook"})
    assert none["results"] == []
    error = _error(await served.get("/wiki/api/v2/pages", {"sort": "size"}), 400)
    assert error["code"] == "INVALID_REQUEST_PARAMETER"

    page_id = runbooks["results"][0]["id"]
    deleted = await served.send("DELETE", f"/wiki/api/v2/pages/{page_id}", None)
    assert deleted.status_code == 204
    current = await served.ok("/wiki/api/v2/pages", {"space-id": APOLLO, "title": "Runbooks"})
    assert current["results"] == []
    trashed = await served.ok(
        "/wiki/api/v2/pages", {"space-id": APOLLO, "status": "trashed", "title": "Runbooks"}
    )
    assert [r["status"] for r in trashed["results"]] == ["trashed"]


async def test_ids_and_several_spaces_filter_as_lists(served: Served) -> None:
    """space-id and id take comma-separated lists, as the v2 OpenAPI describes."""
    both = await served.ok("/wiki/api/v2/pages", {"space-id": f"{APOLLO},{CYGNUS}", "limit": 250})
    assert {r["spaceId"] for r in both["results"]} == {APOLLO, CYGNUS}
    assert len(both["results"]) == len(served.pages_of(APOLLO)) + len(served.pages_of(CYGNUS))
    two = [r["id"] for r in both["results"][:2]]
    picked = await served.ok("/wiki/api/v2/pages", {"id": ",".join(two)})
    assert [r["id"] for r in picked["results"]] == two


async def test_get_a_page_with_its_body(served: Served) -> None:
    """GET /pages/{id} gives the page with storage (or ADF) body; 404 and 400 in the errors shape."""
    homepage = served.sandbox.site.spaces[0].homepage_id
    page = await served.ok(f"/wiki/api/v2/pages/{homepage}", {"body-format": "storage"})
    assert page["id"] == homepage
    assert page["parentId"] is None
    assert page["title"] == "Project overview"
    assert "Apollo Website Relaunch" in page["body"]["storage"]["value"]
    assert page["_links"]["base"] == f"{served.origin}/wiki"
    adf = await served.ok(f"/wiki/api/v2/pages/{homepage}", {"body-format": "atlas_doc_format"})
    document = json.loads(adf["body"]["atlas_doc_format"]["value"])
    assert document["type"] == "doc"
    assert document["version"] == 1
    assert _error(await served.get("/wiki/api/v2/pages/1"), 404)["code"] == "NOT_FOUND"
    assert _error(await served.get("/wiki/api/v2/pages/abc"), 400)["code"] == (
        "INVALID_REQUEST_PARAMETER"
    )


# -- v2 pages: writes --------------------------------------------------------------------


async def test_create_answers_200_with_the_page(served: Served) -> None:
    """POST /pages answers 200 (not 201) with version 1, under the homepage unless told otherwise."""
    response = await served.send(
        "POST",
        "/wiki/api/v2/pages",
        {
            "spaceId": APOLLO,
            "status": "current",
            "title": "Launch retro",
            "body": {"representation": "storage", "value": "<p>What went well</p>"},
        },
    )
    assert response.status_code == 200, response.text
    page = response.json()
    homepage = served.sandbox.site.spaces[0].homepage_id
    assert (page["title"], page["status"], page["spaceId"]) == ("Launch retro", "current", APOLLO)
    assert page["version"]["number"] == 1
    assert page["parentId"] == homepage
    jonas = served.sandbox.site.account_by_email(EMAIL)
    assert jonas is not None
    assert page["authorId"] == jonas.account_id
    read = await served.ok(f"/wiki/api/v2/pages/{page['id']}", {"body-format": "storage"})
    assert read["body"]["storage"]["value"] == "<p>What went well</p>"
    root = await served.http.post(
        "/wiki/api/v2/pages",
        params={"root-level": "true"},
        json={
            "spaceId": int(APOLLO),
            "title": "Top",
            "body": {"representation": "wiki", "value": "hi"},
        },
        headers={"Authorization": BASIC},
    )
    assert root.status_code == 200
    assert root.json()["parentId"] is None
    assert root.json()["body"]["storage"]["value"] == "<p>hi</p>"


async def test_create_refusals(served: Served) -> None:
    """A taken title is 400, no spaceId 400, an unknown space 404, a body over 5 MB 413."""
    taken = await served.send(
        "POST",
        "/wiki/api/v2/pages",
        {
            "spaceId": APOLLO,
            "title": "decisions",
            "body": {"representation": "storage", "value": ""},
        },
    )
    assert _error(taken, 400)["title"].startswith("A page with this title already exists")
    no_space = await served.send("POST", "/wiki/api/v2/pages", {"title": "x"})
    assert _error(no_space, 400)["code"] == "INVALID_REQUEST_PARAMETER"
    unknown = await served.send("POST", "/wiki/api/v2/pages", {"spaceId": "42", "title": "x"})
    _error(unknown, 404)
    huge = "<p>" + "x" * (5 * 1024 * 1024) + "</p>"
    too_large = await served.send(
        "POST",
        "/wiki/api/v2/pages",
        {"spaceId": APOLLO, "title": "Huge", "body": {"representation": "storage", "value": huge}},
    )
    assert _error(too_large, 413)["code"] == "REQUEST_ENTITY_TOO_LARGE"
    not_json = await served.http.post(
        "/wiki/api/v2/pages", content=b"nope", headers={"Authorization": BASIC}
    )
    _error(not_json, 400)


def _put_body(page_id: str, number: int, value: str, title: str = "Decisions") -> dict[str, Any]:
    return {
        "id": page_id,
        "status": "current",
        "title": title,
        "body": {"representation": "storage", "value": value},
        "version": {"number": number, "message": "From the test"},
    }


async def test_updates_must_increment_the_version(served: Served) -> None:
    """PUT with a stale version is the observed 409; current + 1 makes the next version."""
    listed = await served.ok("/wiki/api/v2/pages", {"space-id": APOLLO, "title": "Decisions"})
    page = listed["results"][0]
    current = page["version"]["number"]
    stale = await served.send(
        "PUT", f"/wiki/api/v2/pages/{page['id']}", _put_body(page["id"], current, "<p>x</p>")
    )
    assert stale.status_code == 409
    assert stale.json() == {
        "errors": [
            {
                "status": 409,
                "code": "CONFLICT",
                "title": "Version must be incremented when updating a page. "
                f"Current Version: [{current}]. Provided version: [{current}]",
                "detail": None,
            }
        ]
    }
    skipped = await served.send(
        "PUT", f"/wiki/api/v2/pages/{page['id']}", _put_body(page["id"], current + 2, "<p>x</p>")
    )
    assert skipped.status_code == 409
    ok = await served.send(
        "PUT", f"/wiki/api/v2/pages/{page['id']}", _put_body(page["id"], current + 1, "<p>new</p>")
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"]["number"] == current + 1
    assert ok.json()["version"]["message"] == "From the test"
    read = await served.ok(f"/wiki/api/v2/pages/{page['id']}", {"body-format": "storage"})
    assert read["body"]["storage"]["value"] == "<p>new</p>"
    assert read["version"]["number"] == current + 1


async def test_updates_need_the_documented_fields(served: Served) -> None:
    """PUT without version, with another id, or a taken title is refused with 400."""
    listed = await served.ok("/wiki/api/v2/pages", {"space-id": APOLLO, "title": "Decisions"})
    page = listed["results"][0]
    path = f"/wiki/api/v2/pages/{page['id']}"
    number = page["version"]["number"] + 1
    no_version = {k: v for k, v in _put_body(page["id"], number, "").items() if k != "version"}
    _error(await served.send("PUT", path, no_version), 400)
    _error(await served.send("PUT", path, _put_body("1", number, "")), 400)
    taken = await served.send("PUT", path, _put_body(page["id"], number, "", title="Runbooks"))
    assert "already exists" in _error(taken, 400)["title"]
    _error(await served.send("PUT", "/wiki/api/v2/pages/1", _put_body("1", 2, "")), 404)


# -- v2 spaces ---------------------------------------------------------------------------


async def test_spaces_by_keys_and_by_id(served: Served) -> None:
    """GET /spaces?keys= and /spaces/{id} give the documented space fields; /spaces/{id}/pages lists."""
    body = await served.ok("/wiki/api/v2/spaces", {"keys": "APOLLO,CYGNUS"})
    spaces = {s["key"]: s for s in body["results"]}
    assert set(spaces) == {"APOLLO", "CYGNUS"}
    apollo = spaces["APOLLO"]
    assert (apollo["id"], apollo["name"], apollo["type"], apollo["status"]) == (
        APOLLO,
        "Apollo Website Relaunch",
        "global",
        "current",
    )
    assert apollo["homepageId"] == served.sandbox.site.spaces[0].homepage_id
    assert apollo["description"] is None
    described = await served.ok(f"/wiki/api/v2/spaces/{APOLLO}", {"description-format": "plain"})
    assert described["description"]["plain"]["value"].startswith("Documentation")
    _error(await served.get("/wiki/api/v2/spaces/42"), 404)
    roots = await served.ok(f"/wiki/api/v2/spaces/{APOLLO}/pages", {"depth": "root"})
    assert [r["title"] for r in roots["results"]] == ["Project overview"]
    everything = await served.ok(f"/wiki/api/v2/spaces/{CYGNUS}/pages", {"limit": 30})
    assert len(everything["results"]) == 30
    assert everything["_links"]["next"].startswith(f"/wiki/api/v2/spaces/{CYGNUS}/pages?cursor=")
    one = await served.ok("/wiki/api/v2/spaces", {"limit": 1})
    assert len(one["results"]) == 1
    assert "next" in one["_links"]


# -- v1 search ---------------------------------------------------------------------------


async def test_search_has_the_v1_shape_and_pages_relative_to_base(served: Served) -> None:
    """v1 search: start/limit/size/totalSize and a next link to join to _links.base."""
    query = "type = page AND space = CYGNUS"
    body = await served.ok("/wiki/rest/api/search", {"cql": query, "limit": 40})
    total = len(served.pages_of(CYGNUS))
    assert (body["start"], body["limit"], body["size"], body["totalSize"]) == (0, 40, 40, total)
    assert body["cqlQuery"] == query
    assert isinstance(body["searchDuration"], int)
    links = body["_links"]
    assert links["base"] == f"{served.origin}/wiki"
    assert links["context"] == "/wiki"
    assert links["next"].startswith("/rest/api/search?")
    result = body["results"][0]
    assert result["entityType"] == "content"
    assert result["content"]["type"] == "page"
    assert result["resultGlobalContainer"] == {
        "title": "Cygnus Data Platform",
        "displayUrl": "/spaces/CYGNUS",
    }
    assert ISO_MS.match(result["lastModified"])
    assert result["url"] == result["content"]["_links"]["webui"]
    seen = [r["content"]["id"] for r in body["results"]]
    nxt = links.get("next")
    while nxt:
        page = await served.ok(links["base"] + nxt)
        assert page["start"] == len(seen)
        assert "prev" in page["_links"]
        seen += [r["content"]["id"] for r in page["results"]]
        nxt = page["_links"].get("next")
    assert sorted(seen) == sorted(p.id for p in served.pages_of(CYGNUS))


@pytest.mark.parametrize(
    ("cql", "expected"),
    [
        ("type = page AND space = APOLLO", lambda p, s: p.space_id == APOLLO),
        (
            "space in (APOLLO, BOREALIS) AND title ~ runbook",
            lambda p, s: p.space_id != CYGNUS and p.title.startswith("Runbook"),
        ),
        (
            'title = "Project overview" OR title ~ "status report"',
            lambda p, s: p.title == "Project overview" or p.title.startswith("Status report"),
        ),
        (
            'space = CYGNUS AND NOT title ~ "stand-up"',
            lambda p, s: p.space_id == CYGNUS and "stand-up" not in p.title.lower(),
        ),
        ('lastModified >= now("-7d")', lambda p, s: p.modified_at >= s.now() - timedelta(days=7)),
        (
            'type = page and created >= "2026/10/01" and created < 2026-10-08',
            lambda p, s: "2026-10-01" <= p.created_at.date().isoformat() < "2026-10-08",
        ),
        (
            'text ~ "\\"crash-free sessions\\""',
            lambda p, s: p.title == "Project overview" and p.space_id == "1966081",
        ),
        (
            "contributor = currentUser()",
            lambda p, s: _account_id(s) in (p.author_id, p.version_author_id),
        ),
    ],
)
async def test_the_cql_subset_selects_what_confluence_would(
    served: Served, cql: str, expected: Any
) -> None:
    """Fields, ~ and =, AND/OR/NOT, in (), dates and now(), currentUser() select the right pages."""
    body = await served.ok("/wiki/rest/api/search", {"cql": cql, "limit": 250})
    got = sorted(r["content"]["id"] for r in body["results"])
    want = sorted(p.id for p in served.sandbox.site.pages.values() if expected(p, served.sandbox))
    assert want, "the case must select something"
    assert got == want
    assert body["totalSize"] == len(want)


async def test_order_by_and_relevance(served: Served) -> None:
    """ORDER BY orders (several keys, ASC/DESC); without it the most relevant come first."""
    by_modified = await served.ok(
        "/wiki/rest/api/search",
        {"cql": "space = APOLLO ORDER BY lastmodified DESC", "limit": 250},
    )
    stamps = [r["lastModified"] for r in by_modified["results"]]
    assert stamps == sorted(stamps, reverse=True)
    by_title = await served.ok(
        "/wiki/rest/api/search", {"cql": "space = BOREALIS order by title asc", "limit": 250}
    )
    titles = [r["content"]["title"] for r in by_title["results"]]
    assert titles == sorted(titles, key=str.casefold)
    relevant = await served.ok("/wiki/rest/api/search", {"cql": "text ~ runbook", "limit": 5})
    assert relevant["results"][0]["content"]["title"].startswith("Runbook")


async def test_excerpts_mark_matches_unless_asked_not_to(served: Served) -> None:
    """excerpt=highlight (the default) wraps matches in @@@hl@@@...@@@endhl@@@; none is empty."""
    marked = await served.ok(
        "/wiki/rest/api/search", {"cql": 'space = CYGNUS AND text ~ "kafka"', "limit": 5}
    )
    assert marked["results"]
    assert all("@@@hl@@@" in r["excerpt"] for r in marked["results"])
    plain = await served.ok(
        "/wiki/rest/api/search",
        {"cql": 'space = CYGNUS AND text ~ "kafka"', "limit": 5, "excerpt": "none"},
    )
    assert all(r["excerpt"] == "" for r in plain["results"])
    expanded = await served.ok(
        "/wiki/rest/api/search", {"cql": "space = CYGNUS", "limit": 1, "expand": "content.space"}
    )
    assert expanded["results"][0]["content"]["space"]["key"] == "CYGNUS"


@pytest.mark.parametrize(
    "cql", ["type = page AND (", "colour = red", "title ~", "created > yesterday", "ORDER BY size"]
)
async def test_unparsable_cql_is_a_v1_400(served: Served, cql: str) -> None:
    """CQL that cannot be parsed is 400 in v1's error shape, saying so."""
    response = await served.get("/wiki/rest/api/search", {"cql": cql})
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert body["message"].startswith(f"Could not parse cql : {cql}")
    assert set(body["data"]) >= {"authorized", "valid", "errors", "successful"}
    missing = await served.get("/wiki/rest/api/search")
    assert missing.status_code == 400


# -- auth --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "auth", "status"),
    [
        ("/wiki/api/v2/spaces", None, 401),
        (
            "/wiki/api/v2/spaces",
            "Basic " + base64.b64encode(b"jonas.berg@example.com:nope").decode(),
            401,
        ),
        (
            "/wiki/api/v2/spaces",
            "Basic " + base64.b64encode(f"x@example.com:{TOKEN}".encode()).decode(),
            401,
        ),
        ("/wiki/api/v2/spaces", BEARER, 401),  # the site takes Basic; bearer goes via the gateway
        ("/wiki/api/v2/spaces", BASIC.upper(), 401),
        ("/wiki/api/v2/spaces", BASIC, 200),
        (f"/ex/confluence/{CLOUD_ID}/wiki/api/v2/spaces", BEARER, 200),
        (f"/ex/confluence/{CLOUD_ID}/wiki/api/v2/spaces", BASIC, 200),
        (f"/ex/confluence/{CLOUD_ID}/wiki/api/v2/spaces", "Bearer wrong", 401),
        ("/ex/confluence/not-the-cloud/wiki/api/v2/spaces", BEARER, 404),
    ],
)
async def test_credentials_per_base_form(
    served: Served, path: str, auth: str | None, status: int
) -> None:
    """Basic on the site form, bearer (or Basic) on the gateway form; anything else is refused."""
    response = await served.get(path, auth=auth)
    assert response.status_code == status, response.text
    if status == 401 and path.startswith("/ex/"):
        assert response.json() == {"code": 401, "message": "Unauthorized"}
    elif status == 401:
        assert _error(response, 401)["code"] == "UNAUTHORIZED"


async def test_a_refused_v1_request_has_the_v1_shape(served: Served) -> None:
    """Without credentials v1 search answers 401 as v1 does (statusCode, message)."""
    response = await served.get("/wiki/rest/api/search", {"cql": "type = page"}, auth=None)
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401


async def test_without_an_email_the_site_takes_the_bearer_token() -> None:
    """A sandbox given no e-mail accepts its token as a bearer token on the site form too."""

    def factory(origin: str) -> ConfluenceSandbox:
        return ConfluenceSandbox(email=None, api_token=TOKEN, public_url=origin)

    async with serve(factory) as served:
        assert (await served.get("/wiki/api/v2/spaces", auth=BEARER)).status_code == 200
        assert (await served.get("/wiki/api/v2/spaces", auth=BASIC)).status_code == 401


async def test_the_tenant_info_gives_the_cloud_id(served: Served) -> None:
    """GET /_edge/tenant_info (unauthenticated, as on a site) names the cloud id."""
    response = await served.http.get("/_edge/tenant_info")
    assert response.json() == {"cloudId": CLOUD_ID}


async def test_links_describe_the_site_even_through_the_gateway(served: Served) -> None:
    """Via the gateway, _links.base is the site and next is /wiki/...: the gateway prefix is not in them."""
    body = await served.ok(
        f"/ex/confluence/{CLOUD_ID}/wiki/api/v2/pages", {"limit": 2}, auth=BEARER
    )
    assert body["_links"]["base"] == f"{served.origin}/wiki"
    assert body["_links"]["next"].startswith("/wiki/api/v2/pages?")
    prefixed = await served.get(f"/ex/confluence/{CLOUD_ID}" + body["_links"]["next"], auth=BEARER)
    assert prefixed.status_code == 200
    assert prefixed.json()["results"][0]["id"] != body["results"][0]["id"]


def test_public_url_sets_the_base_whatever_its_suffix() -> None:
    """public_url may be given with /wiki or the gateway path; _links.base is the site's /wiki."""
    for given in (
        "https://docs.example.com",
        "https://docs.example.com/wiki/",
        "https://docs.example.com/ex/confluence/x",
    ):
        sandbox = ConfluenceSandbox(email=None, api_token=TOKEN, public_url=given)
        assert sandbox.base == "https://docs.example.com/wiki"


# -- faults and controls -----------------------------------------------------------------


async def test_rate_limited_fault_answers_like_atlassian(served: Served) -> None:
    """429 with an integer Retry-After and X-RateLimit headers, `times` times, then normal answers."""
    served.sandbox.inject(Fault(kind="rate_limited", times=2, retry_after=3))
    for _ in range(2):
        response = await served.get("/wiki/api/v2/spaces")
        assert _error(response, 429)["code"] == "TOO_MANY_REQUESTS"
        assert response.headers["Retry-After"] == "3"
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert response.headers["X-RateLimit-NearLimit"] == "true"
        assert ISO_MS.match(response.headers["X-RateLimit-Reset"])
    assert (await served.get("/wiki/api/v2/spaces")).status_code == 200
    served.sandbox.inject(Fault(kind="rate_limited", retry_after=None))
    bare = await served.get("/wiki/api/v2/spaces")
    assert bare.status_code == 429
    assert "Retry-After" not in bare.headers


async def test_outage_faults(served: Served) -> None:
    """unavailable is 503 with Retry-After, server_error 500, bad_gateway a proxy's HTML 502."""
    for kind, status in (("unavailable", 503), ("server_error", 500), ("bad_gateway", 502)):
        served.sandbox.inject(Fault(kind=kind, retry_after=5))  # type: ignore[arg-type]
        response = await served.get("/wiki/api/v2/spaces")
        assert response.status_code == status
        if kind == "unavailable":
            assert response.headers["Retry-After"] == "5"
        if kind == "bad_gateway":
            assert response.headers["content-type"].startswith("text/html")
    search = await served.http.post("/sandbox/faults", json={"kind": "forbidden"})
    assert search.status_code == 204
    v1 = await served.get("/wiki/rest/api/search", {"cql": "type = page"})
    assert v1.status_code == 403
    assert v1.json()["statusCode"] == 403


async def test_conflict_and_filtered_faults_wait_for_their_request(served: Served) -> None:
    """A conflict fault leaves reads alone and fails the next PUT; method/path filters pick requests."""
    await served.http.post("/sandbox/faults", json={"kind": "conflict"})
    await served.http.post(
        "/sandbox/faults", json={"kind": "server_error", "path": "/rest/api/search"}
    )
    listed = await served.ok("/wiki/api/v2/pages", {"space-id": APOLLO, "title": "Decisions"})
    page = listed["results"][0]
    number = page["version"]["number"] + 1
    path = f"/wiki/api/v2/pages/{page['id']}"
    assert _error(await served.send("PUT", path, _put_body(page["id"], number, "")), 409)
    assert (await served.send("PUT", path, _put_body(page["id"], number, ""))).status_code == 200
    assert (await served.get("/wiki/rest/api/search", {"cql": "type = page"})).status_code == 500
    assert (await served.get("/wiki/rest/api/search", {"cql": "type = page"})).status_code == 200


async def test_a_slow_fault_delays_the_answer(served: Served) -> None:
    """slow answers normally after delay_s."""
    await served.http.post("/sandbox/faults", json={"kind": "slow", "delay_s": 0.3})
    started = time.monotonic()
    assert (await served.get("/wiki/api/v2/spaces")).status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_the_request_log_never_holds_credentials(served: Served) -> None:
    """GET /sandbox/requests shows the auth scheme only: no token, no base64 of it."""
    await served.get("/wiki/api/v2/spaces")
    await served.get(f"/ex/confluence/{CLOUD_ID}/wiki/api/v2/spaces", auth=BEARER)
    await served.send("POST", "/wiki/api/v2/pages", {"spaceId": APOLLO, "title": "Logged"})
    log = await served.http.get("/sandbox/requests")
    text = log.text
    assert TOKEN not in text
    assert BASIC.split(" ")[1] not in text
    entries = log.json()
    assert [e["authorization"] for e in entries] == ["Basic ****", "Bearer ****", "Basic ****"]
    assert [e["gateway"] for e in entries] == [False, True, False]
    assert entries[2]["json"] == {"spaceId": APOLLO, "title": "Logged"}


async def test_reset_touch_and_site_controls(served: Served) -> None:
    """touch bumps a page's version as another person; reset reseeds; site lists spaces."""
    site = (await served.http.get("/sandbox/site")).json()
    assert site["cloud_id"] == CLOUD_ID
    assert [s["key"] for s in site["spaces"]] == ["APOLLO", "BOREALIS", "CYGNUS"]
    homepage = site["spaces"][0]["homepage_id"]
    before = await served.ok(f"/wiki/api/v2/pages/{homepage}")
    touched = await served.http.post(
        f"/sandbox/pages/{homepage}/touch", json={"body": "<p>Changed</p>"}
    )
    assert touched.status_code == 200
    after = touched.json()
    assert after["version"]["number"] == before["version"]["number"] + 1
    assert after["version"]["authorId"] != before["version"]["authorId"]
    assert after["body"]["storage"]["value"] == "<p>Changed</p>"
    assert (await served.http.post("/sandbox/pages/1/touch")).status_code == 404
    assert (await served.http.post("/sandbox/reset")).status_code == 204
    again = await served.ok(f"/wiki/api/v2/pages/{homepage}")
    assert again["version"] == before["version"]
    # The log was emptied by the reset: only the read above is in it.
    assert len((await served.http.get("/sandbox/requests")).json()) == 1


async def test_unknown_paths_and_methods(served: Served) -> None:
    """An unknown API path is 404 and a wrong method 405, both in the errors shape."""
    _error(await served.get("/wiki/api/v2/whiteboards"), 404)
    _error(await served.send("PATCH", "/wiki/api/v2/pages", {}), 405)


async def test_writes_accept_both_v2_body_forms(served: Served) -> None:
    """The v2 API's PageNestedBodyWrite ({"storage": {"value": ...}}) creates and updates
    pages as PageBodyWrite does; a nested form naming another representation is a 400."""
    created = await served.send(
        "POST",
        "/wiki/api/v2/pages",
        {
            "spaceId": APOLLO,
            "title": "Nested body",
            "body": {"storage": {"value": "<p>nested</p>", "representation": "storage"}},
        },
    )
    assert created.status_code == 200, created.text
    page = created.json()
    update = {
        "id": page["id"],
        "status": "current",
        "title": "Nested body",
        "body": {"wiki": {"value": "second line"}},
        "version": {"number": 2},
    }
    updated = await served.send("PUT", f"/wiki/api/v2/pages/{page['id']}", update)
    assert updated.status_code == 200, updated.text
    read = await served.ok(f"/wiki/api/v2/pages/{page['id']}", {"body-format": "storage"})
    assert read["body"]["storage"]["value"] == "<p>second line</p>"
    mixed = await served.send(
        "PUT",
        f"/wiki/api/v2/pages/{page['id']}",
        {**update, "body": {"storage": {"value": "x", "representation": "wiki"}}},
    )
    assert mixed.status_code == 400
    assert "body.storage.representation" in mixed.text


# -- v1 content and space APIs ------------------------------------------------------------


def _v1_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """A v1 error ({"statusCode", "data", "message"}), after checking its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "data", "message"}
    assert body["statusCode"] == status
    assert body["data"]["successful"] is False
    return dict(body)


async def test_v1_content_by_id_expands_space_history_and_version_by_default(
    served: Served,
) -> None:
    """GET /rest/api/content/{id} with no expand expands space, history and version only."""
    page = served.pages_of(APOLLO)[0]
    content = await served.ok(f"/wiki/rest/api/content/{page.id}")
    assert (content["id"], content["type"], content["title"]) == (page.id, "page", page.title)
    assert content["space"]["key"] == "APOLLO"
    assert content["version"]["number"] == page.version
    assert ISO_MS.match(content["version"]["when"])
    assert content["history"]["createdBy"]["accountId"] == page.author_id
    assert "body" not in content
    assert "ancestors" not in content
    assert {"body", "ancestors", "children"} <= set(content["_expandable"])
    assert content["_links"]["base"] == f"{served.origin}/wiki"
    assert content["_links"]["self"] == f"{served.origin}/wiki/rest/api/content/{page.id}"
    _v1_error(await served.get("/wiki/rest/api/content/123"), 404)
    _v1_error(await served.get("/wiki/rest/api/content/12x"), 404)


async def test_v1_content_listing_envelope_and_links(served: Served) -> None:
    """GET /rest/api/content pages with start/limit; next is relative to _links.base."""
    total = len(served.pages_of(CYGNUS))
    first = await served.ok(
        "/wiki/rest/api/content", {"spaceKey": "CYGNUS", "type": "page", "limit": 10}
    )
    assert (first["start"], first["limit"], first["size"]) == (0, 10, 10)
    assert set(first["results"][0]) >= {"id", "type", "status", "title", "_expandable", "_links"}
    assert "space" not in first["results"][0]
    seen: list[str] = []
    link: str | None = "/rest/api/content?spaceKey=CYGNUS&type=page&limit=10"
    while link is not None:
        body = await served.ok(first["_links"]["base"].removeprefix(served.origin) + link)
        seen.extend(r["id"] for r in body["results"])
        link = body["_links"].get("next")
    assert len(seen) == len(set(seen)) == total
    default = await served.ok("/wiki/rest/api/content", {"spaceKey": "CYGNUS"})
    assert default["limit"] == 25
    blogs = await served.ok("/wiki/rest/api/content", {"spaceKey": "CYGNUS", "type": "blogpost"})
    assert blogs["results"] == []
    _v1_error(await served.get("/wiki/rest/api/content", {"type": "comment"}), 400)


async def test_v1_writes_round_trip_and_refuse_what_confluence_refuses(served: Served) -> None:
    """POST/PUT/DELETE /rest/api/content: v1 bodies, 409 on a stale version, 400 on non-pages."""
    home = served.sandbox.site.space(APOLLO)
    assert home is not None
    document = {
        "type": "page",
        "title": "From v1",
        "space": {"key": "APOLLO"},
        "ancestors": [{"id": home.homepage_id}],
        "body": {"storage": {"value": "<p>v1</p>", "representation": "storage"}},
    }
    created = await served.send("POST", "/wiki/rest/api/content/", document)
    assert created.status_code == 200, created.text
    page_id = created.json()["id"]
    assert created.json()["body"]["storage"]["value"] == "<p>v1</p>"
    v2 = await served.ok(f"/wiki/api/v2/pages/{page_id}", {"body-format": "storage"})
    assert (v2["parentId"], v2["body"]["storage"]["value"]) == (home.homepage_id, "<p>v1</p>")
    # A title-only update keeps the body.
    renamed = {"type": "page", "title": "From v1 (renamed)", "version": {"number": 2}}
    updated = await served.send("PUT", f"/wiki/rest/api/content/{page_id}", renamed)
    assert updated.status_code == 200, updated.text
    assert updated.json()["body"]["storage"]["value"] == "<p>v1</p>"
    stale = await served.send("PUT", f"/wiki/rest/api/content/{page_id}", renamed)
    assert "Current Version: [2]. Provided version: [2]" in _v1_error(stale, 409)["message"]
    blog = {**document, "type": "blogpost", "title": "A blog post"}
    _v1_error(await served.send("POST", "/wiki/rest/api/content", blog), 400)
    nowhere = {**document, "space": {"key": "NOPE"}, "title": "Lost"}
    _v1_error(await served.send("POST", "/wiki/rest/api/content", nowhere), 404)
    deleted = await served.http.delete(
        f"/wiki/rest/api/content/{page_id}", headers={"Authorization": BASIC}
    )
    assert deleted.status_code == 204
    _v1_error(await served.get(f"/wiki/rest/api/content/{page_id}"), 404)
    _v1_error(await served.send("PATCH", f"/wiki/rest/api/content/{page_id}", {}), 405)


async def test_v1_page_tree_and_unmodelled_children(served: Served) -> None:
    """child/page lists a page's children; attachments and comments are empty lists."""
    space = served.sandbox.site.space(APOLLO)
    assert space is not None
    kids = served.sandbox.site.children(space.homepage_id)
    listed = await served.ok(f"/wiki/rest/api/content/{space.homepage_id}/child/page")
    assert [r["id"] for r in listed["results"]] == [k.id for k in kids][:25]
    tree = await served.ok(f"/wiki/rest/api/content/{space.homepage_id}/child", {"expand": "page"})
    assert tree["page"]["size"] == min(25, len(kids))
    assert set(tree["_expandable"]) == {"attachment", "comment"}
    for kind in ("attachment", "comment"):
        empty = await served.ok(f"/wiki/rest/api/content/{space.homepage_id}/child/{kind}")
        assert empty["results"] == []
    _v1_error(await served.get(f"/wiki/rest/api/content/{space.homepage_id}/label"), 404)


async def test_v1_spaces_and_auth_on_the_gateway(served: Served) -> None:
    """GET /rest/api/space[/{key}] answer v1 spaces; the gateway form takes the bearer token."""
    space = await served.ok("/wiki/rest/api/space/APOLLO", {"expand": "description.plain,homepage"})
    assert (space["id"], space["key"]) == (int(APOLLO), "APOLLO")
    assert space["homepage"]["type"] == "page"
    assert space["description"]["plain"]["representation"] == "plain"
    listed = await served.ok("/wiki/rest/api/space", {"limit": 1})
    assert listed["size"] == 1
    assert listed["_links"]["next"].startswith("/rest/api/space?")
    assert (
        "No space with key : NOPE"
        in _v1_error(await served.get("/wiki/rest/api/space/NOPE"), 404)["message"]
    )
    _v1_error(await served.get("/wiki/rest/api/space/APOLLO", auth=None), 401)
    gateway = f"/ex/confluence/{served.sandbox.cloud_id}/wiki/rest/api/space/APOLLO"
    assert (await served.ok(gateway, auth=BEARER))["key"] == "APOLLO"
