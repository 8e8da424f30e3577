"""The classic third-party client, atlassian-python-api's ``Confluence(cloud=True)``,
against the Confluence sandbox process over HTTP on 127.0.0.1: v1 content and space
calls (listing, reading, finding, creating, updating, deleting, page trees), with the
v2 API showing the same pages, and its errors (401, 404, 409, 429).

The client is synchronous (requests): these are plain sync tests. Its session ignores
the environment's proxies, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from atlassian import Confluence
from atlassian.errors import ApiError

from tests.support.confluence import (
    SANDBOX_EMAIL,
    SANDBOX_TOKEN,
    ConfluenceSandboxControl,
    confluence_sandbox_process,
)

CYGNUS = "CYGNUS"  # the space with more pages than one response holds
APOLLO = "APOLLO"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConfluenceSandboxControl]:
    with confluence_sandbox_process(tmp_path_factory.mktemp("confluence-sdk")) as control:
        yield control


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox: ConfluenceSandboxControl) -> None:
    """Every test starts from the seeded site, with no faults."""
    sandbox.reset()


def _client(sandbox: ConfluenceSandboxControl, **kwargs: Any) -> Confluence:
    """The client as a user builds it for a Cloud site: the site URL, e-mail and token."""
    session = requests.Session()
    session.trust_env = False  # no proxy between the test and 127.0.0.1
    options: dict[str, Any] = {"username": SANDBOX_EMAIL, "password": SANDBOX_TOKEN}
    options.update(kwargs)
    return Confluence(
        url=f"{sandbox.base}/wiki", cloud=True, session=session, timeout=10, **options
    )


@pytest.fixture
def confluence(sandbox: ConfluenceSandboxControl) -> Iterator[Confluence]:
    client = _client(sandbox)
    yield client
    client.close()


@pytest.fixture
def v2(sandbox: ConfluenceSandboxControl) -> Iterator[httpx.Client]:
    """The v2 API, with the same credentials, to see what v1 writes."""
    with httpx.Client(
        base_url=f"{sandbox.base}/wiki/api/v2",
        auth=(SANDBOX_EMAIL, SANDBOX_TOKEN),
        timeout=10.0,
        trust_env=False,
    ) as client:
        yield client


def _v2_space_page_ids(sandbox: ConfluenceSandboxControl, v2: httpx.Client, key: str) -> set[str]:
    response = v2.get(
        f"/spaces/{sandbox.space(key)['id']}/pages", params={"limit": 250, "status": "current"}
    )
    assert response.status_code == 200, response.text
    assert "next" not in response.json()["_links"]
    return {p["id"] for p in response.json()["results"]}


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    reason = getattr(error, "reason", None)
    if response is None and reason is not None:
        response = getattr(reason, "response", None)
    return None if response is None else int(response.status_code)


# -- reading -----------------------------------------------------------------------------


def test_listing_a_spaces_pages_with_start_and_limit(
    sandbox: ConfluenceSandboxControl, confluence: Confluence, v2: httpx.Client
) -> None:
    """A space's pages come back in start/limit windows, once each, the same pages v2 lists."""
    first = confluence.get_all_pages_from_space(CYGNUS, start=0, limit=10)
    second = confluence.get_all_pages_from_space(CYGNUS, start=10, limit=10)
    assert len(first) == len(second) == 10
    assert not {p["id"] for p in first} & {p["id"] for p in second}
    everything = list(confluence.get_all_pages_from_space_as_generator(CYGNUS, limit=10))
    ids = [p["id"] for p in everything]
    assert len(ids) > 60
    assert len(ids) == len(set(ids))
    assert set(ids) == _v2_space_page_ids(sandbox, v2, CYGNUS)
    assert ids[:20] == [p["id"] for p in first + second]
    # The generator asks for history, space and version: each page carries them.
    page = everything[0]
    assert page["type"] == "page"
    assert page["space"]["key"] == CYGNUS
    assert page["version"]["number"] >= 1
    assert page["history"]["createdBy"]["accountId"]
    raw = confluence.get_all_pages_from_space_raw(CYGNUS, start=0, limit=10)
    assert (raw["start"], raw["limit"], raw["size"]) == (0, 10, 10)
    assert raw["_links"]["base"] == f"{sandbox.base}/wiki"
    assert raw["_links"]["next"].startswith("/rest/api/content?")
    sent = [r for r in sandbox.requests() if r["path"].startswith("/wiki/rest/")]
    assert len(sent) > 8
    assert all(r["path"] == "/wiki/rest/api/content" and r["status"] == 200 for r in sent)
    assert all(r["authorization"] == "Basic ****" for r in sent)


