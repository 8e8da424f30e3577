"""The documents v1's REST API (``/wiki/rest/api``) answers: content, spaces, users.

v1 shows a page as a *content* object whose parts are expanded on request
(``expand=body.storage,version,space,history,ancestors,...``); what is not expanded is
named in ``_expandable``, with the path that would fetch it. Lists are v1's
``{"results", "start", "limit", "size", "_links"}`` envelope, whose ``next`` and
``prev`` links are relative to ``_links.base`` (``<site>/wiki``), unlike v2's. The
bodies themselves (storage, view, ADF) come from v2's page document in :mod:`.pages`,
so both APIs always show the same page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, quote_plus

from dataworkflows.sandboxes.confluence.demo_data import DemoPage, DemoSpace
from dataworkflows.sandboxes.confluence.pages import page_json
from dataworkflows.sandboxes.confluence.wire import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Call,
    Params,
    iso,
    tiny,
)

if TYPE_CHECKING:
    from dataworkflows.sandboxes.confluence.app import ConfluenceSandbox

__all__ = [
    "BODY_FORMATS",
    "Expand",
    "content_expandable",
    "content_v1_json",
    "history_v1_json",
    "paging_v1",
    "space_v1_json",
    "user_v1_json",
    "v1_listing",
]

BODY_FORMATS: Final = ("storage", "view", "atlas_doc_format")
"""The body representations the sandbox renders (others stay in ``_expandable``)."""
_BODY_EXPANDABLE: Final = (
    "editor",
    "atlas_doc_format",
    "view",
    "export_view",
    "styled_view",
    "dynamic",
    "storage",
    "editor2",
    "anonymous_export_view",
)
_CONTENT_PARTS: Final = (
    "container",
    "metadata",
    "extensions",
    "operations",
    "children",
    "history",
    "ancestors",
    "body",
    "version",
    "descendants",
    "space",
)
_SPACE_PARTS: Final = (
    "settings",
    "metadata",
    "operations",
    "lookAndFeel",
    "identifiers",
    "permissions",
    "icon",
    "description",
    "theme",
    "history",
    "homepage",
)


class Expand:
    """A request's ``expand`` (comma-separated, dotted paths), asked about by prefix."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = frozenset(p.strip() for p in paths if p.strip())

    def has(self, name: str) -> bool:
        """Whether ``name`` or anything below it (``name.x``) is expanded."""
        return any(p == name or p.startswith(name + ".") for p in self.paths)

    def below(self, name: str) -> Expand:
        """The expansions under ``name`` (``space.homepage`` -> ``homepage``)."""
        prefix = name + "."
        return Expand(p[len(prefix) :] for p in self.paths if p.startswith(prefix))


def paging_v1(params: Params) -> tuple[int, int]:
    """``start`` and ``limit`` as v1 reads them (a limit out of range is clamped)."""
    start = params.integer("start", 0, 0, 10**9)
    limit = max(1, min(params.integer("limit", DEFAULT_LIMIT, -(10**9), 10**9), MAX_LIMIT))
    return start, limit


def v1_listing(
    sandbox: ConfluenceSandbox,
    call: Call,
    results: list[dict[str, Any]],
    *,
    start: int,
    limit: int,
    total: int,
    top: bool = True,
) -> dict[str, Any]:
    """v1's list envelope; ``next``/``prev`` are relative to ``_links.base``."""
    kept = [(k, v) for k, v in call.params if k not in ("start", "limit")]

    def link(at: int) -> str:
        pairs = [*kept, ("limit", str(limit)), ("start", str(at))]
        return (
            call.path
            + "?"
            + "&".join(f"{quote(k, safe='')}={quote(v, safe=',')}" for k, v in pairs)
        )

    links: dict[str, str] = {"self": f"{sandbox.base}{call.path}"}
    if top:
        links = {"base": sandbox.base, "context": "/wiki", **links}
    if start + limit < total:
        links["next"] = link(start + limit)
    if start > 0:
        links["prev"] = link(max(0, start - limit))
    return {
        "results": results,
        "start": start,
        "limit": limit,
        "size": len(results),
        "_links": links,
    }


