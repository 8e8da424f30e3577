"""Updates (monday's comments on items) and their replies, as the sandbox stores them.

The seeded workspace has none: updates only come from ``create_update``, live in the
:class:`UpdateLog` of the :class:`~.demo_data.DemoWorkspace` (so a reset forgets them)
and are listed newest first, as monday lists them. A reply is an update with a
``parent_id``; it shows in its parent's ``replies``, never in the lists themselves.
``text_body`` is the body without its HTML tags (entities decoded), as monday answers it.
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from dataworkflows.sandboxes.monday.cells import ResourceNotFound

__all__ = ["DemoUpdate", "UpdateLog", "plain_text"]

_FIRST_UPDATE_ID: Final = 3_400_000_000
_TAG: Final = re.compile(r"<[^>]*>")


def plain_text(body: str) -> str:
    """``body`` without HTML tags, entities decoded (monday's ``text_body``)."""
    return html.unescape(_TAG.sub("", body)).strip()


@dataclass(slots=True)
class DemoUpdate:
    """An update on an item, or (``parent_id`` set) a reply to one."""

    id: str
    body: str
    item_id: str
    board_id: str
    creator_id: str
    created_at: datetime
    updated_at: datetime
    parent_id: str | None = None
    replies: list[DemoUpdate] = field(default_factory=list)
    kind: str = "text"

    @property
    def text_body(self) -> str:
        """The body as plain text."""
        return plain_text(self.body)


class UpdateLog:
    """The account's updates: created, deleted and listed newest first."""

    def __init__(self, seed: int) -> None:
        # Update ids keep monday's irregular gaps, from the seed for repeatability.
        self._gaps = random.Random(seed ^ 0x0DA7E)  # noqa: S311  (demo ids, not secrets)
        self._next_id = _FIRST_UPDATE_ID + self._gaps.randint(0, 99_999)
        self._threads: list[DemoUpdate] = []
        self._by_id: dict[str, DemoUpdate] = {}

    def get(self, update_id: str) -> DemoUpdate | None:
        """The update or reply ``update_id``, or None."""
        return self._by_id.get(update_id)

    def add(
        self,
        *,
        body: str,
        item_id: str,
        board_id: str,
        creator_id: str,
        now: datetime,
        parent_id: str | None = None,
    ) -> DemoUpdate:
        """Store an update on ``item_id`` (a reply when ``parent_id``) and return it.

        A reply belongs to its parent's item, whatever ``item_id`` says; the parent must
        be an update, not a reply, else :class:`ResourceNotFound`.
        """
        parent = None
        if parent_id is not None:
            parent = self._by_id.get(parent_id)
            if parent is None or parent.parent_id is not None:
                raise ResourceNotFound("update", parent_id)
            item_id, board_id = parent.item_id, parent.board_id
        self._next_id += self._gaps.randint(1, 97)
        stamp = now.replace(microsecond=0)
        update = DemoUpdate(
            id=str(self._next_id),
            body=body,
            item_id=item_id,
            board_id=board_id,
            creator_id=creator_id,
            created_at=stamp,
            updated_at=stamp,
            parent_id=parent_id,
        )
        if parent is None:
            self._threads.append(update)
        else:
            parent.replies.append(update)
        self._by_id[update.id] = update
        return update

    def delete(self, update_id: str) -> DemoUpdate:
        """Remove an update (with its replies) or a reply; :class:`ResourceNotFound` if none."""
        update = self._by_id.pop(update_id, None)
        if update is None:
            raise ResourceNotFound("update", update_id)
        if update.parent_id is None:
            self._threads.remove(update)
            for reply in update.replies:
                self._by_id.pop(reply.id, None)
        else:
            parent = self._by_id.get(update.parent_id)
            if parent is not None:
                parent.replies.remove(update)
        return update

    def listed(
        self,
        *,
        item_id: str | None = None,
        board_id: str | None = None,
        ids: Collection[str] | None = None,
    ) -> list[DemoUpdate]:
        """Updates (not replies), newest first, narrowed to an item, a board or ids."""
        found = [
            u
            for u in self._threads
            if (item_id is None or u.item_id == item_id)
            and (board_id is None or u.board_id == board_id)
            and (ids is None or u.id in ids)
        ]
        found.sort(key=lambda u: (u.created_at, int(u.id)), reverse=True)
        return found