def test_reading_a_page_by_id_with_its_body(
    sandbox: ConfluenceSandboxControl, confluence: Confluence, v2: httpx.Client
) -> None:
    """get_page_by_id gives the page's storage body and version, as v2 shows them."""
    homepage = sandbox.space(APOLLO)["homepage_id"]
    page = confluence.get_page_by_id(homepage, expand="body.storage,version")
    seen = v2.get(f"/pages/{homepage}", params={"body-format": "storage"}).json()
    assert page["id"] == homepage
    assert page["type"] == "page"
    assert page["title"] == seen["title"]
    assert page["body"]["storage"]["value"] == seen["body"]["storage"]["value"]
    assert page["body"]["storage"]["representation"] == "storage"
    assert page["version"]["number"] == seen["version"]["number"]
    assert page["_links"]["webui"].startswith(f"/spaces/{APOLLO}/pages/{homepage}/")
    assert confluence.get_page_space(homepage) == APOLLO


def test_finding_a_page_by_title(sandbox: ConfluenceSandboxControl, confluence: Confluence) -> None:
    """get_page_by_title finds the one page of that title in the space, or None."""
    some = confluence.get_all_pages_from_space(APOLLO, start=3, limit=1)[0]
    found = confluence.get_page_by_title(APOLLO, some["title"], expand="body.storage")
    assert found is not None
    assert found["id"] == some["id"]
    assert found["body"]["storage"]["value"]
    assert confluence.get_page_id(APOLLO, some["title"]) == some["id"]
    assert confluence.page_exists(APOLLO, some["title"])
    assert confluence.get_page_by_title(APOLLO, "No such page anywhere") is None
    assert not confluence.page_exists(APOLLO, "No such page anywhere")


def test_reading_a_space(sandbox: ConfluenceSandboxControl, confluence: Confluence) -> None:
    """get_space gives the space's key, name, description and homepage; the list pages."""
    expected = sandbox.space(APOLLO)
    space = confluence.get_space(APOLLO)
    assert space["key"] == APOLLO
    assert space["name"] == expected["name"]
    assert str(space["id"]) == expected["id"]
    assert space["description"]["plain"]["value"]
    assert space["homepage"]["id"] == expected["homepage_id"]
    listed = confluence.get_all_spaces(start=0, limit=2)
    everyone = confluence.get_all_spaces(start=0, limit=100)
    assert listed["size"] == 2
    assert "next" in listed["_links"]
    assert {s["key"] for s in everyone["results"]} == {s["key"] for s in sandbox.site()["spaces"]}
    with pytest.raises(ApiError) as missing:
        confluence.get_space("NOPE")
    assert _status(missing.value) == 404


def test_child_pages_follow_the_page_tree(
    sandbox: ConfluenceSandboxControl, confluence: Confluence, v2: httpx.Client
) -> None:
    """A page's children come back whole (following next links) and in windows."""
    homepage = sandbox.space(CYGNUS)["homepage_id"]
    kids = list(confluence.get_child_pages(homepage))
    ids = [k["id"] for k in kids]
    assert ids
    assert len(ids) == len(set(ids))
    every = v2.get(
        f"/spaces/{sandbox.space(CYGNUS)['id']}/pages", params={"limit": 250, "status": "current"}
    ).json()["results"]
    assert set(ids) == {p["id"] for p in every if p["parentId"] == homepage}
    window = confluence.get_page_child_by_type(homepage, type="page", start=1, limit=2)
    assert [k["id"] for k in window] == ids[1:3]
    assert confluence.get_child_title_list(homepage)[0] == kids[0]["title"]
    child = confluence.get_page_by_id(ids[0], expand="ancestors")
    assert child["ancestors"][-1]["id"] == homepage
    assert confluence.get_parent_content_id(ids[0]) == homepage


