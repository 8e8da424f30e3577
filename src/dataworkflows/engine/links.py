"""The ``links`` connector: workflows record and read which records correspond.

Built into the engine (it reads and writes the engine's database), so it always runs
in-process. ``links.put`` links a record of one system to its counterpart in
another; ``links.get`` answers a record's links, or its counterpart in one system.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from dataworkflows.contracts import ActionFailed
from dataworkflows.engine.store import EngineStore, EntityLink
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.database import DatabaseUnavailable

__all__ = ["links_actions"]

System = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*$", description="monday, tasktracker, ...")
]
RecordId = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class PutLinkInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Two records that correspond, and anything worth keeping with the link."""

    system: System
    id: RecordId
    other_system: System
    other_id: RecordId
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class LinkOutput(msgspec.Struct, kw_only=True):
    """The link as stored."""

    link: EntityLink


class GetLinksInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Whose links; with ``other_system``, only the counterpart there."""

    system: System
    id: RecordId
    other_system: System | None = None


class LinksOutput(msgspec.Struct, kw_only=True):
    """A record's links, and its counterpart in ``other_system`` (None when unlinked)."""

    links: list[EntityLink]
    other_id: str | None


def links_actions(store: EngineStore) -> ActionSet:
    """The ``links`` actions over the engine's store."""
    links = ActionSet("links", description="Which record in one system is which in another.")

    @links.action(
        "put",
        effect="write",
        description="Link a record to its counterpart in another system (a record has at "
        "most one counterpart per system: a new one replaces the old).",
    )
    async def put(data: PutLinkInput, call: ActionCall) -> LinkOutput:
        if data.system == data.other_system:
            raise ActionFailed.of("invalid_input", "system and other_system must differ")
        run_id = call.run_uuid
        try:
            link = await store.put_entity_link(
                system=data.system,
                id=data.id,
                other_system=data.other_system,
                other_id=data.other_id,
                data=data.data,
                run_id=run_id,
            )
        except DatabaseUnavailable:
            raise ActionFailed.of("upstream_unavailable", "the database is not reachable") from None
        return LinkOutput(link=link)

    @links.action("get", effect="read", description="A record's links (optionally in one system).")
    async def get(data: GetLinksInput, call: ActionCall) -> LinksOutput:
        try:
            found = await store.get_entity_links(system=data.system, id=data.id)
        except DatabaseUnavailable:
            raise ActionFailed.of("upstream_unavailable", "the database is not reachable") from None
        if data.other_system is not None:
            found = [link for link in found if link.other_system == data.other_system]
        return LinksOutput(links=found, other_id=found[0].other_id if found else None)

    return links
