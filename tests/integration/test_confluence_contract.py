"""The real Confluence client against the Confluence sandbox process over HTTP on 127.0.0.1:
paging through both link forms and the gateway base, throttling waits, every error
path, the 409 retry and upsert idempotence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import stamina

from dataworkflows.connectors.confluence.client import ConfluenceClient
from dataworkflows.connectors.confluence.component import connector_parts
from dataworkflows.connectors.confluence.port import (
    ConfluenceAuthError,
    ConfluenceInvalidInput,
    ConfluenceNotFound,
    ConfluenceRateLimited,
    ConfluenceUnavailable,
    Page,
)
from dataworkflows.connectors.confluence.service import confluence_actions, write_page
from dataworkflows.connectors.confluence.spec import ConfluenceSettings
from dataworkflows.contracts import ActionFailed, ActionRequest
from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.resilience import CircuitBreaker
from tests.support.confluence import (
    SANDBOX_EMAIL,
    SANDBOX_TOKEN,
    ConfluenceSandboxControl,
    confluence_sandbox_process,
)

CYGNUS = "CYGNUS"  # the space with more pages than one response holds


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConfluenceSandboxControl]:
    with confluence_sandbox_process(tmp_path_factory.mktemp("confluence")) as control:
        yield control


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox: ConfluenceSandboxControl) -> None:
    """Every test starts from the seeded site, with no faults."""
    sandbox.reset()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
        yield client


@pytest.fixture
def retries() -> Iterator[None]:
    """stamina's testing mode, with up to 3 attempts (no real waiting)."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(True)


def client_for(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient, **kwargs: Any
) -> ConfluenceClient:
    """The client as the connector builds it for a site: Basic auth."""
    options: dict[str, Any] = {"api_token": SANDBOX_TOKEN, "email": SANDBOX_EMAIL}
    options.update(kwargs)
    return ConfluenceClient(url=sandbox.base, http=http, **options)


def actions_for(sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient) -> ActionSet:
    return confluence_actions(client_for(sandbox, http))


async def call(actions: ActionSet, name: str, key: str | None = None, **data: Any) -> Any:
    return await actions.invoke(name, ActionRequest(input=data, idempotency_key=key))


async def all_pages(client: ConfluenceClient, space_id: str, **kwargs: Any) -> list[Page]:
    return [p async for batch in client.space_pages(space_id, **kwargs) for p in batch]


# -- paging ------------------------------------------------------------------------------


