"""An in-memory Confluence port for unit tests of code that uses the port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec

from dataworkflows.connectors.confluence.port import (
    ConfluenceConflict,
    ConfluenceError,
    ConfluenceInvalidInput,
    ConfluenceNotFound,
    Page,
    PageSort,
    PageVersion,
    SearchHit,
    SearchResults,
    Space,
)

__all__ = ["FakeConfluence"]

_OTHER_EDITOR = "712020:fake-someone-else"


class FakeConfluence:
    """:class:`~dataworkflows.connectors.confluence.port.ConfluencePort` over dicts.

    Keeps Confluence's rules that the service relies on: titles are unique in a space,
    an update must name version current + 1 (else :class:`ConfluenceConflict`).
    ``fail_next`` raises the given errors from the next calls, in order;
    ``conflicts_before_update`` makes that many ``update_page`` calls first see someone
    else save the page (the version moves on, so the call conflicts);
    ``search_hits`` is what any query finds; ``calls`` records every operation.
    """

    def __init__(self) -> None:
        self.spaces: dict[str, Space] = {}
        self.pages: dict[str, Page] = {}
        self.search_hits: list[SearchHit] = []
        self.fail_next: list[ConfluenceError] = []
        self.conflicts_before_update = 0
        self.lose_next_create_answer = False
        self.calls: list[str] = []
        self._next_id = 7_000_000

    def add_space(self, key: str, *, space_id: str, name: str | None = None) -> Space:
        """Add a space with a homepage; the space."""
        homepage_id = self._new_id()
        space = Space(
            id=space_id,
            key=key,
            name=name or key.title(),
            type="global",
            status="current",
            homepage_id=homepage_id,
        )
        self.spaces[space_id] = space
        self.pages[homepage_id] = self._page(homepage_id, space_id, f"{space.name} Home", "")
        return space

    def add_page(
        self, space_id: str, title: str, body: str, *, parent_id: str | None = None
    ) -> Page:
        """Add a current page (version 1); the page."""
        page_id = self._new_id()
        page = self._page(page_id, space_id, title, body, parent_id=parent_id)
        self.pages[page_id] = page
        return page

    def edit_behind(self, page_id: str, *, body: str | None = None) -> Page:
        """Someone else saves the page (a new version, optionally a new body)."""
        page = self.pages[page_id]
        edited = msgspec.structs.replace(
            page,
            body=page.body if body is None else body,
            version=PageVersion(
                number=page.version.number + 1,
                message="Edited in the browser",
                created_at=_now(),
                author_id=_OTHER_EDITOR,
            ),
        )
        self.pages[page_id] = edited
        return edited

    def pages_titled(self, space_id: str, title: str) -> list[Page]:
        """Every current page of the space with exactly this title."""
        return [
            p
            for p in self.pages.values()
            if p.space_id == space_id and p.title == title and p.status == "current"
        ]

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        if self.fail_next:
            raise self.fail_next.pop(0)

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    @staticmethod
    def _page(
        page_id: str, space_id: str, title: str, body: str, *, parent_id: str | None = None
    ) -> Page:
        return Page(
            id=page_id,
            title=title,
            status="current",
            space_id=space_id,
            parent_id=parent_id,
            author_id="712020:fake-author",
            created_at=_now(),
            version=PageVersion(number=1, created_at=_now(), author_id="712020:fake-author"),
            body=body,
        )

    # The port -----------------------------------------------------------------------

    async def space_by_key(self, key: str) -> Space | None:
        self._enter("space_by_key")
        return next((s for s in self.spaces.values() if s.key == key), None)

    async def space_by_id(self, space_id: str) -> Space | None:
        self._enter("space_by_id")
        return self.spaces.get(space_id)

    async def space_pages(
        self,
        space_id: str,
        *,
        title: str | None = None,
        sort: PageSort | None = None,
        page_size: int = 100,
        include_body: bool = False,
    ) -> AsyncIterator[list[Page]]:
        self._enter("space_pages")
        pages = [
            p
            for p in self.pages.values()
            if p.space_id == space_id
            and p.status == "current"
            and (title is None or p.title == title)
        ]
        pages.sort(key=lambda p: int(p.id), reverse=sort == "-id")
        if sort in ("title", "-title"):
            pages.sort(key=lambda p: p.title, reverse=sort == "-title")
        size = max(1, min(page_size, 250))
        for start in range(0, max(len(pages), 1), size):
            batch = pages[start : start + size]
            yield [p if include_body else msgspec.structs.replace(p, body=None) for p in batch]

    async def get_page(self, page_id: str, *, include_body: bool = True) -> Page:
        self._enter("get_page")
        page = self.pages.get(page_id)
        if page is None:
            raise ConfluenceNotFound(f"page {page_id} does not exist", code="NOT_FOUND", status=404)
        return page if include_body else msgspec.structs.replace(page, body=None)

    async def create_page(
        self, *, space_id: str, title: str, body: str, parent_id: str | None = None
    ) -> Page:
        self._enter("create_page")
        space = self.spaces.get(space_id)
        if space is None:
            raise ConfluenceNotFound(f"space {space_id} does not exist", status=404)
        if self.pages_titled(space_id, title):
            raise ConfluenceInvalidInput(
                "A page with this title already exists: A page already exists with the title "
                f"{title} in the space with key {space.key}",
                code="BAD_REQUEST",
                status=400,
            )
        page = self.add_page(space_id, title, body, parent_id=parent_id or space.homepage_id)
        if self.lose_next_create_answer:
            # The page exists now, but the caller never hears so.
            self.lose_next_create_answer = False
            raise ConfluenceError("the connection broke before the answer arrived")
        return page

    async def update_page(
        self, page_id: str, *, title: str, body: str, version: int, message: str = ""
    ) -> Page:
        self._enter("update_page")
        page = self.pages.get(page_id)
        if page is None:
            raise ConfluenceNotFound(f"page {page_id} does not exist", status=404)
        if self.conflicts_before_update > 0:
            self.conflicts_before_update -= 1
            page = self.edit_behind(page_id)
        if version != page.version.number + 1:
            raise ConfluenceConflict(
                "Version must be incremented when updating a page. Current Version: "
                f"[{page.version.number}]. Provided version: [{version}]",
                current_version=page.version.number,
            )
        if title != page.title and self.pages_titled(page.space_id, title):
            raise ConfluenceInvalidInput(f"A page with this title already exists: {title}")
        updated = msgspec.structs.replace(
            page,
            title=title,
            body=body,
            version=PageVersion(
                number=version, message=message, created_at=_now(), author_id="712020:fake-author"
            ),
        )
        self.pages[page_id] = updated
        return updated

    async def search(self, cql: str, *, page_size: int = 25) -> AsyncIterator[SearchResults]:
        self._enter("search")
        hits = self.search_hits
        size = max(1, page_size)
        for start in range(0, max(len(hits), 1), size):
            yield SearchResults(hits=hits[start : start + size], total_size=len(hits))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
