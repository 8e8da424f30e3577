"""The Confluence connector's actions over a fake port: paging, writes, idempotency, errors."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from dataworkflows.connectors.confluence.fake import FakeConfluence
from dataworkflows.connectors.confluence.port import (
    ConfluenceAuthError,
    ConfluenceConflict,
    ConfluenceError,
    ConfluenceInvalidInput,
    ConfluenceNotFound,
    ConfluenceRateLimited,
    ConfluenceUnavailable,
    SearchHit,
)
from dataworkflows.connectors.confluence.service import (
    confluence_actions,
    content_marker,
    normalise_storage,
    same_content,
)
from dataworkflows.contracts import ActionFailed, ActionRequest
from dataworkflows.runtime.actions import ActionSet

SPACE_ID = "500"


@pytest.fixture
def fake() -> FakeConfluence:
    confluence = FakeConfluence()
    confluence.add_space("OPS", space_id=SPACE_ID, name="Operations")
    for n in range(1, 301):
        confluence.add_page(SPACE_ID, f"Note {n:03d}", f"<p>Note {n}</p>")
    return confluence


@pytest.fixture
def actions(fake: FakeConfluence) -> ActionSet:
    return confluence_actions(fake)


async def call(actions: ActionSet, name: str, key: str | None = None, **data: Any) -> Any:
    return await actions.invoke(name, ActionRequest(input=data, idempotency_key=key))


def writes(fake: FakeConfluence) -> list[str]:
    return [c for c in fake.calls if c in ("create_page", "update_page")]


# -- reading -----------------------------------------------------------------------------


async def test_list_pages_follows_every_page_by_key_or_id(actions: ActionSet) -> None:
    """All of a space's pages come back across pages of results, by space key or id."""
    by_key = await call(actions, "list_pages", space_key="OPS", page_size=50)
    by_id = await call(actions, "list_pages", space_id=SPACE_ID)
    assert by_key["count"] == by_id["count"] == 301  # the notes and the homepage
    assert by_key["space"]["key"] == "OPS"
    assert by_key["pages"] == by_id["pages"]
    assert all(p["body"] is None for p in by_key["pages"])


async def test_list_pages_limit_title_and_bodies(actions: ActionSet, fake: FakeConfluence) -> None:
    """limit stops early; title keeps the one page; include_body returns bodies."""
    limited = await call(actions, "list_pages", space_key="OPS", limit=7, page_size=5)
    assert limited["count"] == 7
    assert fake.calls.count("space_pages") == 1
    titled = await call(actions, "list_pages", space_key="OPS", title="Note 042", include_body=True)
    assert [p["body"] for p in titled["pages"]] == ["<p>Note 42</p>"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"space_key": "OPS", "space_id": SPACE_ID},
        {"space_key": "OPS", "colour": "blue"},
        {"space_id": "OPS"},
        {"space_key": "has space"},
        {"space_key": "OPS", "page_size": 251},
    ],
)
async def test_list_pages_input_is_checked(actions: ActionSet, data: dict[str, Any]) -> None:
    """Exactly one of space_key and space_id, no unknown fields, ids as digits, sane sizes."""
    with pytest.raises(ActionFailed) as caught:
        await call(actions, "list_pages", **data)
    assert caught.value.error.code == "invalid_input"


async def test_an_unknown_space_is_not_found(actions: ActionSet) -> None:
    """A key no space has is not_found, naming the key."""
    with pytest.raises(ActionFailed, match="NOPE") as caught:
        await call(actions, "list_pages", space_key="NOPE")
    assert caught.value.error.code == "not_found"