def user_v1_json(sandbox: ConfluenceSandbox, account_id: str) -> dict[str, Any]:
    """A v1 user (Cloud hides e-mail addresses from other users by default)."""
    account = sandbox.site.account(account_id)
    if account is None:
        return {"type": "anonymous", "displayName": "Anonymous", "_links": {}}
    return {
        "type": "known",
        "accountId": account.account_id,
        "accountType": "atlassian",
        "email": "",
        "publicName": account.display_name,
        "profilePicture": {
            "path": f"/wiki/aa-avatar/{account.account_id}",
            "width": 48,
            "height": 48,
            "isDefault": False,
        },
        "displayName": account.display_name,
        "isExternalCollaborator": False,
        "_expandable": {"operations": "", "personalSpace": ""},
        "_links": {"self": f"{sandbox.base}/rest/api/user?accountId={account.account_id}"},
    }


def _version_json(sandbox: ConfluenceSandbox, page: DemoPage) -> dict[str, Any]:
    return {
        "by": user_v1_json(sandbox, page.version_author_id),
        "when": iso(page.version_created_at),
        "friendlyWhen": page.version_created_at.strftime("%b %d, %Y"),
        "message": page.version_message,
        "number": page.version,
        "minorEdit": page.minor_edit,
        "contentTypeModified": False,
        "_expandable": {"collaborators": "", "content": f"/rest/api/content/{page.id}"},
        "_links": {"self": f"{sandbox.base}/rest/api/content/{page.id}/version/{page.version}"},
    }


def history_v1_json(
    sandbox: ConfluenceSandbox, page: DemoPage, *, last_updated: bool
) -> dict[str, Any]:
    """A page's ``history`` (``lastUpdated``: with its current version expanded)."""
    history: dict[str, Any] = {
        "latest": page.status == "current",
        "createdBy": user_v1_json(sandbox, page.author_id),
        "ownedBy": user_v1_json(sandbox, page.owner_id or page.author_id),
        "createdDate": iso(page.created_at),
        "_expandable": {
            "lastUpdated": "",
            "previousVersion": "",
            "contributors": "",
            "nextVersion": "",
            "lastOwnedBy": "",
        },
        "_links": {"self": f"{sandbox.base}/rest/api/content/{page.id}/history"},
    }
    if last_updated:
        history["lastUpdated"] = _version_json(sandbox, page)
        del history["_expandable"]["lastUpdated"]
    return history


def _body_json(sandbox: ConfluenceSandbox, page: DemoPage, expand: Expand) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for form in BODY_FORMATS:
        if expand.has(form):
            rendered = page_json(sandbox, page, form)["body"][form]
            body[form] = {
                "value": rendered["value"],
                "representation": form,
                "embeddedContent": [],
                "_expandable": {"content": f"/rest/api/content/{page.id}"},
            }
    body["_expandable"] = {
        form: f"/rest/api/content/{page.id}?expand=body.{form}" if form in BODY_FORMATS else ""
        for form in _BODY_EXPANDABLE
        if form not in body
    }
    return body


def content_expandable(space_key: str, page_id: str) -> dict[str, str]:
    """A v1 content document's ``_expandable``: what ``expand`` could have included."""
    return {
        "container": f"/rest/api/space/{space_key}",
        "metadata": "",
        "extensions": "",
        "operations": "",
        "children": f"/rest/api/content/{page_id}/child",
        "history": f"/rest/api/content/{page_id}/history",
        "ancestors": "",
        "body": "",
        "version": "",
        "descendants": f"/rest/api/content/{page_id}/descendant",
        "space": f"/rest/api/space/{space_key}",
    }


