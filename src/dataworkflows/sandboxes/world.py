"""The demo world every sandbox draws from: the projects, the people and the day.

Three projects (:data:`PROJECTS`), seven people (:data:`DEMO_USERS`), each project's
sprint tickets (:func:`sprint_tickets`: the Monday board's items, the tickets Outlook's
mail and Slack's messages talk about) and an anchor instant that seeded timestamps are
offsets from (:data:`ANCHOR` in tests, :func:`demo_anchor` in a live demo). The
Monday, Slack, Confluence and Outlook sandboxes each render this world in their
vendor's shapes, so that a report gathered from all of them tells one story.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

__all__ = [
    "ANCHOR",
    "BIG_PROJECT",
    "DEMO_USERS",
    "PROJECTS",
    "PROJECT_NAMES",
    "TICKET_PREFIX",
    "TOPICS",
    "DemoUser",
    "Ticket",
    "as_utc",
    "demo_anchor",
    "sprint_tickets",
]

PROJECTS: Final = ("apollo", "borealis", "cygnus")
"""The projects every demo sandbox shares, by key."""

PROJECT_NAMES: Final[Mapping[str, str]] = {
    "apollo": "Apollo Website Relaunch",
    "borealis": "Borealis Mobile App",
    "cygnus": "Cygnus Data Platform",
}
"""Display name of each project."""

ANCHOR: Final = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
"""The default anchor: seeded timestamps are offsets from it (all seeded items predate it)."""


def demo_anchor(now: datetime | None = None) -> datetime:
    """The anchor of a live demo: 09:00 UTC on the UTC day of ``now`` (default: today).

    The Monday, Slack and Confluence sandbox data is seeded around it, and the Outlook
    sandbox's anchor date is the same UTC day, so a demo started any day looks current.
    """
    moment = datetime.now(UTC) if now is None else as_utc(now)
    return moment.replace(hour=9, minute=0, second=0, microsecond=0)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is refused (an anchor must say its zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the anchor must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A person in the demo account."""

    id: str
    name: str
    email: str


DEMO_USERS: Final = (
    DemoUser("61000001", "Maya Patel", "maya.patel@example.com"),
    DemoUser("61000002", "Jonas Berg", "jonas.berg@example.com"),
    DemoUser("61000003", "Aiko Tanaka", "aiko.tanaka@example.com"),
    DemoUser("61000004", "Luis Ortega", "luis.ortega@example.com"),
    DemoUser("61000005", "Grace Okafor", "grace.okafor@example.com"),
    DemoUser("61000006", "Tomasz Nowak", "tomasz.nowak@example.com"),
    DemoUser("61000007", "Elena Rossi", "elena.rossi@example.com"),
)
"""The demo account's users; the first is the API token's owner (``me``)."""

TICKET_PREFIX: Final[Mapping[str, str]] = {"apollo": "APO", "borealis": "BOR", "cygnus": "CYG"}
"""The prefix of each project's ticket keys (``APO-12``)."""

TOPICS: Final[Mapping[str, tuple[str, ...]]] = {
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
"""What each project works on: the topics of its tickets, pages and messages."""

BIG_PROJECT: Final = "cygnus"
"""The project whose sprint holds more than 500 tickets (so paging gets exercised)."""

Stage = Literal["backlog", "sprint", "review", "done"]
State = Literal["working", "done", "stuck", "not_started"]

_VERBS: Final = ("Design", "Build", "Review", "Test", "Fix", "Refine", "Document", "Ship")

# Which state a ticket in each stage usually has; None leaves it unset.
_STATE_BY_STAGE: Final[Mapping[Stage, tuple[State | None, ...]]] = {
    "backlog": ("not_started", "not_started", "not_started", None),
    "sprint": ("working", "working", "stuck", "not_started", None),
    "review": ("working", "stuck", "working"),
    "done": ("done", "done", "done", "done", None),
}


@dataclass(frozen=True, slots=True)
class Ticket:
    """One sprint ticket of a project: where it stands and what it is called."""

    key: str
    """``APO-12``."""
    title: str
    """``Build pricing page``."""
    stage: Stage
    state: State | None

    @property
    def name(self) -> str:
        """``APO-12: Build pricing page``, as the Monday board and the mail name it."""
        return f"{self.key}: {self.title}"


@functools.lru_cache(maxsize=32)  # a few seeds; /sandbox/reset may pick any
def sprint_tickets(seed: int, project: str) -> tuple[Ticket, ...]:
    """``project``'s sprint tickets for ``seed``: the same seed, the same tickets.

    20 to 60 of them (more than 500 for :data:`BIG_PROJECT`), numbered from 1.
    """
    rng = random.Random(f"{seed}:{project}")  # noqa: S311  (demo data, not secrets)
    count = rng.randint(20, 60) + (520 if project == BIG_PROJECT else 0)
    stages: tuple[Stage, ...] = ("backlog", "sprint", "review", "done")
    tickets = []
    for number in range(1, count + 1):
        stage = rng.choice(stages)
        tickets.append(
            Ticket(
                key=f"{TICKET_PREFIX[project]}-{number}",
                title=f"{rng.choice(_VERBS)} {rng.choice(TOPICS[project])}",
                stage=stage,
                state=rng.choice(_STATE_BY_STAGE[stage]),
            )
        )
    return tuple(tickets)
