"""v1's search: ``GET /rest/api/search?cql=...`` over the subset of CQL in :mod:`.cql`.

Paged with ``start``/``limit``/``cursor``; ``excerpt`` (``highlight`` marks matches
with ``@@@hl@@@``) and ``expand=content.space`` shape the results; ``_links.next`` is
relative to ``_links.base`` (``/rest/api/search?next=true&cursor=...``), unlike v2's.
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, quote_plus

from dataworkflows.sandboxes.confluence import cql
from dataworkflows.sandboxes.confluence.demo_data import DemoPage, Refused, storage_text
from dataworkflows.sandboxes.confluence.documents_v1 import content_expandable
from dataworkflows.sandboxes.confluence.wire import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Answer,
    Call,
    Params,
    iso,
    query_string,
    tiny,
)

if TYPE_CHECKING:
    from dataworkflows.sandboxes.confluence.app import ConfluenceSandbox

__all__ = ["search"]

_EXCERPTS: Final = frozenset(
    {"highlight", "indexed", "none", "highlight_unescaped", "indexed_unescaped"}
)
_WORD_RE: Final = re.compile(r"\w+")


def _indexed(sandbox: ConfluenceSandbox, page: DemoPage) -> cql.Indexed:
    space = sandbox.site.space(page.space_id)
    return cql.Indexed(
        id=page.id,
        type="page",
        space_key=space.key if space else "",
        space_title=space.name if space else "",
        title=page.title,
        text=storage_text(page.body),
        created=page.created_at,
        modified=page.modified_at,
        ancestors=tuple(sandbox.site.ancestors(page)),
        parent=page.parent_id,
        creator=page.author_id,
        contributors=frozenset({page.author_id, page.version_author_id}),
    )


def search(sandbox: ConfluenceSandbox, call: Call, _: str) -> Answer:
    started = time.perf_counter()
    params = Params(call.params)
    query_text = params.get("cql")
    if not query_text:
        raise Refused(400, "BAD_REQUEST", "CQL query parameter is required")
    # v1 clamps a limit it does not like instead of refusing it.
    limit = max(1, min(params.integer("limit", DEFAULT_LIMIT, -(10**9), 10**9), MAX_LIMIT))
    start = params.integer("start", 0, 0, 10**9)
    cursor = params.get("cursor")
    scope = "search:" + hashlib.sha256(query_text.encode()).hexdigest()[:16]
    if cursor:
        start = int(sandbox.decode_cursor(cursor, scope)["k"])
    excerpt = params.choice("excerpt", _EXCERPTS) or "highlight"
    expand = set(params.values("expand"))
    now = sandbox.now()
    try:
        query = cql.parse(query_text)
        documents = [
            (page, _indexed(sandbox, page))
            for page in sandbox.site.pages.values()
            if page.status == "current"
        ]
        hits = [
            (page, doc)
            for page, doc in documents
            if cql.matches(query.where, doc, now=now, current_user=call.account.account_id)
        ]
    except cql.CqlError as exc:
        raise Refused(400, "BAD_REQUEST", f"Could not parse cql : {query_text}", str(exc)) from None
    terms = cql.search_terms(query.where)
    if query.order:
        for name, descending in reversed(query.order):
            hits.sort(key=_ordered_by(name), reverse=descending)
    else:
        hits.sort(
            key=lambda hit: (cql.relevance(hit[1], terms), hit[1].modified, int(hit[1].id)),
            reverse=True,
        )
    chunk = hits[start : start + limit]
    results = [
        _search_result(
            sandbox, page, doc, terms, excerpt=excerpt, with_space="content.space" in expand
        )
        for page, doc in chunk
    ]
    links: dict[str, str] = {
        "base": sandbox.base,
        "context": "/wiki",
        "self": f"{sandbox.base}/rest/api/search?{query_string(call.params)}",
    }
    if start + limit < len(hits):
        links["next"] = _search_link(
            sandbox, "next", query_text, start=start + limit, limit=limit, scope=scope
        )
    if start > 0:
        links["prev"] = _search_link(
            sandbox, "prev", query_text, start=max(0, start - limit), limit=limit, scope=scope
        )
    return Answer(
        200,
        {
            "results": results,
            "start": start,
            "limit": limit,
            "size": len(results),
            "totalSize": len(hits),
            "cqlQuery": query_text,
            "searchDuration": max(1, round((time.perf_counter() - started) * 1000)),
            "_links": links,
        },
    )


def _search_link(
    sandbox: ConfluenceSandbox,
    direction: str,
    query_text: str,
    *,
    start: int,
    limit: int,
    scope: str,
) -> str:
    cursor = sandbox.encode_cursor({"scope": scope, "k": start, "i": 0})
    encoded = quote(query_text, safe="")
    # Relative to _links.base (which ends in /wiki): v1's rule, unlike v2's.
    return (
        f"/rest/api/search?{direction}=true&cursor={cursor}&limit={limit}"
        f"&start={start}&cql={encoded}"
    )


def _search_result(
    sandbox: ConfluenceSandbox,
    page: DemoPage,
    doc: cql.Indexed,
    terms: list[str],
    *,
    excerpt: str,
    with_space: bool,
) -> dict[str, Any]:
    space = sandbox.site.space(page.space_id)
    key = space.key if space else ""
    webui = f"/spaces/{key}/pages/{page.id}/{quote_plus(page.title)}"
    content: dict[str, Any] = {
        "id": page.id,
        "type": "page",
        "status": page.status,
        "title": page.title,
        "childTypes": {},
        "macroRenderedOutput": {},
        "restrictions": {},
        "_expandable": content_expandable(key, page.id),
        "_links": {
            "webui": webui,
            "self": f"{sandbox.base}/rest/api/content/{page.id}",
            "tinyui": f"/x/{tiny(page.id)}",
        },
    }
    if with_space and space is not None:
        content["space"] = {
            "id": int(space.id),
            "key": space.key,
            "name": space.name,
            "type": space.type,
            "status": space.status,
            "_links": {
                "webui": f"/spaces/{space.key}",
                "self": f"{sandbox.base}/rest/api/space/{space.key}",
            },
        }
        del content["_expandable"]["space"]
    highlight = excerpt.startswith("highlight")
    escape = not excerpt.endswith("_unescaped")
    return {
        "content": content,
        "title": _marked(page.title, terms, escape=escape) if highlight else page.title,
        "excerpt": _excerpt(doc.text, terms, excerpt),
        "url": webui,
        "resultGlobalContainer": {
            "title": space.name if space else "",
            "displayUrl": f"/spaces/{key}",
        },
        "breadcrumbs": [],
        "entityType": "content",
        "iconCssClass": "aui-icon content-type-page",
        "lastModified": iso(page.modified_at),
        "friendlyLastModified": page.modified_at.strftime("%b %d, %Y"),
        "score": float(cql.relevance(doc, terms)),
    }


def _ordered_by(name: str) -> Callable[[tuple[DemoPage, cql.Indexed]], Any]:
    def key(hit: tuple[DemoPage, cql.Indexed]) -> Any:
        return cql.sort_key(hit[1], name)

    return key


def _marked(text: str, terms: list[str], *, escape: bool) -> str:
    """``text`` with searched words between ``@@@hl@@@`` and ``@@@endhl@@@``."""

    def escaped(part: str) -> str:
        return html.escape(part) if escape else part

    out: list[str] = []
    last = 0
    for match in _WORD_RE.finditer(text):
        out.append(escaped(text[last : match.start()]))
        word = match.group()
        if terms and any(word.lower().startswith(t) for t in terms):
            out.append(f"@@@hl@@@{escaped(word)}@@@endhl@@@")
        else:
            out.append(escaped(word))
        last = match.end()
    out.append(escaped(text[last:]))
    return "".join(out)


def _excerpt(text: str, terms: list[str], mode: str) -> str:
    if mode == "none":
        return ""
    at = 0
    if terms:
        for match in _WORD_RE.finditer(text):
            if any(match.group().lower().startswith(t) for t in terms):
                at = max(0, match.start() - 60)
                break
    snippet = text[at : at + 240]
    if at > 0:
        snippet = "..." + snippet.split(" ", 1)[-1]
    if at + 240 < len(text):
        snippet = snippet.rsplit(" ", 1)[0] + "..."
    escape = not mode.endswith("_unescaped")
    if mode.startswith("highlight"):
        return _marked(snippet, terms, escape=escape)
    return html.escape(snippet) if escape else snippet
