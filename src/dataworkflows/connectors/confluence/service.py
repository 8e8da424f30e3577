"""The Confluence connector's actions, over the Confluence port.

``confluence.search``, ``confluence.list_pages``, ``confluence.get_page``,
``confluence.create_page``, ``confluence.update_page`` and ``confluence.upsert_page``;
Confluence's errors become the connector API's typed errors here (with Atlassian's
own code, e.g. ``CONFLICT``, as ``upstream_code``). Served in-process by the engine
(``dev``) or as ``dataworkflows serve connector confluence``.

Writing safely
--------------
- An update reads the page, skips the write when nothing would change, and PUTs
  version current + 1. A 409 (someone saved meanwhile) is answered by re-reading the
  page and retrying once; if the re-read page already holds what we meant to write
  (our own earlier attempt whose answer was lost), that counts as done. The retry
  writes over the other edit: these actions own the pages they write.
- "Would anything change" compares titles exactly and bodies after normalising what
  Confluence rewrites when it stores XHTML (whitespace between tags, self-closing
  tags, entities, ``ac:macro-id``/``local-id`` attributes). Because Confluence may
  re-serialise more than that, every write also puts a short hash of the title and
  body it sent in the version message (``[dw:1a2b3c4d5e6f]``): a page whose current
  version carries the hash of the wanted content is unchanged, whatever Confluence
  did to the XHTML. So a re-run converges after at most one extra version.
- Titles are unique within a space, so ``upsert_page`` finds its page by title and a
  create can never duplicate a page: a create refused because the title exists is
  resolved by finding that page (and, for ``upsert_page``, updating it).
- Write steps carry an idempotency key; the output of a write is remembered per key
  (and input) for a day, so a step retried after a lost answer gets the first
  attempt's output instead of a second write. Keys do not survive a restart of the
  connector process; the title rule above still prevents duplicates then.
"""

from __future__ import annotations

import hashlib
import html
import re
from typing import Annotated, Final, Literal

import msgspec

from dataworkflows.connectors.confluence.port import (
    ConfluenceConflict,
    ConfluenceInvalidInput,
    ConfluencePort,
    Page,
    PageSort,
    SearchHit,
    Space,
)
from dataworkflows.connectors.toolkit import RecentResults
from dataworkflows.contracts import ActionFailed
from dataworkflows.runtime.actions import ActionCall, ActionSet

__all__ = [
    "PageWriteOutput",
    "confluence_actions",
    "content_marker",
    "create",
    "find_page_by_title",
    "normalise_storage",
    "resolve_space",
    "same_content",
    "update",
    "upsert",
    "write_page",
]

Outcome = Literal["created", "updated", "unchanged"]

PageId = Annotated[str, msgspec.Meta(pattern=r"^\d+$", description="A page id (digits)")]
SpaceId = Annotated[str, msgspec.Meta(pattern=r"^\d+$", description="A space id (digits)")]
SpaceKey = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^~?[A-Za-z0-9]{1,255}$",
        description="A space key (APOLLO; personal spaces start with ~)",
    ),
]
Title = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=255, description="A page title (unique in its space)"),
]
StorageBody = Annotated[
    str,
    msgspec.Meta(description="The page body in Confluence storage format (XHTML), e.g. <p>Hi</p>"),
]
VersionMessage = Annotated[
    str, msgspec.Meta(max_length=255, description="Shown in the page history for this version")
]

_DEFAULT_MESSAGE: Final = "Updated by Data Workflows"


def _one_space(space_key: str | None, space_id: str | None) -> None:
    if (space_key is None) == (space_id is None):
        raise ValueError("give exactly one of space_key and space_id")


class SearchInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A CQL query and how many results to return."""

    cql: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
    """CQL, e.g. ``type = page AND space = APOLLO AND lastModified >= now("-7d")``."""
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 25
    """Stop after this many results (pages of results are followed up to it)."""


class SearchOutput(msgspec.Struct, kw_only=True):
    """The results of a CQL query."""

    cql: str
    count: int
    """How many results are in ``results``."""
    total_size: int | None
    """How many results the query has in all (may exceed ``count``), if Confluence said."""
    results: list[SearchHit]


class ListPagesInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Whose pages to list (exactly one of ``space_key`` and ``space_id``), and how."""

    space_key: SpaceKey | None = None
    space_id: SpaceId | None = None
    title: Title | None = None
    """Only the page with exactly this title."""
    sort: PageSort | None = None
    """``id``, ``created-date``, ``modified-date`` or ``title``; ``-`` first for descending."""
    limit: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Stop after this many pages (default: all)."""
    page_size: Annotated[int, msgspec.Meta(ge=1, le=250)] = 100
    """Pages per request to Confluence (its maximum is 250)."""
    include_body: bool = False
    """Also return each page's storage-format body."""

    def __post_init__(self) -> None:
        _one_space(self.space_key, self.space_id)


class PageList(msgspec.Struct, kw_only=True):
    """A space and its current pages."""

    space: Space
    count: int
    pages: list[Page]


class GetPageInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which page."""

    page_id: PageId


class PageOutput(msgspec.Struct, kw_only=True):
    """One page, with its storage-format body."""

    page: Page


class CreatePageInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new page: where (exactly one of ``space_key`` and ``space_id``), title, body."""

    space_key: SpaceKey | None = None
    space_id: SpaceId | None = None
    title: Title
    body: StorageBody
    parent_id: PageId | None = None
    """The parent page (default: the space's homepage)."""

    def __post_init__(self) -> None:
        _one_space(self.space_key, self.space_id)


class UpdatePageInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A page's new body (and title); the version is incremented here."""

    page_id: PageId
    body: StorageBody
    title: Title | None = None
    """The new title (default: keep the current one)."""
    version_message: VersionMessage | None = None


class UpsertPageInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The page titled ``title`` in the space should have ``body``: create or update it."""

    space_key: SpaceKey | None = None
    space_id: SpaceId | None = None
    title: Title
    body: StorageBody
    parent_id: PageId | None = None
    """Where to create the page when it does not exist (default: under the homepage);
    an existing page is not moved."""
    version_message: VersionMessage | None = None

    def __post_init__(self) -> None:
        _one_space(self.space_key, self.space_id)


class PageWriteOutput(msgspec.Struct, kw_only=True):
    """What a write did, and the page as it now is."""

    outcome: Outcome
    """``created``, ``updated`` or ``unchanged`` (the page already had this content)."""
    page: Page


# -- content comparison --------------------------------------------------------------

_VOLATILE_ATTRIBUTES: Final = re.compile(
    r"\s(?:ac:macro-id|ac:local-id|local-id|ac:schema-version|data-[\w-]+)\s*=\s*"
    r"(?:\"[^\"]*\"|'[^']*')"
)
_SELF_CLOSING: Final = re.compile(r"\s*/>")
_VOID_BR_HR: Final = re.compile(r"<(br|hr)\s*>", re.IGNORECASE)
_BETWEEN_TAGS: Final = re.compile(r">\s+<")
_WHITESPACE: Final = re.compile(r"\s+")


def normalise_storage(body: str) -> str:
    """Storage XHTML with what Confluence rewrites on save made uniform, for comparing."""
    text = _VOLATILE_ATTRIBUTES.sub("", body)
    text = _VOID_BR_HR.sub(r"<\1/>", text)
    text = _SELF_CLOSING.sub("/>", text)
    text = html.unescape(text)
    text = _BETWEEN_TAGS.sub("><", text)
    return _WHITESPACE.sub(" ", text).strip()


def content_marker(title: str, body: str) -> str:
    """The short hash of a title and body that a write puts in its version message."""
    digest = hashlib.sha256(f"{title}\0{body}".encode()).hexdigest()
    return f"[dw:{digest[:12]}]"


def same_content(page: Page, title: str, body: str) -> bool:
    """Whether ``page`` already has ``title`` and ``body`` (see the module docstring)."""
    if page.title != title:
        return False
    if content_marker(title, body) in page.version.message:
        return True
    return page.body is not None and normalise_storage(page.body) == normalise_storage(body)


def _message(message: str | None, title: str, body: str) -> str:
    return f"{message or _DEFAULT_MESSAGE} {content_marker(title, body)}"


# -- operations over the port --------------------------------------------------------


async def resolve_space(
    port: ConfluencePort, *, space_key: str | None, space_id: str | None
) -> Space:
    """The space named by key or id; ``not_found`` when there is none."""
    space = (
        await port.space_by_key(space_key)
        if space_key is not None
        else await port.space_by_id(str(space_id))
    )
    if space is None:
        named = f"key {space_key}" if space_key is not None else f"id {space_id}"
        raise ActionFailed.of(
            "not_found", f"Confluence has no space with {named} (or this account cannot see it)"
        )
    return space


async def find_page_by_title(port: ConfluencePort, space_id: str, title: str) -> Page | None:
    """The current page titled exactly ``title`` in the space, with its body, or None."""
    async for batch in port.space_pages(space_id, title=title, include_body=True, page_size=25):
        for page in batch:
            if page.title == title:
                return page
    return None


async def write_page(
    port: ConfluencePort, current: Page, *, title: str, body: str, message: str | None
) -> tuple[Outcome, Page]:
    """Give ``current`` this title and body as its next version, unless it has them.

    A 409 is answered by re-reading the page and retrying once (see the module
    docstring); a second 409 raises :class:`ConfluenceConflict`.
    """
    if same_content(current, title, body):
        return "unchanged", current
    note = _message(message, title, body)
    try:
        page = await port.update_page(
            current.id, title=title, body=body, version=current.version.number + 1, message=note
        )
    except ConfluenceConflict:
        fresh = await port.get_page(current.id)
        if same_content(fresh, title, body):
            return "updated", fresh
        page = await port.update_page(
            current.id, title=title, body=body, version=fresh.version.number + 1, message=note
        )
    return "updated", page


async def _create(
    port: ConfluencePort, space: Space, *, title: str, body: str, parent_id: str | None
) -> tuple[Page | None, Page | None]:
    """(the created page, None), or (None, the page that already has this title)."""
    try:
        page = await port.create_page(
            space_id=space.id, title=title, body=body, parent_id=parent_id
        )
    except ConfluenceInvalidInput:
        existing = await find_page_by_title(port, space.id, title)
        if existing is None:
            raise
        return None, existing
    return page, None


async def create(port: ConfluencePort, data: CreatePageInput) -> PageWriteOutput:
    """``create_page``: a new page, or this step's own earlier create of it."""
    space = await resolve_space(port, space_key=data.space_key, space_id=data.space_id)
    page, existing = await _create(
        port, space, title=data.title, body=data.body, parent_id=data.parent_id
    )
    if page is None:
        assert existing is not None
        # A version-1 page with exactly this content is our own create whose answer
        # was lost (the engine retried the step); anything else is someone's page.
        if not (existing.version.number == 1 and same_content(existing, data.title, data.body)):
            raise ActionFailed.of(
                "invalid_input",
                f"space {space.key} already has a page titled {data.title!r} "
                f"(id {existing.id}); use update_page or upsert_page",
                upstream_code="TITLE_EXISTS",
            )
        page = existing
    return PageWriteOutput(outcome="created", page=page)


async def update(port: ConfluencePort, data: UpdatePageInput) -> PageWriteOutput:
    """``update_page``: the page's next version, unless it already has this content."""
    current = await port.get_page(data.page_id)
    outcome, page = await write_page(
        port,
        current,
        title=data.title or current.title,
        body=data.body,
        message=data.version_message,
    )
    return PageWriteOutput(outcome=outcome, page=page)


async def upsert(port: ConfluencePort, data: UpsertPageInput) -> PageWriteOutput:
    """``upsert_page``: find the page by title in the space; create, update or leave it."""
    space = await resolve_space(port, space_key=data.space_key, space_id=data.space_id)
    existing = await find_page_by_title(port, space.id, data.title)
    if existing is None:
        page, existing = await _create(
            port, space, title=data.title, body=data.body, parent_id=data.parent_id
        )
        if page is not None:
            return PageWriteOutput(outcome="created", page=page)
        assert existing is not None
    outcome, page = await write_page(
        port, existing, title=data.title, body=data.body, message=data.version_message
    )
    return PageWriteOutput(outcome=outcome, page=page)


