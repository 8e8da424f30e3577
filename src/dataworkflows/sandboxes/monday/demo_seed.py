"""The seeding of the demo workspace: boards, groups, columns and items from a seed.

Everything follows from ``random.Random(seed)``; dates are offsets from the anchor.
:meth:`.demo_data.DemoWorkspace.seeded` calls :func:`build_workspace`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from dataworkflows.sandboxes.monday.cells import (
    STATUS_LABELS,
    DateCell,
    DemoColumn,
    LongTextCell,
    MirrorCell,
    NumbersCell,
    PeopleCell,
    StatusCell,
    TextCell,
)
from dataworkflows.sandboxes.monday.demo_data import (
    DEMO_PROJECTS,
    DemoBoard,
    DemoGroup,
    DemoItem,
    DemoWorkspace,
)
from dataworkflows.sandboxes.world import DEMO_USERS, TOPICS, Ticket, sprint_tickets

__all__ = ["build_workspace"]

# The sprint board shows the world's tickets: its groups are their stages, its status
# labels their states.
_GROUP_OF_STAGE: Final[Mapping[str, str]] = {
    "backlog": "topics",
    "sprint": "group_sprint",
    "review": "group_review",
    "done": "group_done",
}
_STATUS_OF_STATE: Final[Mapping[str, int]] = {
    "working": 0,  # Working on it
    "done": 1,
    "stuck": 2,
    "not_started": 5,
}

_NOTES: Final = (
    "Blocked on design sign-off",
    "Needs QA on staging",
    "See the thread in #eng",
    "Pairing with the data team",
    "Waiting for the vendor's reply",
    "Scope agreed in planning",
    "Follow-up from the retro",
)

_DETAILS: Final = (
    "Acceptance criteria:\n- works on staging\n- documented in the runbook",
    "Context: raised by customer support after the last release.",
    "Split from a larger ticket; see the linked design doc.",
)

_MIRROR_VALUES: Final = ("Done", "Working on it", "Done, Stuck", "Working on it, Done, Done", "")

_SPRINT_GROUPS: Final = (
    DemoGroup("topics", "Backlog", "#c4c4c4", "65536"),
    DemoGroup("group_sprint", "This Sprint", "#579bfc", "131072"),
    DemoGroup("group_review", "Review", "#fdab3d", "196608"),
    DemoGroup("group_done", "Done", "#00c875", "262144"),
)

_ROADMAP_GROUPS: Final = (
    DemoGroup("topics", "Backlog", "#c4c4c4", "65536"),
    DemoGroup("group_quarter", "This Quarter", "#579bfc", "131072"),
    DemoGroup("group_next_quarter", "Next Quarter", "#a25ddc", "196608"),
    DemoGroup("group_done", "Done", "#00c875", "262144"),
)

# Which status a roadmap item in each group usually has; None leaves the status empty.
_STATUS_BY_GROUP: Final[Mapping[str, tuple[int | None, ...]]] = {
    "topics": (5, 5, 5, None),
    "group_quarter": (0, 0, 2, 5, None),
    "group_next_quarter": (5, 5, None),
    "group_done": (1, 1, 1, 1, None),
}


def _columns(*, roadmap: bool) -> list[DemoColumn]:
    columns = [
        DemoColumn("status", "Status", "status", dict(STATUS_LABELS)),
        DemoColumn("date4", "Due date", "date"),
        DemoColumn("person", "Owner", "people"),
        DemoColumn("text", "Notes", "text"),
        DemoColumn("numbers", "Estimate (h)", "numbers"),
        DemoColumn("long_text", "Details", "long_text"),
    ]
    if roadmap:
        columns.append(DemoColumn("mirror", "Sprint status", "mirror"))
    return columns


class _Seeder:
    """Draws item contents from one ``random.Random`` in a fixed order."""

    def __init__(self, seed: int, anchor: datetime) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
        self.anchor = anchor
        self.next_id = 1_900_000_000 + self.rng.randint(0, 99_999)
        self.clock = anchor - timedelta(days=150)

    def item(self, board: DemoBoard, name: str, *, ticket: Ticket | None = None) -> DemoItem:
        """An item named ``name``: the world's ``ticket`` on a sprint board, else a
        roadmap deliverable (with a mirror of its sprint status)."""
        rng = self.rng
        roadmap = ticket is None
        self.next_id += rng.randint(1, 97)
        self.clock += timedelta(minutes=rng.randint(5, 240))
        created = min(self.clock, self.anchor - timedelta(minutes=1))
        updated = min(created + timedelta(hours=rng.randint(0, 480)), self.anchor)
        if ticket is None:
            group_id = rng.choice(board.groups).id
            status = rng.choice(_STATUS_BY_GROUP[group_id])
        else:
            group_id = _GROUP_OF_STAGE[ticket.stage]
            status = None if ticket.state is None else _STATUS_OF_STATE[ticket.state]
        item = DemoItem(
            id=str(self.next_id),
            name=name,
            board_id=board.id,
            group_id=group_id,
            created_at=created,
            updated_at=updated,
        )
        if status is not None:
            item.cells["status"] = StatusCell(status)
        if rng.random() < 0.8:
            due = (self.anchor + timedelta(days=rng.randint(-40, 60))).date().isoformat()
            time = f"{rng.randint(8, 17):02d}:{rng.choice((0, 30)):02d}:00"
            item.cells["date4"] = DateCell(due, time if rng.random() < 0.2 else None)
        if rng.random() < 0.85:
            owners = rng.sample(DEMO_USERS, k=rng.choice((1, 1, 1, 2)))
            item.cells["person"] = PeopleCell(tuple(int(u.id) for u in owners))
        if rng.random() < 0.4:
            item.cells["text"] = TextCell(rng.choice(_NOTES))
        if rng.random() < 0.75:
            item.cells["numbers"] = NumbersCell(rng.choice(("0.5", "1", "2", "3", "5", "8", "13")))
        if rng.random() < 0.3:
            item.cells["long_text"] = LongTextCell(rng.choice(_DETAILS))
        if roadmap:
            display = rng.choice(_MIRROR_VALUES)
            if display:
                item.cells["mirror"] = MirrorCell(display)
        return item


def build_workspace(seed: int, anchor: datetime) -> DemoWorkspace:
    seeder = _Seeder(seed, anchor)
    rng = seeder.rng
    boards: list[DemoBoard] = []
    for project in DEMO_PROJECTS:
        topics = TOPICS[project.key]
        roadmap = DemoBoard(
            id=project.roadmap_board_id,
            name=f"{project.name} — Roadmap",
            description=f"Milestones of {project.name}, one item per deliverable.",
            workspace_id=project.workspace_id,
            project=project.key,
            columns=_columns(roadmap=True),
            groups=list(_ROADMAP_GROUPS),
        )
        sprint = DemoBoard(
            id=project.sprint_board_id,
            name=f"{project.name} — Sprint Tasks",
            description=f"Day-to-day tasks of {project.name}.",
            workspace_id=project.workspace_id,
            project=project.key,
            columns=_columns(roadmap=False),
            groups=list(_SPRINT_GROUPS),
        )
        for _ in range(rng.randint(20, 60)):
            phase = rng.choice(("discovery", "beta", "GA", "v2"))
            name = f"{rng.choice(topics).capitalize()} ({phase})"
            roadmap.items.append(seeder.item(roadmap, name))
        for ticket in sprint_tickets(seed, project.key):
            sprint.items.append(seeder.item(sprint, ticket.name, ticket=ticket))
        boards += [roadmap, sprint]
    return DemoWorkspace(
        projects=DEMO_PROJECTS,
        boards=boards,
        users=DEMO_USERS,
        next_item_id=seeder.next_id,
        seed=seed,
        anchor=anchor,
    )
