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
    BIG_BOARD_ID,
    DEMO_PROJECTS,
    DemoBoard,
    DemoGroup,
    DemoItem,
    DemoWorkspace,
)
from dataworkflows.sandboxes.world import DEMO_USERS

__all__ = ["build_workspace"]

_VERBS: Final = ("Design", "Build", "Review", "Test", "Fix", "Refine", "Document", "Ship")

_TOPICS: Final[Mapping[str, tuple[str, ...]]] = {
    "apollo": (
        "homepage hero",
        "pricing page",
        "navigation menu",
        "blog templates",
        "SEO metadata",
        "accessibility audit",
        "contact form",
        "image CDN",
        "cookie banner",
        "site search",
        "analytics tags",
        "404 page",
        "case studies",
        "style guide",
    ),
    "borealis": (
        "login screen",
        "push notifications",
        "offline sync",
        "onboarding flow",
        "settings screen",
        "dark mode",
        "crash reporting",
        "app store listing",
        "deep links",
        "biometric unlock",
        "in-app purchases",
        "profile editor",
        "release pipeline",
    ),
    "cygnus": (
        "orders ingestion",
        "customer dimension",
        "events stream",
        "dbt models",
        "warehouse costs",
        "data quality checks",
        "schema registry",
        "backfill job",
        "lineage graph",
        "table partitioning",
        "CDC connector",
        "metrics layer",
        "access policies",
        "retention rules",
        "Airflow DAGs",
    ),
}

_TICKET_PREFIX: Final[Mapping[str, str]] = {"apollo": "APO", "borealis": "BOR", "cygnus": "CYG"}

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

# Which status an item in each group usually has; None leaves the status empty.
_STATUS_BY_GROUP: Final[Mapping[str, tuple[int | None, ...]]] = {
    "topics": (5, 5, 5, None),
    "group_sprint": (0, 0, 2, 5, None),
    "group_quarter": (0, 0, 2, 5, None),
    "group_next_quarter": (5, 5, None),
    "group_review": (0, 2, 0),
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

    def item(self, board: DemoBoard, name: str, *, roadmap: bool) -> DemoItem:
        rng = self.rng
        self.next_id += rng.randint(1, 97)
        self.clock += timedelta(minutes=rng.randint(5, 240))
        created = min(self.clock, self.anchor - timedelta(minutes=1))
        updated = min(created + timedelta(hours=rng.randint(0, 480)), self.anchor)
        group = rng.choice(board.groups)
        item = DemoItem(
            id=str(self.next_id),
            name=name,
            board_id=board.id,
            group_id=group.id,
            created_at=created,
            updated_at=updated,
        )
        status = rng.choice(_STATUS_BY_GROUP[group.id])
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
        topics = _TOPICS[project.key]
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
            roadmap.items.append(seeder.item(roadmap, name, roadmap=True))
        count = 520 + rng.randint(20, 60) if sprint.id == BIG_BOARD_ID else rng.randint(20, 60)
        prefix = _TICKET_PREFIX[project.key]
        for number in range(1, count + 1):
            name = f"{prefix}-{number}: {rng.choice(_VERBS)} {rng.choice(topics)}"
            sprint.items.append(seeder.item(sprint, name, roadmap=False))
        boards += [roadmap, sprint]
    return DemoWorkspace(
        projects=DEMO_PROJECTS,
        boards=boards,
        users=DEMO_USERS,
        next_item_id=seeder.next_id,
        seed=seed,
        anchor=anchor,
    )
