"""The Confluence port: what the connector needs from Confluence Cloud, in its own types.

The REST client (:mod:`.client`) and the in-memory fake (:mod:`.fake`) implement
:class:`ConfluencePort`; the connector's actions (:mod:`.service`) see only this module.
Errors are this module's own hierarchy, so nothing above sees httpx or Atlassian's
JSON. Bodies are Confluence *storage format* (XHTML with ``ac:``/``ri:`` elements).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

import msgspec

from dataworkflows.contracts import upstream

__all__ = [
    "ConfluenceAuthError",
    "ConfluenceConflict",
    "ConfluenceError",
    "ConfluenceInvalidInput",
    "ConfluenceNotFound",
    "ConfluencePort",
    "ConfluenceRateLimited",
    "ConfluenceUnavailable",
    "Page",
    "PageSort",
    "PageVersion",
    "SearchHit",
    "SearchResults",
    "Space",
]

PageSort = Literal[
    "id",
    "-id",
    "created-date",
    "-created-date",
    "modified-date",
    "-modified-date",
    "title",
    "-title",
]
"""The orders ``GET /wiki/api/v2/pages`` knows (``-`` is descending)."""


class Space(msgspec.Struct, frozen=True, kw_only=True):
    """A space (one per project in the demo site)."""

    id: str
    key: str
    """The short key people and CQL use (``APOLLO``)."""
    name: str
    type: str
    """``global``, ``personal``, ..."""
    status: str
    """``current`` or ``archived``."""
    homepage_id: str | None = None
    url: str | None = None
    """The space in the browser (absolute), when Confluence said where."""


class PageVersion(msgspec.Struct, frozen=True, kw_only=True):
    """The version a page is at: every update increments ``number``."""

    number: int
    message: str = ""
    created_at: str | None = None
    """ISO-8601 instant of this version."""
    author_id: str | None = None
    """Atlassian account id of whoever made this version."""
    minor_edit: bool = False


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """A page, with its body in storage format when it was asked for."""

    id: str
    title: str
    status: str
    """``current``, ``archived``, ``draft``, ``trashed`` ..."""
    space_id: str
    parent_id: str | None = None
    author_id: str | None = None
    """Atlassian account id of the page's creator."""
    created_at: str | None = None
    version: PageVersion
    body: str | None = None
    """Storage-format XHTML; None when the body was not requested."""
    url: str | None = None
    """The page in the browser (absolute), when Confluence said where."""


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    """One CQL search result."""

    id: str | None
    """The content id (None for results that are not content, e.g. a space)."""
    type: str
    """``page``, ``blogpost``, ``space`` ..."""
    title: str
    excerpt: str
    """Plain text around the match (Confluence's highlight markers removed)."""
    url: str | None = None
    """The result in the browser (absolute), when Confluence said where."""
    space_key: str | None = None
    space_name: str | None = None
    last_modified: str | None = None


class SearchResults(msgspec.Struct, frozen=True, kw_only=True):
    """One page of CQL search results."""

    hits: list[SearchHit]
    total_size: int | None = None
    """How many results the query has in all, if Confluence said."""


class ConfluenceError(upstream.UpstreamError):
    """Confluence refused or failed a request.

    ``code`` is Atlassian's error code when it sent one (``CONFLICT``,
    ``INVALID_REQUEST_PARAMETER``); ``status`` the HTTP status.
    """


class ConfluenceAuthError(ConfluenceError, upstream.AuthFailed):
    """The credentials are missing, wrong, or not allowed to do this (401, 403)."""


class ConfluenceNotFound(ConfluenceError, upstream.NotFound):
    """The page or space does not exist, or the account cannot see it (404)."""


class ConfluenceInvalidInput(ConfluenceError, upstream.Invalid):
    """Confluence refused the request's content (400, 413): bad CQL, a taken title ..."""


class ConfluenceConflict(ConfluenceError):
    """An update named a stale version (409): someone changed the page meanwhile.

    ``current_version`` is the version Confluence reported, when it did. Someone keeps
    saving the page: a later attempt (re-reading first) may succeed.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        current_version: int | None = None,
        code: str | None = "CONFLICT",
        status: int | None = 409,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.current_version = current_version


class ConfluenceRateLimited(ConfluenceError, upstream.RateLimited):
    """HTTP 429: wait at least ``retry_after`` seconds (None: Confluence did not say)."""


class ConfluenceUnavailable(ConfluenceError, upstream.Unavailable):
    """Confluence did not answer usefully (5xx, network, timeout, circuit open): transient.

    ``retry_after`` is the wait a 503 asked for, if any.
    """


class ConfluencePort(Protocol):
    """Port: the Confluence Cloud operations the connector uses."""

    async def space_by_key(self, key: str) -> Space | None:
        """The space with key ``key``, or None."""
        ...

    async def space_by_id(self, space_id: str) -> Space | None:
        """The space with id ``space_id``, or None."""
        ...

    def space_pages(
        self,
        space_id: str,
        *,
        title: str | None = None,
        sort: PageSort | None = None,
        page_size: int = 100,
        include_body: bool = False,
    ) -> AsyncIterator[list[Page]]:
        """The space's current pages, one response (at most ``page_size``, max 250) at a time.

        ``title`` keeps only the page with exactly that title.
        """
        ...

    async def get_page(self, page_id: str, *, include_body: bool = True) -> Page:
        """One page (with its storage body unless ``include_body`` is false).

        Raises :class:`ConfluenceNotFound` when it does not exist.
        """
        ...

    async def create_page(
        self, *, space_id: str, title: str, body: str, parent_id: str | None = None
    ) -> Page:
        """Create a current page (under the space's homepage unless ``parent_id``).

        Raises :class:`ConfluenceInvalidInput` when the space has a page with that title.
        """
        ...

    async def update_page(
        self, page_id: str, *, title: str, body: str, version: int, message: str = ""
    ) -> Page:
        """Replace a page's title and body as version ``version`` (its current + 1).

        Raises :class:`ConfluenceConflict` when ``version`` is not current + 1.
        """
        ...

    def search(self, cql: str, *, page_size: int = 25) -> AsyncIterator[SearchResults]:
        """The results of a CQL query, one response (at most ``page_size``) at a time.

        Raises :class:`ConfluenceInvalidInput` for CQL Confluence cannot parse.
        """
        ...