def _fingerprint(action: str, data: msgspec.Struct) -> bytes:
    # A result is reused only for the same action with the same input.
    return action.encode() + b"\0" + msgspec.json.encode(data)


def confluence_actions(port: ConfluencePort) -> ActionSet:
    """The ``confluence`` connector's actions over ``port``."""
    confluence = ActionSet("confluence", description="Spaces, pages and CQL search of Confluence.")
    # Confluence has no idempotency keys: a retried write returns what it wrote.
    written: RecentResults[PageWriteOutput] = RecentResults()

    @confluence.action(
        "search",
        effect="read",
        description="Runs a CQL query (v1 search), e.g. `type = page AND space = APOLLO AND "
        'lastModified >= now("-7d") ORDER BY lastmodified DESC`; follows pages of results '
        "up to `limit`.",
    )
    async def search(data: SearchInput, call: ActionCall) -> SearchOutput:
        hits: list[SearchHit] = []
        total: int | None = None
        async for batch in port.search(data.cql, page_size=min(data.limit, 100)):
            total = batch.total_size if batch.total_size is not None else total
            hits.extend(batch.hits)
            if len(hits) >= data.limit:
                hits = hits[: data.limit]
                break
        return SearchOutput(cql=data.cql, count=len(hits), total_size=total, results=hits)

    @confluence.action(
        "list_pages",
        effect="read",
        description="A space's current pages (by space key or id), optionally only the one "
        "with a title, sorted, with bodies; follows Confluence's paging.",
    )
    async def list_pages(data: ListPagesInput, call: ActionCall) -> PageList:
        pages: list[Page] = []
        space = await resolve_space(port, space_key=data.space_key, space_id=data.space_id)
        async for batch in port.space_pages(
            space.id,
            title=data.title,
            sort=data.sort,
            page_size=data.page_size,
            include_body=data.include_body,
        ):
            pages.extend(batch)
            if data.limit is not None and len(pages) >= data.limit:
                pages = pages[: data.limit]
                break
        return PageList(space=space, count=len(pages), pages=pages)

    @confluence.action(
        "get_page", effect="read", description="One page by id, with its storage-format body."
    )
    async def get_page(data: GetPageInput, call: ActionCall) -> PageOutput:
        return PageOutput(page=await port.get_page(data.page_id))

    @confluence.action(
        "create_page",
        effect="write",
        description="Creates a page (storage-format body) in a space, under `parent_id` or the "
        "space's homepage. Titles are unique in a space: a title that exists is refused "
        "(invalid_input), unless that page is this step's own earlier create.",
    )
    async def create_page(data: CreatePageInput, call: ActionCall) -> PageWriteOutput:
        return await written.once(
            call.idempotency_key, lambda: create(port, data), _fingerprint("create_page", data)
        )

    @confluence.action(
        "update_page",
        effect="write",
        description="Replaces a page's body (and title) as its next version; the version "
        "number is incremented here, a 409 is answered by re-reading and retrying once, and "
        "nothing is written when the page already has this content (outcome unchanged). The "
        "version message ends with a content hash ([dw:...]) that makes re-runs idempotent.",
    )
    async def update_page(data: UpdatePageInput, call: ActionCall) -> PageWriteOutput:
        return await written.once(
            call.idempotency_key, lambda: update(port, data), _fingerprint("update_page", data)
        )

    @confluence.action(
        "upsert_page",
        effect="write",
        description="Makes the page titled `title` in a space have `body`: creates it when "
        "absent, updates it when its body differs, else leaves it (outcome created, updated "
        "or unchanged). A re-run never creates a second page.",
    )
    async def upsert_page(data: UpsertPageInput, call: ActionCall) -> PageWriteOutput:
        return await written.once(
            call.idempotency_key, lambda: upsert(port, data), _fingerprint("upsert_page", data)
        )

    return confluence
