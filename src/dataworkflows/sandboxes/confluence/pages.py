"""v2's pages: ``GET /pages``, ``POST /pages``, ``GET|PUT|DELETE /pages/{id}`` and
``GET /spaces/{id}/pages``, the page document they answer, and the conversions of a
page's body between storage XHTML, ADF, wiki text and the rendered view.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote_plus

from dataworkflows.sandboxes.confluence.demo_data import (
    DemoPage,
    Refused,
    storage_text,
    version_conflict_title,
)
from dataworkflows.sandboxes.confluence.paging import keyset, listing
from dataworkflows.sandboxes.confluence.spaces import require_space
from dataworkflows.sandboxes.confluence.wire import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Answer,
    Call,
    Params,
    found_by_id,
    id_member,
    invalid,
    iso,
    tiny,
)

if TYPE_CHECKING:
    from dataworkflows.sandboxes.confluence.app import ConfluenceSandbox

__all__ = [
    "create_page",
    "delete_page",
    "get_page",
    "json_body",
    "list_pages",
    "page_json",
    "space_pages",
    "storage_from",
    "update_page",
]

_PAGE_SORTS: Final = frozenset(
    {
        "id",
        "-id",
        "created-date",
        "-created-date",
        "modified-date",
        "-modified-date",
        "title",
        "-title",
    }
)
_PAGE_STATUSES: Final = frozenset({"current", "archived", "deleted", "trashed", "draft"})
# "none" is what Atlassian's own v2 client (atlassian-python-api 5.x) sends for listings
# and reads without a body: taken as no body, as when the parameter is left out.
_LIST_BODY_FORMATS: Final = frozenset({"storage", "atlas_doc_format", "none"})
_PAGE_BODY_FORMATS: Final = frozenset({"storage", "atlas_doc_format", "view", "none"})
_MACRO_RE: Final = re.compile(r"</?(?:ac|ri):[^>]*>")


def page_json(
    sandbox: ConfluenceSandbox, page: DemoPage, body_format: str | None, *, with_base: bool = False
) -> dict[str, Any]:
    space = sandbox.site.space(page.space_id)
    key = space.key if space else ""
    body: dict[str, Any] = {}
    if body_format == "storage":
        body = {"storage": {"representation": "storage", "value": page.body}}
    elif body_format == "atlas_doc_format":
        body = {
            "atlas_doc_format": {
                "representation": "atlas_doc_format",
                "value": json.dumps(_adf(page.body), separators=(",", ":")),
            }
        }
    elif body_format == "view":
        body = {"view": {"representation": "view", "value": _MACRO_RE.sub("", page.body)}}
    links = {
        "editui": f"/pages/resumedraft.action?draftId={page.id}",
        "webui": f"/spaces/{key}/pages/{page.id}/{quote_plus(page.title)}",
        "edituiv2": f"/spaces/{key}/pages/edit-v2/{page.id}",
        "tinyui": f"/x/{tiny(page.id)}",
    }
    if with_base:
        links["base"] = sandbox.base
    return {
        "parentType": "page" if page.parent_id else None,
        "parentId": page.parent_id,
        "spaceId": page.space_id,
        "ownerId": page.owner_id or page.author_id,
        "lastOwnerId": None,
        "createdAt": iso(page.created_at),
        "authorId": page.author_id,
        "position": page.position,
        "version": {
            "number": page.version,
            "message": page.version_message,
            "minorEdit": page.minor_edit,
            "authorId": page.version_author_id,
            "createdAt": iso(page.version_created_at),
        },
        "body": body,
        "status": page.status,
        "title": page.title,
        "id": page.id,
        "_links": links,
    }


def list_pages(sandbox: ConfluenceSandbox, call: Call, _: str) -> Answer:
    params = Params(call.params)
    space_ids = params.ids("space-id", 100)
    return _pages_listing(sandbox, call, params, space_ids=space_ids, depth_root=False)


def space_pages(sandbox: ConfluenceSandbox, call: Call, space_id: str) -> Answer:
    space = require_space(sandbox, space_id)
    params = Params(call.params)
    depth = params.choice("depth", frozenset({"all", "root"}))
    return _pages_listing(sandbox, call, params, space_ids=[space.id], depth_root=depth == "root")


def _pages_listing(
    sandbox: ConfluenceSandbox,
    call: Call,
    params: Params,
    *,
    space_ids: list[str],
    depth_root: bool,
) -> Answer:
    limit = params.integer("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    sort = params.choice("sort", _PAGE_SORTS)
    body_format = params.choice("body-format", _LIST_BODY_FORMATS)
    statuses = set(params.values("status")) or {"current", "archived"}
    if not statuses <= _PAGE_STATUSES:
        raise invalid(
            "status", f"is not valid. Valid values are: {', '.join(sorted(_PAGE_STATUSES))}."
        )
    ids = set(params.ids("id", 250))
    title = params.get("title")
    pages = [
        p
        for p in sandbox.site.pages.values()
        if p.status in statuses
        and (not space_ids or p.space_id in space_ids)
        and (not ids or p.id in ids)
        and (title is None or p.title == title)
        and (not depth_root or p.parent_id is None)
    ]
    order = sort or "id"
    key: Callable[[DemoPage], Any] = {
        "id": lambda p: int(p.id),
        "created-date": lambda p: iso(p.created_at),
        "modified-date": lambda p: iso(p.modified_at),
        "title": lambda p: p.title.casefold(),
    }[order.lstrip("-")]
    chunk, cursor = keyset(
        sandbox,
        pages,
        key=key,
        descending=order.startswith("-"),
        limit=limit,
        cursor=params.get("cursor"),
        scope=f"pages:{order}",
    )
    results = [page_json(sandbox, p, body_format) for p in chunk]
    return listing(sandbox, call, results, cursor, limit)


def _require_page(sandbox: ConfluenceSandbox, page_id: str) -> DemoPage:
    return found_by_id("Page", page_id, sandbox.site.page)


def get_page(sandbox: ConfluenceSandbox, call: Call, page_id: str) -> Answer:
    params = Params(call.params)
    body_format = params.choice("body-format", _PAGE_BODY_FORMATS)
    page = _require_page(sandbox, page_id)
    return Answer(200, page_json(sandbox, page, body_format, with_base=True))


def json_body(sandbox: ConfluenceSandbox, call: Call) -> dict[str, Any]:
    """A write's JSON object (413 over the size limit, 400 if not an object)."""
    if len(call.raw) > sandbox.max_body_bytes:
        raise Refused(
            413,
            "REQUEST_ENTITY_TOO_LARGE",
            "Request entity too large",
            f"The request body exceeds {sandbox.max_body_bytes} bytes",
        )
    try:
        document = json.loads(call.raw or b"null")
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise Refused(400, "INVALID_REQUEST_PARAMETER", "The request body must be a JSON object")
    return document


