"""v2's paging: keyset pages of a sorted listing, and the listing envelope.

Every page but the last carries the next one's opaque, signed cursor in
``_links.next`` *and* in ``Link: <...>; rel="next", <base>; rel="base"``; the link is
relative to the site origin and starts with ``/wiki``, with the cursor as its first
parameter, as Atlassian's are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from dataworkflows.sandboxes.confluence.wire import Answer, Call

if TYPE_CHECKING:
    from dataworkflows.sandboxes.confluence.app import ConfluenceSandbox

__all__ = ["keyset", "listing"]


def keyset(
    sandbox: ConfluenceSandbox,
    items: list[Any],
    *,
    key: Callable[[Any], Any],
    descending: bool,
    limit: int,
    cursor: str | None,
    scope: str,
) -> tuple[list[Any], str | None]:
    """One page of ``items`` in order, after the cursor's position; and the next cursor."""

    def position(item: Any) -> tuple[Any, int]:
        return key(item), int(item.id)

    ordered = sorted(items, key=position, reverse=descending)
    start = 0
    if cursor is not None:
        payload = sandbox.decode_cursor(cursor, scope)
        after = (payload["k"], payload["i"])
        start = next(
            (
                n
                for n, item in enumerate(ordered)
                if (position(item) < after if descending else position(item) > after)
            ),
            len(ordered),
        )
    chunk = ordered[start : start + limit]
    if not chunk or start + limit >= len(ordered):
        return chunk, None
    last_key, last_id = position(chunk[-1])
    return chunk, sandbox.encode_cursor({"scope": scope, "k": last_key, "i": last_id})


def listing(
    sandbox: ConfluenceSandbox,
    call: Call,
    results: list[dict[str, Any]],
    cursor: str | None,
    limit: int,
) -> Answer:
    links: dict[str, str] = {}
    headers: dict[str, str] = {}
    if cursor is not None:
        kept = [(k, v) for k, v in call.params if k not in ("cursor", "limit")]
        kept.append(("limit", str(limit)))
        rest = "&".join(f"{quote(k, safe='-')}={quote(v, safe=',')}" for k, v in kept)
        # As Atlassian does: origin-relative with /wiki, the cursor first and unescaped.
        next_link = f"/wiki{call.path}?cursor={cursor}&{rest}"
        links["next"] = next_link
        headers["Link"] = f'<{next_link}>; rel="next", <{sandbox.base}>; rel="base"'
    links["base"] = sandbox.base
    return Answer(200, {"results": results, "_links": links}, headers)
