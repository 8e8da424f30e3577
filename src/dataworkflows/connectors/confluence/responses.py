"""Reading Confluence's answers: the typed error a refusal carries, the ``next`` link of
a listing, and the port's records (:class:`Space`, :class:`Page`, :class:`SearchHit`)
built from the JSON of v2 and v1 responses.

:class:`~.client.ConfluenceClient` sends the requests; see its module for the wire rules.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

import httpx

from dataworkflows.connectors.confluence.port import (
    ConfluenceAuthError,
    ConfluenceConflict,
    ConfluenceError,
    ConfluenceInvalidInput,
    ConfluenceNotFound,
    ConfluenceRateLimited,
    ConfluenceUnavailable,
    Page,
    PageVersion,
    SearchHit,
    Space,
)

__all__ = [
    "hit_from",
    "interpret",
    "links_base",
    "next_link",
    "page_from",
    "results_of",
    "space_from",
]

_CURRENT_VERSION_RE: Final = re.compile(r"Current Version:\s*\[(\d+)\]", re.IGNORECASE)
_HIGHLIGHT_RE: Final = re.compile(r"@@@(?:end)?hl@@@")
_SPACE_PATH_RE: Final = re.compile(r"/(?:spaces|space|display)/([^/?#]+)")
_MAX_TITLE: Final = 500

# Errors -------------------------------------------------------------------------------


def interpret(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object of a successful response, or the typed error it carries."""
    status = response.status_code
    if 200 <= status < 300:
        if status == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise ConfluenceError(
                f"Confluence answered {what} with HTTP {status} but no JSON", status=status
            ) from None
        if not isinstance(body, dict):
            raise ConfluenceError(
                f"Confluence answered {what} with a JSON {type(body).__name__}, not an object",
                status=status,
            )
        return body
    title, code = _problem(response)
    message = f"Confluence refused {what} (HTTP {status}): {title}"
    if status in (401, 403):
        raise ConfluenceAuthError(message, code=code, status=status)
    if status == 404:
        raise ConfluenceNotFound(message, code=code, status=status)
    if status == 409:
        match = _CURRENT_VERSION_RE.search(title)
        raise ConfluenceConflict(
            message,
            current_version=int(match.group(1)) if match else None,
            code=code or "CONFLICT",
        )
    if status in (400, 413, 422):
        raise ConfluenceInvalidInput(message, code=code, status=status)
    if status == 429:
        raise ConfluenceRateLimited(
            message, retry_after=_retry_after(response), code=code, status=429
        )
    if status >= 500:
        retry_after = _retry_after(response) if status == 503 else None
        raise ConfluenceUnavailable(message, retry_after=retry_after, code=code, status=status)
    raise ConfluenceError(message, code=code, status=status)


def _problem(response: httpx.Response) -> tuple[str, str | None]:
    """Atlassian's error title and code, whichever of its shapes the body has."""
    try:
        body = response.json()
    except ValueError:
        body = None
    title: str | None = None
    code: str | None = None
    if isinstance(body, dict):
        errors = body.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else None
        if isinstance(first, dict):
            # v2: {"errors": [{"status", "code", "title", "detail"}]}
            title = _text(first.get("title")) or _text(first.get("message"))
            detail = _text(first.get("detail"))
            if detail and detail != title:
                title = f"{title}: {detail}" if title else detail
            code = _text(first.get("code"))
        else:
            # v1: {"statusCode", "message", "data"}; the gateway: {"code": 401, "message"}
            title = _text(body.get("message")) or _text(body.get("errorMessage"))
            if isinstance(body.get("code"), str):
                code = body["code"]
    if not title:
        title = response.reason_phrase or f"HTTP {response.status_code}"
    return title[:_MAX_TITLE], code


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or None."""
    header = response.headers.get("Retry-After")
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# Listings and records -----------------------------------------------------------------


def next_link(data: Mapping[str, Any], response: httpx.Response) -> str | None:
    """A listing's ``next`` link (``_links.next``, else the ``Link`` header), or None."""
    links = data.get("_links")
    if isinstance(links, dict) and isinstance(links.get("next"), str) and links["next"]:
        return str(links["next"])
    header = response.links.get("next")
    if header and header.get("url"):
        return str(header["url"])
    return None