def create_page(sandbox: ConfluenceSandbox, call: Call, _: str) -> Answer:
    document = json_body(sandbox, call)
    params = Params(call.params)
    space_id = id_member(document, "spaceId", required=True)
    assert space_id is not None
    status = document.get("status", "current")
    if status not in ("current", "draft"):
        raise invalid("status", "is not valid. Valid values are: current, draft.")
    title = document.get("title")
    if not isinstance(title, str) and not (status == "draft" and title is None):
        raise Refused(400, "INVALID_REQUEST_PARAMETER", "A current page must have a title")
    page = sandbox.site.create_page(
        space_id=space_id,
        title=title or "",
        body=storage_from(document.get("body")),
        parent_id=id_member(document, "parentId", required=False),
        author_id=call.account.account_id,
        now=sandbox.now(),
        status=status,
        root_level=params.get("root-level") == "true",
    )
    return Answer(200, page_json(sandbox, page, "storage", with_base=True))


def update_page(sandbox: ConfluenceSandbox, call: Call, page_id: str) -> Answer:
    page = _require_page(sandbox, page_id)
    document = json_body(sandbox, call)
    if str(document.get("id", "")) != page_id:
        raise Refused(
            400, "INVALID_REQUEST_PARAMETER", "The id in the body must match the page's id"
        )
    status = document.get("status")
    if status not in ("current", "archived"):
        raise invalid("status", "is not valid. Valid values are: current, archived.")
    title = document.get("title")
    if not isinstance(title, str):
        raise Refused(400, "INVALID_REQUEST_PARAMETER", "title is required")
    if "body" not in document:
        raise Refused(400, "INVALID_REQUEST_PARAMETER", "body is required")
    version = document.get("version")
    number = version.get("number") if isinstance(version, dict) else None
    if not isinstance(number, int) or isinstance(number, bool):
        raise Refused(400, "INVALID_REQUEST_PARAMETER", "version.number is required")
    message = version.get("message") if isinstance(version, dict) else None
    if sandbox.take_fault("PUT", call.path, conflict=True) is not None:
        raise Refused(409, "CONFLICT", version_conflict_title(page.version, number))
    updated = sandbox.site.update_page(
        page_id,
        title=title,
        body=storage_from(document.get("body")),
        version=number,
        message=message if isinstance(message, str) else "",
        author_id=call.account.account_id,
        now=sandbox.now(),
        status=status,
        parent_id=id_member(document, "parentId", required=False),
        minor_edit=bool(isinstance(version, dict) and version.get("minorEdit")),
    )
    return Answer(200, page_json(sandbox, updated, "storage", with_base=True))


