"""v1's content API (``/wiki/rest/api/content``) over the same pages v2 serves.

- ``GET /content`` (``type``, ``spaceKey``, ``title``, ``status``, ``start``,
  ``limit`` default 25, ``expand``): a space's pages in v1's list envelope;
- ``GET /content/{id}`` (``expand``; ``space,history,version`` when none is given, as
  Confluence does; ``status``), ``GET /content/{id}/history``;
- ``POST /content`` (``type``, ``title``, ``space.key``, ``ancestors[-1].id`` as the
  parent, ``body.storage|wiki``), ``PUT /content/{id}`` (``version.number`` must be
  current + 1, else 409 with Confluence's message), ``DELETE /content/{id}`` (to the
  trash; ``status=trashed`` purges a trashed page);
- page trees: ``GET /content/{id}/child`` (``expand=page``),
  ``GET /content/{id}/child/page`` (``start``/``limit``/``expand``) and
  ``GET /content/{id}/descendant/page``.

Only pages are modelled: blog posts are never found (``type=blogpost`` lists nothing),
and a page's attachments and comments are always empty lists. Errors are v1's
``{"statusCode", "data", "message"}`` (the dispatcher renders them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from dataworkflows.sandboxes.confluence.demo_data import (
    DemoPage,
    Refused,
    version_conflict_title,
)
from dataworkflows.sandboxes.confluence.documents_v1 import (
    Expand,
    content_v1_json,
    history_v1_json,
    paging_v1,
    v1_listing,
)
from dataworkflows.sandboxes.confluence.pages import json_body, storage_from
from dataworkflows.sandboxes.confluence.wire import DIGITS_RE, Answer, Call, Params

if TYPE_CHECKING:
    from dataworkflows.sandboxes.confluence.app import ConfluenceSandbox

__all__ = ["CONTENT_V1_ROUTES"]

_DEFAULT_EXPAND: Final = ("space", "history", "version")
"""What ``GET /content/{id}`` expands when the request names nothing."""
_WRITE_EXPAND: Final = ("space", "history", "version", "ancestors", "body.storage", "container")
"""What a create or an update answers with expanded."""
_STATUSES: Final = frozenset({"current", "trashed", "draft", "archived", "historical", "any"})
_TYPES: Final = frozenset({"page", "blogpost"})


def _not_found(content_id: str) -> Refused:
    return Refused(404, "NOT_FOUND", f"No content found with id : ContentId{{id={content_id}}}")


def _statuses(params: Params, default: str = "current") -> set[str]:
    wanted = set(params.values("status")) or {default}
    unknown = wanted - _STATUSES
    if unknown:
        raise Refused(400, "BAD_REQUEST", f"Unknown content status: {sorted(unknown)[0]}")
    if "any" in wanted:
        wanted |= {"current", "trashed"}
    return wanted


def _content_type(params: Params) -> str:
    kind = params.get("type") or "page"
    if kind not in _TYPES:
        raise Refused(
            400, "BAD_REQUEST", f"Type {kind} is not supported here. Valid types: page, blogpost"
        )
    return kind


def _require_content(
    sandbox: ConfluenceSandbox, content_id: str, statuses: set[str] | None = None
) -> DemoPage:
    page = sandbox.site.page(content_id) if DIGITS_RE.match(content_id) else None
    if page is None or page.status not in (statuses or {"current"}):
        raise _not_found(content_id)
    return page


def _expand(params: Params, default: tuple[str, ...] = ()) -> Expand:
    named = params.values("expand")
    return Expand(named if named else default)


def list_content(sandbox: ConfluenceSandbox, call: Call, _: str) -> Answer:
    params = Params(call.params)
    kind = _content_type(params)
    start, limit = paging_v1(params)
    statuses = _statuses(params)
    keys = set(params.values("spaceKey"))
    title = params.get("title")
    expand = _expand(params)
    space_ids = {s.id for s in sandbox.site.spaces if s.key in keys}
    pages = [
        p
        for p in sandbox.site.pages.values()
        if kind == "page"  # no blog posts are modelled: a blogpost listing is empty
        and p.status in statuses
        and (not keys or p.space_id in space_ids)
        and (title is None or p.title == title)
    ]
    pages.sort(key=lambda p: int(p.id))
    chunk = pages[start : start + limit]
    results = [content_v1_json(sandbox, p, expand) for p in chunk]
    body = v1_listing(sandbox, call, results, start=start, limit=limit, total=len(pages))
    return Answer(200, body)


def get_content(sandbox: ConfluenceSandbox, call: Call, content_id: str) -> Answer:
    params = Params(call.params)
    page = _require_content(sandbox, content_id, _statuses(params))
    version = params.get("version")
    if version is not None and version != str(page.version):
        # Earlier versions are not kept: only the current one can be read.
        raise _not_found(content_id)
    document = content_v1_json(sandbox, page, _expand(params, _DEFAULT_EXPAND), top=True)
    return Answer(200, document)


def content_history(sandbox: ConfluenceSandbox, call: Call, content_id: str) -> Answer:
    page = _require_content(sandbox, content_id, {"current", "draft", "archived"})
    return Answer(200, history_v1_json(sandbox, page, last_updated=True))


def _parent_of(document: dict[str, Any]) -> str | None:
    """The parent a write names: the last of its ``ancestors`` (v1 lists root first)."""
    ancestors = document.get("ancestors")
    if not ancestors:
        return None
    last = ancestors[-1] if isinstance(ancestors, list) else None
    parent = last.get("id") if isinstance(last, dict) else None
    if isinstance(parent, bool) or not DIGITS_RE.match(str(parent)):
        raise Refused(400, "BAD_REQUEST", "ancestors must be a list of {id} of pages")
    return str(parent)


def _kind_of(document: dict[str, Any]) -> None:
    kind = document.get("type")
    if kind != "page":
        raise Refused(
            400,
            "BAD_REQUEST",
            f"Content type {kind!r} is not supported by this site; only page is",
        )


def _body_of(document: dict[str, Any]) -> Any:
    body = document.get("body")
    if isinstance(body, dict):
        # v1 sends {"storage": {"value", "representation"}} and may add "_expandable".
        body = {k: v for k, v in body.items() if not k.startswith("_")}
    return body


def create_content(sandbox: ConfluenceSandbox, call: Call, _: str) -> Answer:
    document = json_body(sandbox, call)
    _kind_of(document)
    space = document.get("space")
    key = space.get("key") if isinstance(space, dict) else None
    if not isinstance(key, str) or not key:
        raise Refused(400, "BAD_REQUEST", "Content must have a space: {key} is required")
    found = sandbox.site.space_by_key(key)
    if found is None:
        raise Refused(404, "NOT_FOUND", f"No space with key : {key}")
    status = document.get("status") or "current"
    if status not in ("current", "draft"):
        raise Refused(400, "BAD_REQUEST", f"Cannot create content with status {status}")
    title = document.get("title")
    if not isinstance(title, str):
        raise Refused(400, "BAD_REQUEST", "Content must have a title")
    page = sandbox.site.create_page(
        space_id=found.id,
        title=title,
        body=storage_from(_body_of(document)),
        parent_id=_parent_of(document),
        author_id=call.account.account_id,
        now=sandbox.now(),
        status=status,
    )
    return Answer(200, content_v1_json(sandbox, page, Expand(_WRITE_EXPAND), top=True))


def update_content(sandbox: ConfluenceSandbox, call: Call, content_id: str) -> Answer:
    page = _require_content(sandbox, content_id, {"current", "draft", "archived"})
    document = json_body(sandbox, call)
    _kind_of(document)
    version = document.get("version")
    number = version.get("number") if isinstance(version, dict) else None
    if not isinstance(number, int) or isinstance(number, bool):
        raise Refused(400, "BAD_REQUEST", "Must supply an incremented version when updating")
    title = document.get("title")
    if not isinstance(title, str):
        raise Refused(400, "BAD_REQUEST", "Content must have a title")
    status = document.get("status") or Params(call.params).get("status") or "current"
    if status not in ("current", "archived"):
        raise Refused(400, "BAD_REQUEST", f"Cannot update content to status {status}")
    if sandbox.take_fault("PUT", call.path, conflict=True) is not None:
        raise Refused(409, "CONFLICT", version_conflict_title(page.version, number))
    message = version.get("message") if isinstance(version, dict) else None
    body = _body_of(document)
    updated = sandbox.site.update_page(
        content_id,
        title=title,
        # v1 keeps the body when an update carries none.
        body=page.body if body is None else storage_from(body),
        version=number,
        message=message if isinstance(message, str) else "",
        author_id=call.account.account_id,
        now=sandbox.now(),
        status=status,
        parent_id=_parent_of(document),
        minor_edit=bool(isinstance(version, dict) and version.get("minorEdit")),
    )
    return Answer(200, content_v1_json(sandbox, updated, Expand(_WRITE_EXPAND), top=True))


def delete_content(sandbox: ConfluenceSandbox, call: Call, content_id: str) -> Answer:
    purge = Params(call.params).get("status") == "trashed"
    _require_content(
        sandbox, content_id, {"trashed"} if purge else {"current", "draft", "archived"}
    )
    sandbox.site.trash_page(content_id, purge=purge)
    return Answer(204, None)


def child_pages(sandbox: ConfluenceSandbox, call: Call, content_id: str) -> Answer:
    _require_content(sandbox, content_id)
    return _page_list(sandbox, call, sandbox.site.children(content_id))


def descendant_pages(sandbox: ConfluenceSandbox, call: Call, content_id: str) -> Answer:
    _require_content(sandbox, content_id)
    found: list[DemoPage] = []
    below = sandbox.site.children(content_id)
    while below:
        found.extend(below)
        below = [kid for page in below for kid in sandbox.site.children(page.id)]
    return _page_list(sandbox, call, found)


def no_children(sandbox: ConfluenceSandbox, call: Call, content_id: str) -> Answer:
    """A page's attachments or comments: none exist on this site."""
    _require_content(sandbox, content_id)
    return _page_list(sandbox, call, [])


