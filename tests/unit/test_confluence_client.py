"""The Confluence client's own logic over a mock transport: links, auth, errors, waits."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from dataworkflows.connectors.confluence.client import ConfluenceClient
from dataworkflows.connectors.confluence.port import (
    ConfluenceAuthError,
    ConfluenceConflict,
    ConfluenceError,
    ConfluenceInvalidInput,
    ConfluenceNotFound,
    ConfluenceRateLimited,
    ConfluenceUnavailable,
)

SITE = "https://acme.atlassian.net"
GATEWAY = "https://api.atlassian.com/ex/confluence/11111111-2222-3333-4444-555555555555"
TOKEN = "secret-api-token-987"

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(
    handler: Handler, *, url: str = SITE, email: str | None = "a@acme.com"
) -> ConfluenceClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ConfluenceClient(url=url, http=http, api_token=TOKEN, email=email, attempts=1)


def page(page_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": page_id,
        "title": f"Page {page_id}",
        "status": "current",
        "spaceId": "9",
        "version": {"number": 1},
        "_links": {"webui": f"/spaces/X/pages/{page_id}/Page"},
        **extra,
    }


@pytest.mark.parametrize(
    ("root", "link", "expected"),
    [
        (
            SITE,
            "/wiki/api/v2/pages?cursor=ab=&limit=2",
            f"{SITE}/wiki/api/v2/pages?cursor=ab=&limit=2",
        ),
        (f"{SITE}/wiki/", "/wiki/api/v2/pages?cursor=x", f"{SITE}/wiki/api/v2/pages?cursor=x"),
        (
            GATEWAY,
            "/wiki/api/v2/pages?cursor=x&limit=2",
            f"{GATEWAY}/wiki/api/v2/pages?cursor=x&limit=2",
        ),
        (
            GATEWAY,
            "/rest/api/search?next=true&cursor=y",
            f"{GATEWAY}/wiki/rest/api/search?next=true&cursor=y",
        ),
        (SITE, "/rest/api/search?cursor=y", f"{SITE}/wiki/rest/api/search?cursor=y"),
        (GATEWAY, f"{SITE}/wiki/api/v2/pages?cursor=z", f"{GATEWAY}/wiki/api/v2/pages?cursor=z"),
        (SITE, "https://evil.example.com/wiki/api/v2/pages?c=1", f"{SITE}/wiki/api/v2/pages?c=1"),
    ],
)
def test_next_links_resolve_under_the_configured_root(root: str, link: str, expected: str) -> None:
    """v2 (/wiki/...) and v1 (relative to base) links stay under the configured root and host."""
    client = ConfluenceClient(url=root, http=httpx.AsyncClient(), api_token=TOKEN)
    assert client.resolve_link(link) == expected


async def test_the_link_header_alone_is_followed_on_the_gateway() -> None:
    """A response with only `Link: <...>; rel="next"` is followed, under the gateway prefix."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if "cursor" not in str(request.url):
            return httpx.Response(
                200,
                json={"results": [page("1")], "_links": {"base": f"{SITE}/wiki"}},
                headers={
                    "Link": f'</wiki/api/v2/pages?cursor=c2=&space-id=9&limit=1>; rel="next", '
                    f'<{SITE}/wiki>; rel="base"'
                },
            )
        return httpx.Response(
            200, json={"results": [page("2")], "_links": {"base": f"{SITE}/wiki"}}
        )

    client = make_client(handler, url=GATEWAY, email=None)
    batches = [b async for b in client.space_pages("9", page_size=1)]
    assert [[p.id for p in b] for b in batches] == [["1"], ["2"]]
    assert seen[1] == f"{GATEWAY}/wiki/api/v2/pages?cursor=c2=&space-id=9&limit=1"
    assert batches[0][0].url == f"{SITE}/wiki/spaces/X/pages/1/Page"


async def test_a_next_link_that_repeats_stops_paging() -> None:
    """A Confluence that keeps answering the same next link is an error, not an endless loop."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"results": [page("1")], "_links": {"next": "/wiki/api/v2/pages?cursor=same"}}
        )

    client = make_client(handler)
    with pytest.raises(ConfluenceError, match="repeats"):
        [b async for b in client.space_pages("9")]


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("a@acme.com", "Basic " + base64.b64encode(f"a@acme.com:{TOKEN}".encode()).decode()),
        (None, f"Bearer {TOKEN}"),
    ],
)
async def test_basic_with_an_email_bearer_without(email: str | None, expected: str) -> None:
    """The API token goes as Basic email:token when an e-mail is set, else as a bearer token."""
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("Authorization"))
        return httpx.Response(200, json={"results": []})

    await make_client(handler, email=email).space_by_key("X")
    assert sent == [expected]


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (
            400,
            {
                "errors": [
                    {
                        "status": 400,
                        "code": "INVALID_REQUEST_PARAMETER",
                        "title": "Bad limit",
                        "detail": "1-250",
                    }
                ]
            },
            ConfluenceInvalidInput,
            "Bad limit: 1-250",
        ),
        (
            400,
            {"statusCode": 400, "data": {}, "message": "Could not parse cql : type ="},
            ConfluenceInvalidInput,
            "Could not parse cql",
        ),
        (
            401,
            {"code": 401, "message": "Unauthorized; scope does not match"},
            ConfluenceAuthError,
            "scope",
        ),
        (
            403,
            {"errors": [{"status": 403, "code": "FORBIDDEN", "title": "No"}]},
            ConfluenceAuthError,
            "No",
        ),
        (
            404,
            {"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not Found"}]},
            ConfluenceNotFound,
            "Not Found",
        ),
        (
            413,
            {"errors": [{"status": 413, "code": "X", "title": "Request entity too large"}]},
            ConfluenceInvalidInput,
            "too large",
        ),
        (502, "<html><body>502 Bad Gateway</body></html>", ConfluenceUnavailable, "Bad Gateway"),
        (
            500,
            {"errors": [{"status": 500, "code": "INTERNAL", "title": "Oops"}]},
            ConfluenceUnavailable,
            "Oops",
        ),
        (418, {"message": "teapot"}, ConfluenceError, "teapot"),
    ],
)
async def test_error_shapes_become_typed_errors(
    status: int, body: Any, error: type[ConfluenceError], text: str
) -> None:
    """v2, v1, gateway and proxy error bodies all give the typed error with Atlassian's words."""

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers={"Content-Type": "text/html"})
        return httpx.Response(status, json=body)

    with pytest.raises(error) as caught:
        await make_client(handler).get_page("5")
    assert type(caught.value) is error
    assert text in caught.value.message
    assert "<html>" not in caught.value.message
    assert TOKEN not in caught.value.message
    assert caught.value.status == status


