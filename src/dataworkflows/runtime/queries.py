"""Named SQL blocks, loaded once from ``.sql`` files shipped inside the package.

The application never builds SQL from strings: every statement is a fixed call of a
stored function, written in a ``.sql`` file under a ``-- name --`` header and run with
bound parameters (``%(name)s``). Keeping them in SQL files keeps them greppable and
reviewable next to the migrations that define the functions they call.
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Final, LiteralString

__all__ = ["load_queries"]

_HEADER_RE: Final = re.compile(r"^--\s*([a-z0-9_]+)\s*--\s*$", re.MULTILINE)


def load_queries(package: str, filename: str) -> dict[str, LiteralString]:
    """The named blocks of ``filename`` in ``package``, by name.

    Raises ``ValueError`` when a name repeats or a block is empty, so a broken file
    fails the first import, not the first request that needs the query.
    """
    text = (files(package) / filename).read_text(encoding="utf-8")
    queries: dict[str, LiteralString] = {}
    headers = list(_HEADER_RE.finditer(text))
    for index, match in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        body = text[match.end() : end].strip()
        name = match.group(1)
        if not body:
            raise ValueError(f"{package}/{filename}: query {name!r} is empty")
        if name in queries:
            raise ValueError(f"{package}/{filename}: query {name!r} is defined twice")
        # Shipped with the package and never derived from input: a literal in all but name.
        queries[name] = body
    return queries
