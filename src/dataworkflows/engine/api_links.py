"""``/v1/links``: which record in one system is which in another."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from dataworkflows.engine.api_bodies import LinkList
from dataworkflows.engine.service import WorkflowService

__all__ = ["LinkController"]


class LinkController(Controller):
    """Which record in one system corresponds to which in another."""

    path = "/links"
    tags = ("links",)

    @get(
        "/",
        summary="A record's links",
        description="Links recorded by workflows (for example a Monday item and the tracker "
        "task made from it), from the given record's side.",
    )
    async def links(
        self,
        service: NamedDependency[WorkflowService],
        system: Annotated[
            str,
            QueryParameter(
                pattern=r"^[a-z][a-z0-9_]*$", description="monday, tasktracker, confluence..."
            ),
        ],
        id: Annotated[
            str,
            # No control characters: an id with a NUL cannot have been stored.
            QueryParameter(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f]+$"),
        ],
    ) -> LinkList:
        return LinkList(links=await service.store.get_entity_links(system=system, id=id))