async def test_a_409_reports_the_current_version() -> None:
    """The observed 409 title is parsed for the version Confluence holds."""

    def handler(request: httpx.Request) -> httpx.Response:
        title = "Version must be incremented when updating a page. Current Version: [6]. Provided version: [5]"
        return httpx.Response(
            409,
            json={"errors": [{"status": 409, "code": "CONFLICT", "title": title, "detail": None}]},
        )

    with pytest.raises(ConfluenceConflict) as caught:
        await make_client(handler).update_page("5", title="T", body="<p/>", version=5)
    assert caught.value.current_version == 6
    assert caught.value.code == "CONFLICT"


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [("7", 7.0, 7.0), ("in 30 s", 25.0, 30.0), ("soon", None, None), (None, None, None)],
)
async def test_retry_after_is_read_as_seconds_or_a_date(
    header: str | None, low: float | None, high: float | None
) -> None:
    """Retry-After may be seconds or an HTTP date; anything else means "not said"."""
    if header == "in 30 s":
        header = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Retry-After": header} if header is not None else {}
        return httpx.Response(429, json={}, headers=headers)

    with pytest.raises(ConfluenceRateLimited) as caught:
        await make_client(handler).get_page("5")
    if low is None:
        assert caught.value.retry_after is None
    else:
        assert caught.value.retry_after is not None
        assert low <= caught.value.retry_after <= (high or low)


async def test_writes_send_storage_bodies_and_the_next_version() -> None:
    """create posts spaceId/title/storage body; update puts id, status, title, body and version."""
    bodies: list[tuple[str, dict[str, Any]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        document = json.loads(request.content)
        bodies.append((request.method, document))
        # Answers without a body: the client keeps what it sent.
        return httpx.Response(
            200, json=page("77", version={"number": document.get("version", {}).get("number", 1)})
        )

    client = make_client(handler)
    created = await client.create_page(space_id="9", title="T", body="<p>a</p>", parent_id="3")
    updated = await client.update_page("77", title="T", body="<p>b</p>", version=2, message="m")
    assert bodies[0] == (
        "POST",
        {
            "spaceId": "9",
            "status": "current",
            "title": "T",
            "body": {"representation": "storage", "value": "<p>a</p>"},
            "parentId": "3",
        },
    )
    assert bodies[1] == (
        "PUT",
        {
            "id": "77",
            "status": "current",
            "title": "T",
            "body": {"representation": "storage", "value": "<p>b</p>"},
            "version": {"number": 2, "message": "m"},
        },
    )
    assert (created.body, updated.body, updated.version.number) == ("<p>a</p>", "<p>b</p>", 2)


async def test_search_hits_are_cleaned() -> None:
    """Highlight markers and escapes are removed; space key and absolute URL are filled in."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/wiki/rest/api/search"
        assert request.url.params["cql"] == "text ~ deploy"
        return httpx.Response(
            200,
            json={
                "results": [
                    {
                        "content": {
                            "id": "65601",
                            "type": "page",
                            "title": "Runbook: deploys",
                            "_expandable": {"space": "/rest/api/space/ENG"},
                        },
                        "title": "Runbook: @@@hl@@@deploys@@@endhl@@@",
                        "excerpt": "How we @@@hl@@@deploy@@@endhl@@@ &amp; roll back",
                        "url": "/spaces/ENG/pages/65601/Runbook",
                        "resultGlobalContainer": {
                            "title": "Engineering",
                            "displayUrl": "/spaces/ENG",
                        },
                        "lastModified": "2024-02-01T09:00:00.000Z",
                    }
                ],
                "totalSize": 1,
                "_links": {"base": f"{SITE}/wiki", "context": "/wiki"},
            },
        )

    batches = [b async for b in make_client(handler).search("text ~ deploy")]
    (hit,) = batches[0].hits
    assert hit.title == "Runbook: deploys"
    assert hit.excerpt == "How we deploy & roll back"
    assert (hit.space_key, hit.space_name) == ("ENG", "Engineering")
    assert hit.url == f"{SITE}/wiki/spaces/ENG/pages/65601/Runbook"
    assert batches[0].total_size == 1
