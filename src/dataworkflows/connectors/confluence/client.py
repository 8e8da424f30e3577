"""The real Confluence adapter: Confluence Cloud's REST APIs (v2, and v1 for CQL) over httpx.

Wire rules (../shared/reference/confluence.md). ``CONFLUENCE_URL`` is the *API root*:
the site (``https://<site>.atlassian.net``) or Atlassian's gateway
(``https://api.atlassian.com/ex/confluence/<cloudId>``); this client adds
``/wiki/api/v2/...`` and ``/wiki/rest/api/...`` (a trailing ``/wiki`` in the setting
is tolerated). An e-mail with the API token means Basic auth; a token alone is sent
as a bearer token (OAuth 2.0 3LO). Pages are written in storage format; ``POST``
answers 200; ``PUT`` needs ``version.number`` = current + 1 and answers 409 otherwise.

Following ``next`` links (the part that breaks clients)
--------------------------------------------------------
- v2 lists put the next page in ``_links.next`` and in a ``Link: <...>; rel="next"``
  header (which also carries ``<base>; rel="base"``). The link is relative to the
  *site origin* and already starts with ``/wiki``; joining it to ``_links.base``
  (which ends in ``/wiki``) gives ``/wiki/wiki/...`` and a 404. The cursor is not
  always the last parameter (seen on the wire:
  ``</wiki/api/v2/spaces/X/pages?cursor=...&depth=all&limit=100>; rel="next"``), so
  the link is followed as given, never rebuilt from an extracted cursor.
- v1 search's ``_links.next`` (``/rest/api/search?...&cursor=...``) is relative to
  ``_links.base``, i.e. it lacks ``/wiki``.
- Through the gateway, what we found (atlassian-python-api issue #1655,
  confluence-publisher issues #492/#531 and PR #532, backstage community-plugins PR
  #4615): responses still describe the *site*: ``_links.base`` is
  ``https://<site>.atlassian.net/wiki`` and ``next`` is ``/wiki/api/v2/...``.
  Resolving ``next`` against the request's origin gives
  ``https://api.atlassian.com/wiki/api/v2/...`` (404: the ``/ex/confluence/<cloudId>``
  prefix is lost); resolving it against ``_links.base`` leaves the gateway for the
  site, where an OAuth or scoped token is refused (401). Both bugs shipped in
  published clients. So this client takes only the *path and query* of a link and
  puts them under its own configured root: ``root + next`` for v2 (``next`` starts
  with ``/wiki``), ``root + "/wiki" + next`` for v1. The host never changes, so the
  credentials only ever go to the configured host. ``_links.base`` is used for
  what it is meant for: the browser URLs of pages (the site, even via the gateway).

Errors: 401/403 are auth errors (not retried); 404 not found; 400 and 413 invalid
input with Atlassian's error title; 409 a version conflict; 429 and 503 wait at least
``Retry-After`` (with a little upward jitter), otherwise back off exponentially with
jitter (stamina); other 5xx and network errors are retried likewise. Waits longer
than ``max_wait_s`` go back to the caller (the engine retries the step durably), and a
circuit breaker stops calling a Confluence that keeps failing. Retrying a ``POST`` or
``PUT`` whose answer was lost cannot write twice here: a second create of the same
title is refused (titles are unique in a space) and a second update names a version
that is no longer current (409); :mod:`.service` recognises both.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from dataworkflows.connectors.confluence.port import (
    ConfluenceError,
    ConfluenceNotFound,
    ConfluenceUnavailable,
    Page,
    PageSort,
    SearchResults,
    Space,
)
from dataworkflows.connectors.confluence.responses import (
    hit_from,
    interpret,
    links_base,
    next_link,
    page_from,
    results_of,
    space_from,
)
from dataworkflows.connectors.toolkit.transport import Upstream
from dataworkflows.runtime.resilience import CircuitBreaker

__all__ = ["MAX_PAGE_LIMIT", "MAX_SEARCH_LIMIT", "ConfluenceClient", "api_root"]

MAX_PAGE_LIMIT: Final = 250
"""The largest ``limit`` of v2 list endpoints."""
MAX_SEARCH_LIMIT: Final = 250
"""The largest ``limit`` this client asks of v1 search (Confluence may cap lower)."""


def api_root(url: str) -> str:
    """The configured API root without a trailing ``/`` or ``/wiki``."""
    root = url.strip().rstrip("/")
    return root.removesuffix("/wiki")


class ConfluenceClient:
    """:class:`~dataworkflows.connectors.confluence.port.ConfluencePort` over REST."""

    def __init__(
        self,
        *,
        url: str,
        http: httpx.AsyncClient,
        api_token: str,
        email: str | None = None,
        max_wait_s: float = 30.0,
        attempts: int = 5,
        wait_initial: float = 1.0,
        wait_max: float = 30.0,
        wait_jitter: float = 1.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.root = api_root(url)
        parts = urlsplit(self.root)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._v2 = f"{self.root}/wiki/api/v2"
        self._v1 = f"{self.root}/wiki/rest/api"
        self._http = http
        # The token never goes anywhere but this header (not into logs or errors).
        if email:
            pair = base64.b64encode(f"{email}:{api_token}".encode()).decode("ascii")
            authorization = f"Basic {pair}"
        else:
            authorization = f"Bearer {api_token}"
        self._headers = {"Authorization": authorization, "Accept": "application/json"}
        self._upstream = Upstream(
            "Confluence",
            unavailable=ConfluenceUnavailable,
            attempts=attempts,
            wait_initial=wait_initial,
            wait_max=wait_max,
            wait_jitter=wait_jitter,
            longest_wait_s=max_wait_s,
            breaker=breaker,
        )
        self.breaker = self._upstream.breaker

    # The port -----------------------------------------------------------------------

    async def space_by_key(self, key: str) -> Space | None:
        data, _ = await self._call("GET", f"{self._v2}/spaces", params={"keys": key})
        base = links_base(data)
        for raw in results_of(data):
            if raw.get("key") == key:
                return space_from(raw, base)
        return None

    async def space_by_id(self, space_id: str) -> Space | None:
        try:
            data, _ = await self._call("GET", f"{self._v2}/spaces/{space_id}")
        except ConfluenceNotFound:
            return None
        return space_from(data, links_base(data))

    async def space_pages(
        self,
        space_id: str,
        *,
        title: str | None = None,
        sort: PageSort | None = None,
        page_size: int = 100,
        include_body: bool = False,
    ) -> AsyncIterator[list[Page]]:
        params = {
            "space-id": space_id,
            "status": "current",
            "limit": str(max(1, min(page_size, MAX_PAGE_LIMIT))),
        }
        if title is not None:
            params["title"] = title
        if sort is not None:
            params["sort"] = sort
        if include_body:
            params["body-format"] = "storage"
        async for data in self._paged(f"{self._v2}/pages", params):
            base = links_base(data)
            yield [page_from(raw, base) for raw in results_of(data)]

    async def get_page(self, page_id: str, *, include_body: bool = True) -> Page:
        params = {"body-format": "storage"} if include_body else None
        data, _ = await self._call("GET", f"{self._v2}/pages/{page_id}", params=params)
        return page_from(data, links_base(data))

    async def create_page(
        self, *, space_id: str, title: str, body: str, parent_id: str | None = None
    ) -> Page:
        document: dict[str, Any] = {
            "spaceId": space_id,
            "status": "current",
            "title": title,
            "body": {"representation": "storage", "value": body},
        }
        if parent_id is not None:
            document["parentId"] = parent_id
        data, _ = await self._call("POST", f"{self._v2}/pages", json=document)
        return page_from(data, links_base(data), body_sent=body)

    async def update_page(
        self, page_id: str, *, title: str, body: str, version: int, message: str = ""
    ) -> Page:
        document = {
            "id": page_id,
            "status": "current",
            "title": title,
            "body": {"representation": "storage", "value": body},
            "version": {"number": version, "message": message},
        }
        data, _ = await self._call("PUT", f"{self._v2}/pages/{page_id}", json=document)
        return page_from(data, links_base(data), body_sent=body)

    async def search(self, cql: str, *, page_size: int = 25) -> AsyncIterator[SearchResults]:
        params = {"cql": cql, "limit": str(max(1, min(page_size, MAX_SEARCH_LIMIT)))}
        async for data in self._paged(f"{self._v1}/search", params):
            base = links_base(data)
            total = data.get("totalSize")
            yield SearchResults(
                hits=[hit_from(raw, base) for raw in results_of(data)],
                total_size=total if isinstance(total, int) else None,
            )

    async def check(self) -> None:
        """One cheap authenticated call (for readiness)."""
        await self._call("GET", f"{self._v2}/spaces", params={"limit": "1"})

    # Paging -------------------------------------------------------------------------

    def resolve_link(self, link: str) -> str:
        """The URL to request for a ``next`` link of any of Confluence's shapes.

        Only the link's path and query are used, under the configured root: see the
        module docstring for why neither the request's origin nor ``_links.base`` is
        the right thing to join with.
        """
        parts = urlsplit(link.strip())
        path = parts.path if parts.path.startswith("/") else f"/{parts.path}"
        query = f"?{parts.query}" if parts.query else ""
        if path.startswith("/ex/confluence/"):
            return f"{self._origin}{path}{query}"
        if path == "/wiki" or path.startswith("/wiki/"):
            return f"{self.root}{path}{query}"
        return f"{self.root}/wiki{path}{query}"

    async def _paged(self, url: str, params: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Every response of a listing, following ``_links.next`` or the Link header."""
        seen = {url}
        query: Mapping[str, str] | None = params
        while True:
            data, response = await self._call("GET", url, params=query)
            yield data
            link = next_link(data, response)
            # No early stop on an empty page: permission filtering can empty a page
            # that still has a successor. The repeat check below ends a loop.
            if not link:
                return
            url, query = self.resolve_link(link), None
            if url in seen:
                raise ConfluenceError("Confluence's next link repeats a page; stopped paging")
            seen.add(url)

    # Transport ----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], httpx.Response]:
        """Send one request; its JSON object and response, or the typed error."""
        return await self._upstream.call(lambda: self._once(method, url, params, json))

    async def _once(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json: Mapping[str, Any] | None,
    ) -> tuple[dict[str, Any], httpx.Response]:
        what = f"{method} {urlsplit(url).path}"
        try:
            response = await self._http.request(
                method,
                url,
                params=dict(params) if params is not None else None,
                json=dict(json) if json is not None else None,
                headers=self._headers,
            )
        except httpx.TimeoutException:
            raise ConfluenceUnavailable(f"Confluence did not answer {what} in time") from None
        except httpx.TransportError as exc:
            raise ConfluenceUnavailable(
                f"Confluence is unreachable for {what} ({type(exc).__name__})"
            ) from None
        return interpret(response, what), response