# -- writing -----------------------------------------------------------------------------


def test_created_and_updated_pages_show_in_v2(
    sandbox: ConfluenceSandboxControl, confluence: Confluence, v2: httpx.Client
) -> None:
    """create_page and update_page change the page v2 reads: title, body, version, parent."""
    parent = sandbox.space(APOLLO)["homepage_id"]
    created = confluence.create_page(
        APOLLO, "Release checklist", "<p>first draft</p>", parent_id=parent
    )
    page_id = created["id"]
    assert created["version"]["number"] == 1
    assert created["space"]["key"] == APOLLO
    assert created["ancestors"][-1]["id"] == parent
    seen = v2.get(f"/pages/{page_id}", params={"body-format": "storage"}).json()
    assert (seen["title"], seen["parentId"], seen["spaceId"]) == (
        "Release checklist",
        parent,
        sandbox.space(APOLLO)["id"],
    )
    assert seen["body"]["storage"]["value"] == "<p>first draft</p>"

    updated = confluence.update_page(
        page_id, "Release checklist v2", "<p>ready</p>", version_comment="ship it"
    )
    assert updated["version"]["number"] == 2
    seen = v2.get(f"/pages/{page_id}", params={"body-format": "storage"}).json()
    assert seen["title"] == "Release checklist v2"
    assert seen["body"]["storage"]["value"] == "<p>ready</p>"
    assert seen["version"]["number"] == 2
    assert seen["version"]["message"] == "ship it"
    # The same body again is not a new version (the client compares before writing).
    again = confluence.update_page(page_id, "Release checklist v2", "<p>ready</p>")
    assert again["version"]["number"] == 2
    assert confluence.get_page_by_title(APOLLO, "Release checklist v2")["id"] == page_id


def test_a_duplicate_title_is_refused_as_confluence_does(confluence: Confluence) -> None:
    """Creating a second page of a title in the space fails with Atlassian's message."""
    confluence.create_page(APOLLO, "Only once", "<p>one</p>")
    with pytest.raises(requests.HTTPError) as refused:
        confluence.create_page(APOLLO, "Only once", "<p>two</p>")
    assert _status(refused.value) == 400
    assert "A page with this title already exists" in str(refused.value)


def test_a_stale_version_is_a_409(
    sandbox: ConfluenceSandboxControl, confluence: Confluence
) -> None:
    """An update racing an edit in the browser gets Confluence's 409 version message."""
    page = confluence.create_page(APOLLO, "Raced", "<p>one</p>")
    sandbox.fault("conflict")
    with pytest.raises(requests.HTTPError) as conflict:
        confluence.update_page(page["id"], "Raced", "<p>two</p>")
    assert _status(conflict.value) == 409
    assert "Version must be incremented" in str(conflict.value)
    stale = {
        "id": page["id"],
        "type": "page",
        "title": "Raced",
        "body": {"storage": {"value": "<p>two</p>", "representation": "storage"}},
        "version": {"number": 1},
    }
    with pytest.raises(requests.HTTPError) as again:
        confluence.put(f"rest/api/content/{page['id']}", data=stale)
    assert _status(again.value) == 409
    assert "Current Version: [1]. Provided version: [1]" in str(again.value)