def delete_page(sandbox: ConfluenceSandbox, call: Call, page_id: str) -> Answer:
    _require_page(sandbox, page_id)
    sandbox.site.trash_page(page_id, purge=Params(call.params).get("purge") == "true")
    return Answer(204, None)


_NESTED_FORMS: Final = ("storage", "atlas_doc_format", "wiki")


def _flat_body(body: Any) -> Any:
    """The v2 API's two write forms as one: ``PageBodyWrite`` (``{"representation",
    "value"}``) as it is, and ``PageNestedBodyWrite`` (``{"storage": {"value", ...}}``,
    one representation as the key) flattened to it."""
    if not isinstance(body, dict) or "value" in body or len(body) != 1:
        return body
    [(form, inner)] = body.items()
    if form not in _NESTED_FORMS or not isinstance(inner, dict):
        return body
    if inner.get("representation", form) != form:
        raise invalid(f"body.{form}.representation", f"must be {form} under body.{form}.")
    return {**inner, "representation": form}


def storage_from(body: Any) -> str:
    """A write's body as storage XHTML (storage as is; ADF and wiki text as paragraphs),
    in either of the v2 API's write forms."""
    if body is None:
        return ""
    body = _flat_body(body)
    if not isinstance(body, dict) or not isinstance(body.get("value"), str):
        raise Refused(
            400, "INVALID_REQUEST_PARAMETER", 'body must be {"representation": ..., "value": ...}'
        )
    representation = body.get("representation")
    value: str = body["value"]
    if representation == "storage":
        return value
    if representation == "wiki":
        return "".join(f"<p>{html.escape(line)}</p>" for line in value.splitlines() if line)
    if representation == "atlas_doc_format":
        try:
            document = json.loads(value)
        except ValueError:
            raise Refused(
                400, "INVALID_REQUEST_PARAMETER", "The ADF body is not valid JSON"
            ) from None
        return "".join(f"<p>{html.escape(text)}</p>" for text in _adf_paragraphs(document))
    raise invalid(
        "body.representation", "is not valid. Valid values are: storage, atlas_doc_format, wiki."
    )


def _adf_paragraphs(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    if node.get("type") == "paragraph":
        return ["".join(_adf_text(node))]
    return [p for child in node.get("content") or [] for p in _adf_paragraphs(child)]


def _adf_text(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    if node.get("type") == "text" and isinstance(node.get("text"), str):
        return [node["text"]]
    return [t for child in node.get("content") or [] for t in _adf_text(child)]


def _adf(body: str) -> dict[str, Any]:
    """A minimal Atlassian Document Format rendering of a storage body (its words)."""
    text = storage_text(body)
    paragraph: dict[str, Any] = {"type": "paragraph", "content": []}
    if text:
        paragraph["content"] = [{"type": "text", "text": text}]
    return {"type": "doc", "version": 1, "content": [paragraph]}