async def test_listing_follows_next_links_across_many_pages(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """A space's pages come back whole, once each, however small the pages of results."""
    client = client_for(sandbox, http)
    space_id = sandbox.space(CYGNUS)["id"]
    everything = await all_pages(client, space_id, page_size=250)
    sandbox.reset()
    batches = [b async for b in client.space_pages(space_id, page_size=10)]
    ids = [p.id for b in batches for p in b]
    assert len(everything) > 25
    assert len(batches) == -(-len(everything) // 10)
    assert len(ids) == len(set(ids)) == len(everything)
    sent = sandbox.requests()
    assert all(r["path"] == "/wiki/api/v2/pages" for r in sent)
    # Pages after the first are fetched from the link as given (its cursor comes first).
    assert all(r["query"].startswith("cursor=") for r in sent[1:])
    assert all(r["status"] == 200 for r in sent)


async def test_sorted_listing_with_bodies(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """sort and body-format are passed on and kept across pages."""
    client = client_for(sandbox, http)
    pages = await all_pages(
        client, sandbox.space("APOLLO")["id"], sort="-modified-date", page_size=7, include_body=True
    )
    stamps = [p.version.created_at or "" for p in pages]
    assert stamps == sorted(stamps, reverse=True)
    assert all(p.body is not None and p.body.startswith("<") for p in pages)
    assert all(
        p.url and p.url.startswith(f"{sandbox.base}/wiki/spaces/APOLLO/pages/") for p in pages
    )


async def test_the_gateway_base_keeps_its_prefix_while_paging(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """With the /ex/confluence/{cloudId} base and a bearer token, every next page stays on it."""
    client = ConfluenceClient(url=sandbox.gateway, http=http, api_token=SANDBOX_TOKEN)
    space = await client.space_by_key(CYGNUS)
    assert space is not None
    pages = await all_pages(client, space.id, page_size=20)
    hits = [
        h async for batch in client.search(f"space = {CYGNUS}", page_size=30) for h in batch.hits
    ]
    assert len(pages) > 60
    assert len(hits) == len(pages)
    sent = sandbox.requests()
    prefix = f"/ex/confluence/{sandbox.cloud_id}/wiki/"
    assert len(sent) >= 1 + 4 + 3
    assert all(r["gateway"] and r["path"].startswith(prefix) for r in sent)
    assert all(r["authorization"] == "Bearer ****" and r["status"] == 200 for r in sent)
    # Links still name the site, as Atlassian's gateway answers.
    assert pages[0].url is not None
    assert pages[0].url.startswith(f"{sandbox.base}/wiki/spaces/")


async def test_search_follows_v1_next_links_relative_to_base(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """CQL results are paged through v1's next links (relative to _links.base)."""
    client = client_for(sandbox, http)
    batches = [
        b
        async for b in client.search(
            "type = page AND space = CYGNUS ORDER BY created DESC", page_size=25
        )
    ]
    hits = [h for b in batches for h in b.hits]
    assert len(batches) >= 3
    assert batches[0].total_size == len(hits)
    assert len({h.id for h in hits}) == len(hits)
    assert all(h.space_key == CYGNUS and h.space_name == "Cygnus Data Platform" for h in hits)
    sent = sandbox.requests()
    assert all(r["path"] == "/wiki/rest/api/search" for r in sent)
    assert all("cursor=" in r["query"] for r in sent[1:])


async def test_search_action_limits_and_cleans_results(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """confluence.search stops at limit and returns plain-text titles and excerpts."""
    output = await call(
        actions_for(sandbox, http),
        "search",
        cql='type = page AND title ~ "weekly sync" ORDER BY lastmodified DESC',
        limit=5,
    )
    assert output["count"] == 5
    assert output["total_size"] >= 24
    assert all("@@@" not in r["title"] and "@@@" not in r["excerpt"] for r in output["results"])
    assert all(r["title"].endswith("Weekly sync") for r in output["results"])
    modified = [r["last_modified"] for r in output["results"]]
    assert modified == sorted(modified, reverse=True)


# -- reading and writing -----------------------------------------------------------------


async def test_get_create_and_update_round_trip(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """A created page is read back with its body; an update makes version 2 with the new body."""
    actions = actions_for(sandbox, http)
    created = await call(
        actions,
        "create_page",
        space_key="APOLLO",
        title="Release checklist",
        body="<p>Draft</p>",
    )
    page = created["page"]
    assert created["outcome"] == "created"
    assert page["version"]["number"] == 1
    assert page["parent_id"] == sandbox.space("APOLLO")["homepage_id"]
    updated = await call(
        actions,
        "update_page",
        page_id=page["id"],
        body="<p>Final</p>",
        version_message="Ready",
    )
    assert updated["outcome"] == "updated"
    assert updated["page"]["version"]["number"] == 2
    fetched = (await call(actions, "get_page", page_id=page["id"]))["page"]
    assert fetched["body"] == "<p>Final</p>"
    assert fetched["version"]["message"].startswith("Ready [dw:")
    puts = [r for r in sandbox.requests() if r["method"] == "PUT"]
    assert [r["json"]["version"]["number"] for r in puts] == [2]


async def test_a_stale_version_is_reread_and_retried_once(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """Someone saved the page after we read it: the 409 is answered by re-reading and one retry."""
    client = client_for(sandbox, http)
    homepage = sandbox.space("BOREALIS")["homepage_id"]
    stale = await client.get_page(homepage)
    touched = sandbox.touch(homepage, body="<p>Edited in the browser</p>")
    assert touched["version"]["number"] == stale.version.number + 1
    outcome, page = await write_page(
        client, stale, title=stale.title, body="<p>Ours</p>", message=None
    )
    assert outcome == "updated"
    assert page.version.number == stale.version.number + 2
    writes = [(r["method"], r["status"]) for r in sandbox.requests() if r["method"] != "GET"]
    assert writes == [("PUT", 409), ("PUT", 200)]
    assert (await client.get_page(homepage)).body == "<p>Ours</p>"


async def test_a_second_conflict_is_a_retryable_error(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """Two 409s in a row are not looped over: a retryable upstream_error with CONFLICT."""
    sandbox.fault("conflict", times=2)
    page_id = sandbox.space("APOLLO")["homepage_id"]
    with pytest.raises(ActionFailed) as caught:
        await call(actions_for(sandbox, http), "update_page", page_id=page_id, body="<p>x</p>")
    error = caught.value.error
    assert (error.code, error.retryable, error.upstream_code) == (
        "upstream_error",
        True,
        "CONFLICT",
    )
    assert "Current Version" in error.message
    assert [r["status"] for r in sandbox.requests() if r["method"] == "PUT"] == [409, 409]


async def test_upsert_creates_then_leaves_then_updates(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """Re-running an upsert never duplicates; the same body is unchanged, a new one updates."""
    actions = actions_for(sandbox, http)
    request = {"space_key": "CYGNUS", "title": "Weekly data report", "body": "<p>Rows: 10</p>"}
    first = await call(actions, "upsert_page", **request)
    again = await call(actions, "upsert_page", **request)
    changed = await call(actions, "upsert_page", **{**request, "body": "<p>Rows: 12</p>"})
    assert [first["outcome"], again["outcome"], changed["outcome"]] == [
        "created",
        "unchanged",
        "updated",
    ]
    assert first["page"]["id"] == again["page"]["id"] == changed["page"]["id"]
    assert changed["page"]["version"]["number"] == 2
    listed = await call(actions, "list_pages", space_key="CYGNUS", title="Weekly data report")
    assert listed["count"] == 1
    writes = [r["method"] for r in sandbox.requests() if r["method"] != "GET"]
    assert writes == ["POST", "PUT"]


async def test_upsert_of_a_seeded_page_with_its_own_body_is_unchanged(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """An existing page whose body already matches is left alone (no write at all)."""
    client = client_for(sandbox, http)
    home = await client.get_page(sandbox.space("APOLLO")["homepage_id"])
    assert home.body is not None
    output = await call(
        confluence_actions(client),
        "upsert_page",
        space_key="APOLLO",
        title=home.title,
        body=home.body,
    )
    assert output["outcome"] == "unchanged"
    assert output["page"]["version"]["number"] == home.version.number
    assert all(r["method"] == "GET" for r in sandbox.requests())


async def test_a_create_retried_after_a_timeout_never_duplicates(
    sandbox: ConfluenceSandboxControl, retries: None
) -> None:
    """A POST whose answer is lost is retried; Confluence's title rule keeps one page."""
    sandbox.fault("slow", delay_s=1.0, method="POST")
    async with httpx.AsyncClient(timeout=0.3, trust_env=False) as impatient:
        actions = confluence_actions(client_for(sandbox, impatient))
        request = {"space_key": "APOLLO", "title": "Launch plan", "body": "<p>Go</p>"}
        first = await call(actions, "upsert_page", **request)
        # Let the abandoned POST finish: the sandbox refuses it as a second page.
        deadline = time.monotonic() + 5
        while len([r for r in sandbox.requests() if r["method"] == "POST"]) < 2:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        again = await call(
            confluence_actions(client_for(sandbox, impatient)), "upsert_page", **request
        )
    assert first["outcome"] == "created"
    assert again["outcome"] == "unchanged"
    posts = sorted(r["status"] for r in sandbox.requests() if r["method"] == "POST")
    assert posts == [200, 400]
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
        listed = await call(
            actions_for(sandbox, http), "list_pages", space_key="APOLLO", title="Launch plan"
        )
    assert listed["count"] == 1


async def test_concurrent_upserts_of_a_new_title_make_one_page(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """Two runs upserting the same new page at once end with one page, not two."""
    actions = actions_for(sandbox, http)
    request = {"space_key": "BOREALIS", "title": "Store listing copy", "body": "<p>v1</p>"}
    outcomes = await asyncio.gather(
        call(actions, "upsert_page", **request), call(actions, "upsert_page", **request)
    )
    assert sorted(o["outcome"] for o in outcomes) == ["created", "unchanged"]
    assert outcomes[0]["page"]["id"] == outcomes[1]["page"]["id"]
    listed = await call(actions, "list_pages", space_key="BOREALIS", title="Store listing copy")
    assert listed["count"] == 1


async def test_create_page_refuses_a_title_someone_else_took(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """create_page on an existing title is invalid_input naming the page, not a second page."""
    with pytest.raises(ActionFailed) as caught:
        await call(
            actions_for(sandbox, http),
            "create_page",
            space_key="APOLLO",
            title="Runbooks",
            body="<p>mine</p>",
        )
    assert caught.value.error.code == "invalid_input"
    assert "already has a page titled 'Runbooks'" in caught.value.error.message


# -- throttling --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rate_limited", "unavailable"])
async def test_retry_after_is_really_waited_for(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient, kind: str
) -> None:
    """Outside testing mode a 429 or 503 is retried only after at least Retry-After seconds."""
    stamina.set_testing(False)
    try:
        sandbox.fault(kind, retry_after=1)
        started = time.monotonic()
        # Its own backoff would wait only 0.01 s: only Retry-After explains a longer wait.
        client = client_for(sandbox, http, attempts=2, wait_initial=0.01, wait_jitter=0)
        space = await client.space_by_key("APOLLO")
        elapsed = time.monotonic() - started
    finally:
        stamina.set_testing(True)
    assert space is not None
    assert elapsed >= 1.0
    assert sandbox.statuses() == [429 if kind == "rate_limited" else 503, 200]


async def test_without_retry_after_the_client_backs_off_exponentially(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """A 429 without Retry-After is retried after stamina's jittered exponential backoff."""
    stamina.set_testing(False)
    try:
        sandbox.fault("rate_limited", times=2, retry_after=None)
        started = time.monotonic()
        client = client_for(
            sandbox, http, attempts=3, wait_initial=0.2, wait_max=1.0, wait_jitter=0.1
        )
        assert await client.space_by_key("APOLLO") is not None
        elapsed = time.monotonic() - started
    finally:
        stamina.set_testing(True)
    # Waits of at least 0.2 s then 0.4 s (plus jitter); no Retry-After was sent.
    assert elapsed >= 0.6
    assert sandbox.statuses() == [429, 429, 200]


async def test_the_wait_hint_is_retry_after_or_backoff(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """stamina is told to wait at least Retry-After when sent, else to use its backoff."""
    client = client_for(sandbox, http)
    hints: list[bool | float] = []
    original = client._upstream._backoff

    def spy(error: Exception) -> bool | float:
        result = original(error)
        if isinstance(error, ConfluenceRateLimited):
            hints.append(result)
        return result

    client._upstream._backoff = spy  # type: ignore[method-assign]
    sandbox.fault("rate_limited", retry_after=3)
    sandbox.fault("rate_limited", retry_after=None)
    assert await client.space_by_key("APOLLO") is not None
    assert len(hints) == 2
    assert isinstance(hints[0], float)
    assert 3.0 <= hints[0] <= 3.6
    assert hints[1] is True


async def test_waits_longer_than_the_limit_go_back_to_the_engine(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """A Retry-After beyond max_wait_s is not slept here: the error carries it, retryable."""
    sandbox.fault("rate_limited", retry_after=90)
    actions = confluence_actions(client_for(sandbox, http, max_wait_s=30))
    with pytest.raises(ActionFailed) as caught:
        await call(actions, "get_page", page_id=sandbox.space("APOLLO")["homepage_id"])
    error = caught.value.error
    assert (error.code, error.retryable, error.retry_after_s) == ("rate_limited", True, 90)
    assert error.upstream_code == "TOO_MANY_REQUESTS"
    assert sandbox.statuses() == [429]


async def test_a_lasting_outage_is_upstream_unavailable_with_the_hint(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """503s that outlast the attempts end as a retryable upstream_unavailable with Retry-After."""
    sandbox.fault("unavailable", times=5, retry_after=4)
    with pytest.raises(ActionFailed) as caught:
        await call(actions_for(sandbox, http), "search", cql="type = page")
    error = caught.value.error
    assert (error.code, error.retryable, error.retry_after_s) == ("upstream_unavailable", True, 4)
    assert sandbox.statuses() == [503, 503, 503]


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["server_error", "bad_gateway"])
async def test_server_errors_are_retried(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient, retries: None, kind: str
) -> None:
    """5xx answers (Atlassian JSON or a proxy's HTML) are transient: retried, then it works."""
    sandbox.fault(kind, times=2)
    assert await client_for(sandbox, http).space_by_key("APOLLO") is not None
    assert sandbox.statuses()[-1] == 200
    assert len(sandbox.statuses()) == 3


@pytest.mark.parametrize(
    ("options", "fault"),
    [
        ({"api_token": "not-the-token-123"}, None),
        ({"email": "someone.else@example.com"}, None),
        ({"email": None}, None),  # a bearer token on the site form: the site takes Basic
        ({}, "unauthorized"),
        ({}, "forbidden"),
    ],
)
async def test_refused_credentials_are_auth_failed_and_not_retried(
    sandbox: ConfluenceSandboxControl,
    http: httpx.AsyncClient,
    retries: None,
    options: dict[str, Any],
    fault: str | None,
) -> None:
    """401 and 403 fail at once as auth_failed; exactly one request; the token is never echoed."""
    if fault:
        sandbox.fault(fault, times=3)
    actions = confluence_actions(client_for(sandbox, http, **options))
    with pytest.raises(ActionFailed) as caught:
        await call(actions, "search", cql="type = page")
    assert caught.value.error.code == "auth_failed"
    assert not caught.value.error.retryable
    assert sandbox.statuses() in ([401], [403])
    assert "not-the-token-123" not in caught.value.error.message
    assert SANDBOX_TOKEN not in caught.value.error.message


async def test_a_wrong_bearer_token_on_the_gateway_is_an_auth_error(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """The gateway's own 401 shape is understood as an auth error."""
    client = ConfluenceClient(url=sandbox.gateway, http=http, api_token="wrong-token-456")
    with pytest.raises(ConfluenceAuthError, match="Unauthorized") as caught:
        await client.space_by_key("APOLLO")
    assert "wrong-token-456" not in str(caught.value)


async def test_an_unknown_page_is_not_found(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """get_page of a page that does not exist is not_found with Atlassian's NOT_FOUND."""
    with pytest.raises(ActionFailed) as caught:
        await call(actions_for(sandbox, http), "get_page", page_id="999")
    assert (caught.value.error.code, caught.value.error.upstream_code) == ("not_found", "NOT_FOUND")


async def test_an_unknown_space_is_not_found(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """A space key or id that does not exist is not_found, by key and by id."""
    actions = actions_for(sandbox, http)
    for request in ({"space_key": "NOPE"}, {"space_id": "42"}):
        with pytest.raises(ActionFailed) as caught:
            await call(actions, "list_pages", **request)
        assert caught.value.error.code == "not_found"


async def test_bad_cql_is_invalid_input_with_atlassians_message(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient, retries: None
) -> None:
    """CQL Confluence cannot parse is invalid_input carrying its message; not retried."""
    with pytest.raises(ActionFailed) as caught:
        await call(actions_for(sandbox, http), "search", cql="type = page AND (")
    assert caught.value.error.code == "invalid_input"
    assert "Could not parse cql" in caught.value.error.message
    assert sandbox.statuses() == [400]


async def test_a_body_over_5_mb_is_invalid_input(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """A 413 (request too large) is invalid_input, with Atlassian's title."""
    client = client_for(sandbox, http)
    with pytest.raises(ConfluenceInvalidInput, match="too large") as caught:
        await client.create_page(
            space_id=sandbox.space("APOLLO")["id"],
            title="Huge",
            body="<p>" + "x" * 5_300_000 + "</p>",
        )
    assert caught.value.status == 413


async def test_a_wrong_cloud_id_is_not_found(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """A gateway base with a cloud id the gateway does not know is a not-found error."""
    client = ConfluenceClient(
        url=f"{sandbox.base}/ex/confluence/00000000-0000-0000-0000-000000000000",
        http=http,
        api_token=SANDBOX_TOKEN,
    )
    with pytest.raises(ConfluenceNotFound):
        await client.get_page("1")


async def test_a_slow_answer_times_out_as_unavailable(sandbox: ConfluenceSandboxControl) -> None:
    """An answer slower than the client's timeout is a transient ConfluenceUnavailable."""
    sandbox.fault("slow", delay_s=1.0)
    async with httpx.AsyncClient(timeout=0.2, trust_env=False) as impatient:
        with pytest.raises(ConfluenceUnavailable, match="in time"):
            await client_for(sandbox, impatient).space_by_key("APOLLO")
    deadline = time.monotonic() + 5
    while not sandbox.requests() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert sandbox.statuses() == [200]


async def test_the_circuit_opens_after_repeated_failures(
    sandbox: ConfluenceSandboxControl, http: httpx.AsyncClient
) -> None:
    """After consecutive failures calls fail at once without reaching Confluence."""
    breaker = CircuitBreaker("Confluence", failure_threshold=3, reset_after_s=60)
    client = client_for(sandbox, http, breaker=breaker, attempts=1)
    sandbox.fault("server_error", times=10)
    for _ in range(3):
        with pytest.raises(ConfluenceUnavailable):
            await client.space_by_key("APOLLO")
    with pytest.raises(ConfluenceUnavailable, match="not calling it"):
        await client.space_by_key("APOLLO")
    assert len(sandbox.requests()) == 3
    assert breaker.problem() is not None


# -- the component -----------------------------------------------------------------------


async def test_the_component_serves_actions_and_reports_ready(
    sandbox: ConfluenceSandboxControl,
) -> None:
    """connector_parts builds the client from settings; readiness calls Confluence once."""
    settings = ConfluenceSettings(url=sandbox.base, email=SANDBOX_EMAIL, api_token=SANDBOX_TOKEN)
    async with connector_parts(settings) as parts:
        assert await parts.readiness["confluence"]() is None
        assert await parts.readiness["confluence"]() is None  # cached: no second call
        output = await parts.actions.invoke(
            "list_pages", ActionRequest(input={"space_key": "APOLLO", "limit": 3})
        )
    assert output["count"] == 3
    assert [r["path"] for r in sandbox.requests()][:1] == ["/wiki/api/v2/spaces"]
    assert len([r for r in sandbox.requests() if r["query"] == "limit=1"]) == 1
