"""The demo world every sandbox draws from: the projects, the people and the day.

Three projects (:data:`PROJECTS`), seven people (:data:`DEMO_USERS`) and an anchor
instant that seeded timestamps are offsets from (:data:`ANCHOR` in tests,
:func:`demo_anchor` in a live demo). The Monday, Slack, Confluence and Outlook sandboxes
each render this world in their vendor's shapes, so that a report gathered from all of
them tells one story.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

__all__ = ["ANCHOR", "DEMO_USERS", "PROJECTS", "PROJECT_NAMES", "DemoUser", "as_utc", "demo_anchor"]

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
