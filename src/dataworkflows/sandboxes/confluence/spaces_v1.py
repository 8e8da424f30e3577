"""v1's space API (``/wiki/rest/api/space``) over the same spaces v2 serves.

- ``GET /space`` (``spaceKey`` repeated or comma-separated, ``type``, ``status``,
  ``start``, ``limit`` default 25, ``expand``): the site's spaces in v1's envelope;
- ``GET /space/{spaceKey}`` (``expand``: ``description.plain``, ``description.view``,
  ``homepage``, ``history``): one space, 404 ``No space with key : KEY`` if unknown;
- ``GET /space/{spaceKey}/content/page`` (``start``/``limit``/``expand``,
  ``depth=root``): the space's current pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from dataworkflows.sandboxes.confluence.demo_data import DemoSpace, Refused
from dataworkflows.sandboxes.confluence.documents_v1 import (
    Expand,
    content_v1_json,
    paging_v1,
    space_v1_json,
    v1_listing,
)
from dataworkflows.sandboxes.confluence.wire import Answer, Call, Params

if TYPE_CHECKING:
    from dataworkflows.sandboxes.confluence.app import ConfluenceSandbox

__all__ = ["SPACES_V1_ROUTES"]


def _require_space(sandbox: ConfluenceSandbox, key: str) -> DemoSpace:
    space = sandbox.site.space_by_key(key)
    if space is None:
        raise Refused(404, "NOT_FOUND", f"No space with key : {key}")
    return space


def list_spaces_v1(sandbox: ConfluenceSandbox, call: Call, _: str) -> Answer:
    params = Params(call.params)
    start, limit = paging_v1(params)
    keys = set(params.values("spaceKey"))
    types = set(params.values("type"))
    statuses = set(params.values("status"))
    expand = Expand(params.values("expand"))
    spaces = sorted(
        (
            s
            for s in sandbox.site.spaces
            if (not keys or s.key in keys)
            and (not types or s.type in types)
            and (not statuses or s.status in statuses)
        ),
        key=lambda s: s.key,
    )
    results = [space_v1_json(sandbox, s, expand) for s in spaces[start : start + limit]]
    return Answer(
        200, v1_listing(sandbox, call, results, start=start, limit=limit, total=len(spaces))
    )


def get_space_v1(sandbox: ConfluenceSandbox, call: Call, key: str) -> Answer:
    space = _require_space(sandbox, key)
    expand = Expand(Params(call.params).values("expand"))
    return Answer(200, space_v1_json(sandbox, space, expand, top=True))


def space_content_pages(sandbox: ConfluenceSandbox, call: Call, key: str) -> Answer:
    space = _require_space(sandbox, key)
    params = Params(call.params)
    start, limit = paging_v1(params)
    root = params.get("depth") == "root"
    expand = Expand(params.values("expand"))
    pages = sorted(
        (
            p
            for p in sandbox.site.pages.values()
            if p.space_id == space.id and p.status == "current" and not (root and p.parent_id)
        ),
        key=lambda p: int(p.id),
    )
    results = [content_v1_json(sandbox, p, expand) for p in pages[start : start + limit]]
    return Answer(
        200, v1_listing(sandbox, call, results, start=start, limit=limit, total=len(pages))
    )


_Handler = Callable[["ConfluenceSandbox", Call, str], Answer]

SPACES_V1_ROUTES: Final[tuple[tuple[str, str, _Handler], ...]] = (
    ("GET", r"^/rest/api/space/?$", list_spaces_v1),
    ("GET", r"^/rest/api/space/([^/]+)/?$", get_space_v1),
    ("GET", r"^/rest/api/space/([^/]+)/content/page/?$", space_content_pages),
)
"""v1's space routes: (method, path pattern after ``/wiki``, handler)."""