async def test_search_stops_at_limit_and_reports_the_total(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """search returns at most `limit` results across pages, and Confluence's total."""
    fake.search_hits = [
        SearchHit(id=str(n), type="page", title=f"Hit {n}", excerpt="") for n in range(130)
    ]
    output = await call(actions, "search", cql="type = page", limit=120)
    assert output["count"] == 120
    assert output["total_size"] == 130
    assert [r["id"] for r in output["results"]] == [str(n) for n in range(120)]
    everything = await call(actions, "search", cql="type = page", limit=1000)
    assert everything["count"] == 130


# -- writing -----------------------------------------------------------------------------


async def test_create_then_update_then_unchanged(actions: ActionSet, fake: FakeConfluence) -> None:
    """update_page increments the version itself and skips a write that changes nothing."""
    created = await call(
        actions, "create_page", space_key="OPS", title="Runbook", body="<p>one</p>"
    )
    page_id = created["page"]["id"]
    assert created["outcome"] == "created"
    updated = await call(actions, "update_page", page_id=page_id, body="<p>two</p>")
    assert updated["outcome"] == "updated"
    assert updated["page"]["version"]["number"] == 2
    assert updated["page"]["title"] == "Runbook"
    again = await call(actions, "update_page", page_id=page_id, body="<p>two</p>")
    assert again["outcome"] == "unchanged"
    assert writes(fake) == ["create_page", "update_page"]
    renamed = await call(
        actions, "update_page", page_id=page_id, body="<p>two</p>", title="Runbook: deploys"
    )
    assert renamed["outcome"] == "updated"
    assert renamed["page"]["title"] == "Runbook: deploys"


async def test_the_version_message_carries_the_content_hash(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """Writes say what they wrote: the caller's message (or ours) and a [dw:...] hash."""
    created = await call(actions, "create_page", space_key="OPS", title="T", body="<p>a</p>")
    page_id = created["page"]["id"]
    await call(actions, "update_page", page_id=page_id, body="<p>b</p>", version_message="Weekly")
    assert fake.pages[page_id].version.message == f"Weekly {content_marker('T', '<p>b</p>')}"
    await call(actions, "update_page", page_id=page_id, body="<p>c</p>")
    assert fake.pages[page_id].version.message.startswith("Updated by Data Workflows [dw:")


async def test_a_body_confluence_reformatted_is_still_unchanged(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """When Confluence rewrites the XHTML it stored, the hash in the version says it is ours."""
    page = fake.add_page(SPACE_ID, "Report", "<p>old</p>")
    await call(actions, "upsert_page", space_key="OPS", title="Report", body="<p>new<br></p>")
    # Confluence stores its own serialisation (beyond what normalising undoes), keeping
    # our version message.
    fake.pages[page.id] = msgspec.structs.replace(
        fake.pages[page.id], body='<p ac:local-id="x">new</p><p/>'
    )
    output = await call(
        actions, "upsert_page", space_key="OPS", title="Report", body="<p>new<br></p>"
    )
    assert output["outcome"] == "unchanged"
    assert writes(fake) == ["update_page"]


async def test_a_conflict_is_answered_by_rereading_and_one_retry(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """Someone saves between our read and our write: we re-read and write the next version."""
    page = fake.add_page(SPACE_ID, "Shared", "<p>v1</p>")
    fake.conflicts_before_update = 1
    output = await call(actions, "update_page", page_id=page.id, body="<p>ours</p>")
    assert output["outcome"] == "updated"
    assert output["page"]["version"]["number"] == 3  # theirs was 2
    assert fake.pages[page.id].body == "<p>ours</p>"
    assert fake.calls.count("update_page") == 2
    assert fake.calls.count("get_page") == 2


async def test_a_conflict_after_our_own_lost_write_is_done(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """If the re-read page already has what we meant to write, nothing is written again."""
    page = fake.add_page(SPACE_ID, "Shared", "<p>v1</p>")
    original = fake.update_page

    async def lost_answer(page_id: str, **kwargs: Any) -> Any:
        await original(page_id, **kwargs)  # applied upstream...
        raise ConfluenceConflict("Version must be incremented", current_version=2)  # ...answer lost

    fake.update_page = lost_answer  # type: ignore[method-assign]
    output = await call(actions, "update_page", page_id=page.id, body="<p>ours</p>")
    assert output["outcome"] == "updated"
    assert output["page"]["version"]["number"] == 2
    assert fake.calls.count("update_page") == 1


async def test_two_conflicts_are_a_retryable_conflict_error(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """A page saved again during our retry is not fought over: upstream_error, retryable, CONFLICT."""
    page = fake.add_page(SPACE_ID, "Busy", "<p>v1</p>")
    fake.conflicts_before_update = 2
    with pytest.raises(ActionFailed) as caught:
        await call(actions, "update_page", page_id=page.id, body="<p>ours</p>")
    error = caught.value.error
    assert (error.code, error.retryable, error.upstream_code) == (
        "upstream_error",
        True,
        "CONFLICT",
    )
    assert fake.calls.count("update_page") == 2


async def test_upsert_creates_leaves_and_updates(actions: ActionSet, fake: FakeConfluence) -> None:
    """upsert_page: created, then unchanged for the same body, then updated; one page throughout."""
    request = {"space_key": "OPS", "title": "Status", "body": "<p>green</p>"}
    outcomes = [
        (await call(actions, "upsert_page", **request))["outcome"],
        (await call(actions, "upsert_page", **request))["outcome"],
        (await call(actions, "upsert_page", **{**request, "body": "<p>red</p>"}))["outcome"],
    ]
    assert outcomes == ["created", "unchanged", "updated"]
    assert len(fake.pages_titled(SPACE_ID, "Status")) == 1
    assert writes(fake) == ["create_page", "update_page"]


async def test_upsert_after_a_lost_create_answer_never_duplicates(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """The create happened but its answer was lost: the retried step finds the page."""
    fake.lose_next_create_answer = True
    request = {"space_key": "OPS", "title": "Lost", "body": "<p>x</p>"}
    with pytest.raises(ActionFailed):
        await call(actions, "upsert_page", "run-1:step:0", **request)
    retried = await call(actions, "upsert_page", "run-1:step:0", **request)
    assert retried["outcome"] == "unchanged"
    assert len(fake.pages_titled(SPACE_ID, "Lost")) == 1


async def test_upsert_whose_create_loses_a_race_updates_instead(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """Another run created the title between our lookup and our create: we update that page."""
    original = fake.create_page

    async def raced(**kwargs: Any) -> Any:
        fake.add_page(SPACE_ID, kwargs["title"], "<p>theirs</p>")
        return await original(**kwargs)

    fake.create_page = raced  # type: ignore[method-assign]
    output = await call(actions, "upsert_page", space_key="OPS", title="Race", body="<p>ours</p>")
    assert output["outcome"] == "updated"
    assert [p.body for p in fake.pages_titled(SPACE_ID, "Race")] == ["<p>ours</p>"]


async def test_create_page_of_a_taken_title_is_invalid_input(actions: ActionSet) -> None:
    """create_page never makes a second page with a title: invalid_input naming the page."""
    with pytest.raises(ActionFailed, match="already has a page titled 'Note 001'") as caught:
        await call(actions, "create_page", space_key="OPS", title="Note 001", body="<p>x</p>")
    assert caught.value.error.code == "invalid_input"
    assert caught.value.error.upstream_code == "TITLE_EXISTS"


async def test_create_page_retried_after_a_lost_answer_returns_the_page(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """Our own earlier create (version 1, same content) is recognised, without the key cache."""
    fake.lose_next_create_answer = True
    request = {"space_key": "OPS", "title": "Once", "body": "<p>x</p>"}
    with pytest.raises(ActionFailed):
        await call(actions, "create_page", **request)
    output = await call(actions, "create_page", **request)
    assert output["outcome"] == "created"
    assert len(fake.pages_titled(SPACE_ID, "Once")) == 1


async def test_a_repeated_idempotency_key_replays_the_first_output(
    actions: ActionSet, fake: FakeConfluence
) -> None:
    """The same key and input give the first attempt's output with no call to Confluence."""
    request = {"space_key": "OPS", "title": "Keyed", "body": "<p>x</p>"}
    first = await call(actions, "upsert_page", "run-9:publish:0", **request)
    calls = len(fake.calls)
    again = await call(actions, "upsert_page", "run-9:publish:0", **request)
    assert again == first
    assert again["outcome"] == "created"
    assert len(fake.calls) == calls
    other_input = await call(
        actions, "upsert_page", "run-9:publish:0", **{**request, "body": "<p>y</p>"}
    )
    assert other_input["outcome"] == "updated"


# -- content comparison ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "stored"),
    [
        ("<p>a</p><p>b</p>", "<p>a</p>\n  <p>b</p>"),
        ("<p>a<br></p>", "<p>a<br /></p>"),
        ("<p>a&nbsp;b</p>", "<p>a\u00a0b</p>"),
        (
            '<ac:structured-macro ac:name="info"/>',
            '<ac:structured-macro ac:name="info" ac:macro-id="9f" />',
        ),
        ("<p>x</p>", '<p local-id="e1">x</p>'),
    ],
)
def test_what_confluence_rewrites_does_not_count_as_a_change(ours: str, stored: str) -> None:
    """Whitespace between tags, self-closing tags, entities and generated ids are ignored."""
    assert normalise_storage(ours) == normalise_storage(stored)


@pytest.mark.parametrize(
    ("ours", "stored"),
    [("<p>a</p>", "<p>b</p>"), ("<p>a b</p>", "<p>ab</p>"), ("<p>a</p>", "<h1>a</h1>")],
)
def test_real_changes_count(ours: str, stored: str) -> None:
    """Different words or elements are a change."""
    assert normalise_storage(ours) != normalise_storage(stored)


def test_same_content_needs_the_same_title() -> None:
    """A page with the body but another title is not the same content."""
    from dataworkflows.connectors.confluence.port import Page, PageVersion

    page = Page(
        id="1",
        title="A",
        status="current",
        space_id="1",
        version=PageVersion(number=1),
        body="<p/>",
    )
    assert same_content(page, "A", "<p/>")
    assert not same_content(page, "B", "<p/>")


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "retryable", "retry_after", "upstream"),
    [
        (
            ConfluenceAuthError("bad token", code="UNAUTHORIZED"),
            "auth_failed",
            False,
            None,
            "UNAUTHORIZED",
        ),
        (ConfluenceNotFound("gone", code="NOT_FOUND"), "not_found", False, None, "NOT_FOUND"),
        (ConfluenceInvalidInput("bad cql"), "invalid_input", False, None, None),
        (ConfluenceConflict("stale"), "upstream_error", True, None, "CONFLICT"),
        (ConfluenceRateLimited("slow down", retry_after=7), "rate_limited", True, 7.0, None),
        (ConfluenceRateLimited("slow down", retry_after=None), "rate_limited", True, None, None),
        (ConfluenceUnavailable("down", retry_after=3), "upstream_unavailable", True, 3.0, None),
        (ConfluenceError("odd", code="WEIRD"), "upstream_error", False, None, "WEIRD"),
    ],
)
async def test_confluence_errors_become_typed_action_errors(
    actions: ActionSet,
    fake: FakeConfluence,
    error: ConfluenceError,
    code: str,
    retryable: bool,
    retry_after: float | None,
    upstream: str | None,
) -> None:
    """Each Confluence failure maps to the connector API's code, retryability, hint and code."""
    fake.fail_next = [error]
    with pytest.raises(ActionFailed) as caught:
        await call(actions, "get_page", page_id="7000001")
    assert caught.value.error.code == code
    assert caught.value.error.retryable is retryable
    assert caught.value.error.retry_after_s == retry_after
    assert caught.value.error.upstream_code == upstream


async def test_the_catalog_names_the_six_actions(actions: ActionSet) -> None:
    """The catalog lists the actions with their effect and input schemas."""
    catalog = actions.catalog()
    effects = {a.name: a.effect for a in catalog.actions}
    assert effects == {
        "confluence.search": "read",
        "confluence.list_pages": "read",
        "confluence.get_page": "read",
        "confluence.create_page": "write",
        "confluence.update_page": "write",
        "confluence.upsert_page": "write",
    }
    upsert = next(a for a in catalog.actions if a.name == "confluence.upsert_page")
    assert set(upsert.input_schema["$defs"]["UpsertPageInput"]["required"]) == {"title", "body"}