def _page_list(sandbox: ConfluenceSandbox, call: Call, pages: list[DemoPage]) -> Answer:
    params = Params(call.params)
    start, limit = paging_v1(params)
    expand = _expand(params)
    results = [content_v1_json(sandbox, p, expand) for p in pages[start : start + limit]]
    return Answer(
        200, v1_listing(sandbox, call, results, start=start, limit=limit, total=len(pages))
    )


def children(sandbox: ConfluenceSandbox, call: Call, content_id: str) -> Answer:
    """``GET /content/{id}/child``: the page's children by type (``expand=page``)."""
    page = _require_content(sandbox, content_id)
    below = _expand(Params(call.params)).paths
    wanted = Expand(("children", *(f"children.{path}" for path in below)))
    tree: dict[str, Any] = content_v1_json(sandbox, page, wanted)["children"]
    tree["_links"] = {
        "base": sandbox.base,
        "context": "/wiki",
        "self": f"{sandbox.base}/rest/api/content/{content_id}/child",
    }
    return Answer(200, tree)


_Handler = Callable[["ConfluenceSandbox", Call, str], Answer]

CONTENT_V1_ROUTES: Final[tuple[tuple[str, str, _Handler], ...]] = (
    ("GET", r"^/rest/api/content/?$", list_content),
    ("POST", r"^/rest/api/content/?$", create_content),
    ("GET", r"^/rest/api/content/([^/]+)/?$", get_content),
    ("PUT", r"^/rest/api/content/([^/]+)/?$", update_content),
    ("DELETE", r"^/rest/api/content/([^/]+)/?$", delete_content),
    ("GET", r"^/rest/api/content/([^/]+)/history/?$", content_history),
    ("GET", r"^/rest/api/content/([^/]+)/child/?$", children),
    ("GET", r"^/rest/api/content/([^/]+)/child/page/?$", child_pages),
    ("GET", r"^/rest/api/content/([^/]+)/child/(?:attachment|comment)/?$", no_children),
    ("GET", r"^/rest/api/content/([^/]+)/descendant/page/?$", descendant_pages),
)
"""v1's content routes: (method, path pattern after ``/wiki``, handler)."""
