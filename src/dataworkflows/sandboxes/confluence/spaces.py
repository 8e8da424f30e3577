"""v2's spaces: ``GET /spaces`` (``ids``, ``keys``, ``type``, ``status``, ``sort``,
``description-format``) and ``GET /spaces/{id}``, and the space document they answer.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from dataworkflows.sandboxes.confluence.demo_data import DemoSpace
from dataworkflows.sandboxes.confluence.paging import keyset, listing
from dataworkflows.sandboxes.confluence.wire import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Answer,
    Call,
    Params,
    found_by_id,
    iso,
)

if TYPE_CHECKING:
    from dataworkflows.sandboxes.confluence.app import ConfluenceSandbox

__all__ = ["get_space", "list_spaces", "require_space", "space_json"]

_SPACE_SORTS: Final = frozenset({"id", "-id", "key", "-key", "name", "-name"})


def space_json(
    sandbox: ConfluenceSandbox,
    space: DemoSpace,
    description: str | None,
    *,
    with_base: bool = False,
) -> dict[str, Any]:
    links = {"webui": f"/spaces/{space.key}"}
    if with_base:
        links["base"] = sandbox.base
    described: dict[str, Any] | None = None
    if description == "plain":
        described = {"plain": {"value": space.description, "representation": "plain"}}
    elif description == "view":
        described = {
            "view": {
                "value": f"<p>{html.escape(space.description)}</p>",
                "representation": "view",
            }
        }
    return {
        "id": space.id,
        "key": space.key,
        "name": space.name,
        "type": space.type,
        "status": space.status,
        "authorId": space.author_id,
        "createdAt": iso(space.created_at),
        "homepageId": space.homepage_id,
        "description": described,
        "icon": None,
        "spaceOwnerId": space.author_id,
        "currentActiveAlias": space.key,
        "_links": links,
    }


def require_space(sandbox: ConfluenceSandbox, space_id: str) -> DemoSpace:
    """The space of a v2 path id (400 when not a number, 404 when unknown)."""
    return found_by_id("Space", space_id, sandbox.site.space)


def list_spaces(sandbox: ConfluenceSandbox, call: Call, _: str) -> Answer:
    params = Params(call.params)
    limit = params.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    sort = params.choice("sort", _SPACE_SORTS) or "id"
    description = params.choice("description-format", frozenset({"plain", "view"}))
    ids = set(params.ids("ids", 100))
    keys = set(params.values("keys"))
    types = set(params.values("type"))
    statuses = set(params.values("status"))
    spaces = [
        s
        for s in sandbox.site.spaces
        if (not ids or s.id in ids)
        and (not keys or s.key in keys)
        and (not types or s.type in types)
        and (not statuses or s.status in statuses)
    ]
    key: Callable[[DemoSpace], Any] = {
        "id": lambda s: int(s.id),
        "key": lambda s: s.key,
        "name": lambda s: s.name.casefold(),
    }[sort.lstrip("-")]
    chunk, cursor = keyset(
        sandbox,
        spaces,
        key=key,
        descending=sort.startswith("-"),
        limit=limit,
        cursor=params.get("cursor"),
        scope=f"spaces:{sort}",
    )
    return listing(
        sandbox, call, [space_json(sandbox, s, description) for s in chunk], cursor, limit
    )


def get_space(sandbox: ConfluenceSandbox, call: Call, space_id: str) -> Answer:
    params = Params(call.params)
    description = params.choice("description-format", frozenset({"plain", "view"}))
    space = require_space(sandbox, space_id)
    return Answer(200, space_json(sandbox, space, description, with_base=True))