def test_removing_a_page_trashes_it(
    sandbox: ConfluenceSandboxControl, confluence: Confluence, v2: httpx.Client
) -> None:
    """remove_page moves the page to the trash; v1 and v2 no longer find it as current."""
    page = confluence.create_page(APOLLO, "Short-lived", "<p>bye</p>")
    confluence.remove_page(page["id"])
    assert v2.get(f"/pages/{page['id']}").json()["status"] == "trashed"
    with pytest.raises(ApiError) as gone:
        confluence.get_page_by_id(page["id"])
    assert _status(gone.value) == 404
    assert confluence.get_page_by_id(page["id"], status="trashed")["status"] == "trashed"
    confluence.remove_page(page["id"], status="trashed")
    assert v2.get(f"/pages/{page['id']}").status_code == 404


# -- errors ------------------------------------------------------------------------------


def test_a_wrong_token_is_a_401(sandbox: ConfluenceSandboxControl) -> None:
    """With a wrong API token every call raises, naming 401 and nothing is read."""
    client = _client(sandbox, password="not-the-token")
    with pytest.raises(requests.HTTPError) as refused:
        client.get_space(APOLLO)
    assert _status(refused.value) == 401
    assert "401" in str(refused.value) or "Unauthorized" in str(refused.value)
    assert sandbox.statuses() == [401]


def test_a_missing_page_is_not_found(
    sandbox: ConfluenceSandboxControl, confluence: Confluence
) -> None:
    """An unknown page id is 404 in v1's error shape; the client says there is no content."""
    with pytest.raises(ApiError) as missing:
        confluence.get_page_by_id("999999999")
    assert _status(missing.value) == 404
    assert "no content with the given id" in str(missing.value)
    response = confluence.get("rest/api/content/999999999", advanced_mode=True)
    assert response.status_code == 404
    error = response.json()
    assert error["statusCode"] == 404
    assert error["message"] == "No content found with id : ContentId{id=999999999}"
    assert error["data"]["successful"] is False


def test_throttling_is_waited_out_or_surfaced(sandbox: ConfluenceSandboxControl) -> None:
    """A 429 with Retry-After is waited for and retried; without one the client raises 429."""
    client = _client(sandbox)
    sandbox.fault("rate_limited", retry_after=0)
    assert client.get_space(APOLLO)["key"] == APOLLO
    assert sandbox.statuses() == [429, 200]
    sandbox.fault("rate_limited", retry_after=None)
    with pytest.raises(requests.HTTPError) as throttled:
        client.get_space(APOLLO)
    assert _status(throttled.value) == 429
    assert "Rate limit exceeded" in str(throttled.value)


V2_CLIENT = "atlassian-python-api==5.0.5"
"""The release with Atlassian's v2 client (``ConfluenceV2``); it runs in an environment
of its own (the 4.x classic client above cannot share one with it)."""


def _uv() -> str:
    """The uv that ./dw uses (.tools/uv), or the one on PATH."""
    local = Path(__file__).parents[2] / ".tools" / "uv" / "bin" / "uv"
    found = str(local) if local.is_file() else shutil.which("uv")
    assert found, "uv is needed to run Atlassian's v2 client in an environment of its own"
    return found


def test_the_v2_client_reads_and_writes_pages(sandbox: ConfluenceSandboxControl) -> None:
    """atlassian-python-api's v2 client (5.x ConfluenceV2), unchanged: a space by key, its
    pages (cursor paging, five at a time), one page with its body, and create then update with the nested
    body form it sends; a missing page is a 404."""
    script = Path(__file__).parents[1] / "contracts" / "confluence_v2_client.py"
    result = subprocess.run(
        [
            _uv(),
            "run",
            "--isolated",
            "--no-project",
            "--quiet",
            "--with",
            V2_CLIENT,
            "python",
            str(script),
            sandbox.base,
            SANDBOX_EMAIL,
            SANDBOX_TOKEN,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["space"] == {"id": sandbox.space(APOLLO)["id"], "key": APOLLO}
    # get_pages follows the cursor links to the end, five pages at a time.
    assert len(seen["page_ids"]) > 5
    assert len(set(seen["page_ids"])) == len(seen["page_ids"])
    assert seen["read"]["has_body"] is True
    assert (seen["created"]["version"], seen["updated"]["version"]) == (1, 2)
    assert seen["after"] == "<p>second</p>"
    assert seen["missing"] == 404