def results_of(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The objects of a listing's ``results``."""
    results = data.get("results")
    if not isinstance(results, list):
        return []
    return [r for r in results if isinstance(r, dict)]


def links_base(data: Mapping[str, Any]) -> str | None:
    """``_links.base`` (the site's ``/wiki``, for browser URLs) without a trailing ``/``."""
    links = data.get("_links")
    if isinstance(links, dict) and isinstance(links.get("base"), str):
        return str(links["base"]).rstrip("/")
    return None


def _web_url(base: str | None, raw: Mapping[str, Any]) -> str | None:
    links = raw.get("_links")
    if not isinstance(links, dict):
        return None
    base = links.get("base") if isinstance(links.get("base"), str) else base
    webui = links.get("webui")
    if not base or not isinstance(webui, str):
        return None
    return f"{str(base).rstrip('/')}{webui}"


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def space_from(raw: Mapping[str, Any], base: str | None) -> Space:
    """A v2 space object as the port's :class:`Space`."""
    return Space(
        id=str(raw["id"]),
        key=str(raw.get("key") or ""),
        name=str(raw.get("name") or ""),
        type=str(raw.get("type") or ""),
        status=str(raw.get("status") or ""),
        homepage_id=_optional_str(raw.get("homepageId")),
        url=_web_url(base, raw),
    )


def page_from(raw: Mapping[str, Any], base: str | None, *, body_sent: str | None = None) -> Page:
    """A v2 page object as the port's :class:`Page` (``body_sent`` when it has no body)."""
    version = raw.get("version") if isinstance(raw.get("version"), dict) else {}
    assert isinstance(version, dict)
    body = raw.get("body")
    storage = body.get("storage") if isinstance(body, dict) else None
    value = storage.get("value") if isinstance(storage, dict) else None
    return Page(
        id=str(raw["id"]),
        title=str(raw.get("title") or ""),
        status=str(raw.get("status") or "current"),
        space_id=str(raw.get("spaceId") or ""),
        parent_id=_optional_str(raw.get("parentId")),
        author_id=_optional_str(raw.get("authorId")),
        created_at=_optional_str(raw.get("createdAt")),
        version=PageVersion(
            number=int(version.get("number") or 0),
            message=str(version.get("message") or ""),
            created_at=_optional_str(version.get("createdAt")),
            author_id=_optional_str(version.get("authorId")),
            minor_edit=bool(version.get("minorEdit") or False),
        ),
        # A write's answer may leave the body out; it is what we sent.
        body=str(value) if isinstance(value, str) else body_sent,
        url=_web_url(base, raw),
    )


def _plain(text: str) -> str:
    """Search text without Confluence's highlight markers and HTML escapes."""
    return " ".join(html.unescape(_HIGHLIGHT_RE.sub("", text)).split())


def hit_from(raw: Mapping[str, Any], base: str | None) -> SearchHit:
    """A v1 search result as the port's :class:`SearchHit`."""
    content = raw.get("content") if isinstance(raw.get("content"), dict) else {}
    assert isinstance(content, dict)
    container = raw.get("resultGlobalContainer")
    container = container if isinstance(container, dict) else {}
    space_key: str | None = None
    space = content.get("space")
    if isinstance(space, dict) and isinstance(space.get("key"), str):
        space_key = space["key"]
    else:
        expandable = content.get("_expandable")
        for candidate in (
            expandable.get("space") if isinstance(expandable, dict) else None,
            container.get("displayUrl"),
        ):
            match = _SPACE_PATH_RE.search(candidate) if isinstance(candidate, str) else None
            if match:
                space_key = match.group(1)
                break
    url = raw.get("url")
    title = content.get("title") if isinstance(content.get("title"), str) else raw.get("title")
    return SearchHit(
        id=_optional_str(content.get("id")),
        type=str(content.get("type") or raw.get("entityType") or ""),
        title=_plain(str(title or "")),
        excerpt=_plain(str(raw.get("excerpt") or "")),
        url=f"{base}{url}" if base and isinstance(url, str) else None,
        space_key=space_key,
        space_name=_optional_str(container.get("title")),
        last_modified=_optional_str(raw.get("lastModified")),
    )