def content_v1_json(
    sandbox: ConfluenceSandbox, page: DemoPage, expand: Expand, *, top: bool = False
) -> dict[str, Any]:
    """A page as v1's content object, with the parts ``expand`` names expanded."""
    space = sandbox.site.space(page.space_id)
    key = space.key if space else ""
    document: dict[str, Any] = {
        "id": page.id,
        "type": "page",
        "status": page.status,
        "title": page.title,
    }
    expandable = content_expandable(key, page.id)
    if space is not None and expand.has("space"):
        document["space"] = space_v1_json(sandbox, space, expand.below("space"))
    if space is not None and expand.has("container"):
        document["container"] = space_v1_json(sandbox, space, expand.below("container"))
    if expand.has("history"):
        document["history"] = history_v1_json(
            sandbox, page, last_updated=expand.has("history.lastUpdated")
        )
    if expand.has("version"):
        document["version"] = _version_json(sandbox, page)
    if expand.has("ancestors"):
        # v1 lists ancestors from the space's root down to the parent.
        document["ancestors"] = [
            content_v1_json(sandbox, above, Expand(()))
            for above_id in reversed(sandbox.site.ancestors(page))
            if (above := sandbox.site.page(above_id)) is not None
        ]
    if expand.has("children"):
        document["children"] = _children_json(sandbox, page, expand.below("children"))
    if expand.has("body"):
        document["body"] = _body_json(sandbox, page, expand.below("body"))
    if expand.has("extensions"):
        document["extensions"] = {"position": page.position}
    document["macroRenderedOutput"] = {}
    document["_expandable"] = {k: v for k, v in expandable.items() if k not in document}
    links = {
        "webui": f"/spaces/{key}/pages/{page.id}/{quote_plus(page.title)}",
        "editui": f"/pages/resumedraft.action?draftId={page.id}",
        "tinyui": f"/x/{tiny(page.id)}",
        "self": f"{sandbox.base}/rest/api/content/{page.id}",
    }
    if top:
        links |= {"base": sandbox.base, "context": "/wiki", "collection": "/rest/api/content"}
    document["_links"] = links
    return document


def _children_json(sandbox: ConfluenceSandbox, page: DemoPage, expand: Expand) -> dict[str, Any]:
    children: dict[str, Any] = {}
    if expand.has("page"):
        kids = sandbox.site.children(page.id)
        chunk = kids[:DEFAULT_LIMIT]
        children["page"] = {
            "results": [content_v1_json(sandbox, kid, expand.below("page")) for kid in chunk],
            "start": 0,
            "limit": DEFAULT_LIMIT,
            "size": len(chunk),
            "_links": {"self": f"{sandbox.base}/rest/api/content/{page.id}/child/page"},
        }
    children["_expandable"] = {
        kind: f"/rest/api/content/{page.id}/child/{kind}"
        for kind in ("attachment", "comment", "page")
        if kind not in children
    }
    children["_links"] = {"self": f"{sandbox.base}/rest/api/content/{page.id}/child"}
    return children


def space_v1_json(
    sandbox: ConfluenceSandbox, space: DemoSpace, expand: Expand, *, top: bool = False
) -> dict[str, Any]:
    """A space as v1 shows it (``description.plain|view`` and ``homepage`` expand)."""
    document: dict[str, Any] = {
        "id": int(space.id),
        "key": space.key,
        "alias": space.key,
        "name": space.name,
        "type": space.type,
        "status": space.status,
    }
    if expand.has("description"):
        described: dict[str, Any] = {}
        if expand.has("description.plain"):
            described["plain"] = {
                "value": space.description,
                "representation": "plain",
                "embeddedContent": [],
            }
        if expand.has("description.view"):
            described["view"] = {
                "value": f"<p>{html.escape(space.description)}</p>",
                "representation": "view",
                "embeddedContent": [],
            }
        described["_expandable"] = {form: "" for form in ("view", "plain") if form not in described}
        document["description"] = described
    homepage = sandbox.site.page(space.homepage_id) if space.homepage_id else None
    if homepage is not None and expand.has("homepage"):
        document["homepage"] = content_v1_json(sandbox, homepage, expand.below("homepage"))
    if expand.has("history"):
        document["history"] = {
            "createdDate": iso(space.created_at),
            "createdBy": user_v1_json(sandbox, space.author_id),
        }
    expandable = {part: "" for part in _SPACE_PARTS if part not in document}
    if "homepage" in expandable and homepage is not None:
        expandable["homepage"] = f"/rest/api/content/{homepage.id}"
    document["_expandable"] = expandable
    links = {
        "webui": f"/spaces/{space.key}",
        "self": f"{sandbox.base}/rest/api/space/{space.key}",
    }
    if top:
        links |= {"base": sandbox.base, "context": "/wiki", "collection": "/rest/api/space"}
    document["_links"] = links
    return document
