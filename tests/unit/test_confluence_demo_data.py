"""The seeded Confluence demo site: it matches the Monday demo workspace and is deterministic."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from dataworkflows.sandboxes.confluence.app import ConfluenceSandbox
from dataworkflows.sandboxes.confluence.demo_data import (
    DEMO_ACCOUNTS,
    SPACE_KEYS,
    DemoSite,
    Refused,
)
from dataworkflows.sandboxes.monday.demo_data import DemoWorkspace
from dataworkflows.sandboxes.world import ANCHOR, DEMO_USERS, PROJECT_NAMES, PROJECTS

LATER = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
"""Another anchor: a Monday, 120 whole days after ANCHOR."""

_NAMESPACES = 'xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource"'


@pytest.fixture(scope="module")
def site() -> DemoSite:
    return DemoSite.seeded(7)


def test_a_space_per_monday_project(site: DemoSite) -> None:
    """Each Monday demo project has its space, named like the project, with its homepage."""
    monday = DemoWorkspace.seeded(7)
    assert [s.project for s in site.spaces] == list(PROJECTS)
    for space in site.spaces:
        assert space.key == SPACE_KEYS[space.project]
        assert space.name == PROJECT_NAMES[space.project] == monday.project(space.project).name
        home = site.page(space.homepage_id)
        assert home is not None
        assert home.parent_id is None
        assert home.title == "Project overview"
        assert f"{space.name} — Sprint Tasks" in home.body


def test_the_people_are_the_monday_users(site: DemoSite) -> None:
    """Accounts have the Monday users' names and e-mails; every author and mention is one of them."""
    assert [(a.display_name, a.email, a.monday_user_id) for a in DEMO_ACCOUNTS] == [
        (u.name, u.email, u.id) for u in DEMO_USERS
    ]
    known = {a.account_id for a in DEMO_ACCOUNTS}
    for page in site.pages.values():
        assert {page.author_id, page.version_author_id} <= known
        assert set(re.findall(r'ri:account-id="([^"]+)"', page.body)) <= known


def test_each_space_has_the_page_tree(site: DemoSite) -> None:
    """Overview, meeting notes, decisions, runbooks and status reports, with children under each."""
    for space in site.spaces:
        pages = [p for p in site.pages.values() if p.space_id == space.id]
        sections = {p.title: p for p in pages if p.parent_id == space.homepage_id}
        assert {
            "Meeting notes",
            "Decisions",
            "Runbooks",
            "Status reports",
            "Team and contacts",
        } <= set(sections)
        for section in ("Meeting notes", "Decisions", "Runbooks", "Status reports"):
            assert len(site.children(sections[section].id)) >= 3
        assert len({p.title.casefold() for p in pages}) == len(pages)  # unique titles
    cygnus = [p for p in site.pages.values() if p.space_id == site.spaces[2].id]
    assert len(cygnus) > 50  # more than a default page of results


def test_bodies_are_well_formed_storage_format(site: DemoSite) -> None:
    """Every body parses as XHTML (with the ac:/ri: namespaces) and uses Confluence's macros."""
    bodies = "".join(p.body for p in site.pages.values())
    for page in site.pages.values():
        ET.fromstring(f"<root {_NAMESPACES}>{page.body}</root>")  # noqa: S314  (our own data)
    for element in ("ac:structured-macro", "ri:user", "ac:task-list", "<time datetime=", "<table>"):
        assert element in bodies


def test_dates_are_recent_weeks_before_the_anchor(site: DemoSite) -> None:
    """Pages were created and edited before the anchor, most within the last weeks; ids follow time."""
    pages = list(site.pages.values())
    assert all(p.created_at <= p.modified_at < ANCHOR for p in pages)
    recent = [p for p in pages if p.modified_at > ANCHOR - timedelta(weeks=8)]
    assert len(recent) > len(pages) / 2
    by_id = sorted(pages, key=lambda p: int(p.id))
    assert [p.created_at for p in by_id] == sorted(p.created_at for p in by_id)
    assert any(p.version > 1 for p in pages)


def test_the_same_seed_gives_the_same_site() -> None:
    """Seeding is deterministic: the same seed gives identical pages; another seed differs."""

    def snapshot(seed: int) -> list[tuple[str, str, str, int]]:
        return [(p.id, p.title, p.body, p.version) for p in DemoSite.seeded(seed).pages.values()]

    assert snapshot(7) == snapshot(7)
    assert snapshot(7) != snapshot(8)


@pytest.mark.parametrize("anchor", [ANCHOR, LATER], ids=["default", "later"])
def test_every_space_changed_in_the_week_before_the_anchor(anchor: datetime) -> None:
    """A report made on the anchor's day finds recently changed pages in each project's space."""
    site = DemoSite.seeded(7, anchor=anchor)
    assert site.anchor == anchor
    pages = list(site.pages.values())
    assert all(p.created_at <= p.modified_at < anchor for p in pages)
    for space in site.spaces:
        recent = [
            p
            for p in pages
            if p.space_id == space.id and p.modified_at >= anchor - timedelta(days=7)
        ]
        assert any(p.title.endswith("Weekly sync") for p in recent), space.key
        assert any(p.title.startswith("Status report ") for p in recent), space.key


def test_the_same_anchor_gives_the_same_site() -> None:
    """One seed and anchor give identical sites; another anchor moves the dates, not the pages."""

    def snapshot(site: DemoSite) -> list[tuple[str, str, str, int, datetime, datetime]]:
        return [
            (p.id, p.title, p.body, p.version, p.created_at, p.modified_at)
            for p in site.pages.values()
        ]

    later = DemoSite.seeded(7, anchor=LATER)
    assert snapshot(later) == snapshot(DemoSite.seeded(7, anchor=LATER))
    assert snapshot(later) != snapshot(DemoSite.seeded(7))
    default = DemoSite.seeded(7)
    assert len(later.pages) == len(default.pages)
    assert sorted(p.title for p in later.pages.values() if p.title.startswith("DEC-")) == sorted(
        p.title for p in default.pages.values() if p.title.startswith("DEC-")
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        DemoSite.seeded(7, anchor=LATER.replace(tzinfo=None))


def test_the_sandbox_keeps_its_anchor_across_resets() -> None:
    """A sandbox given an anchor serves pages placed before it, also after /sandbox/reset."""

    def dates(site: DemoSite) -> list[tuple[str, datetime, datetime]]:
        return [(p.id, p.created_at, p.modified_at) for p in site.pages.values()]

    assert ConfluenceSandbox(email=None, api_token="t").site.anchor == ANCHOR
    sandbox = ConfluenceSandbox(email=None, api_token="t", anchor=LATER)
    assert dates(sandbox.site) == dates(DemoSite.seeded(7, anchor=LATER))
    sandbox.reset()
    assert dates(sandbox.site) == dates(DemoSite.seeded(7, anchor=LATER))


def test_writes_follow_confluences_rules() -> None:
    """Titles stay unique per space; an update must name the next version (409 otherwise)."""
    site = DemoSite.seeded(7)
    space = site.spaces[0]
    now = ANCHOR + timedelta(days=1)
    author = DEMO_ACCOUNTS[0].account_id
    with pytest.raises(Refused) as taken:
        site.create_page(
            space_id=space.id, title="RUNBOOKS", body="", parent_id=None, author_id=author, now=now
        )
    assert (taken.value.status, taken.value.code) == (400, "BAD_REQUEST")
    page = site.create_page(
        space_id=space.id, title="New", body="<p/>", parent_id=None, author_id=author, now=now
    )
    assert (page.parent_id, page.version) == (space.homepage_id, 1)
    with pytest.raises(Refused) as stale:
        site.update_page(
            page.id, title="New", body="<p>x</p>", version=1, message="", author_id=author, now=now
        )
    assert stale.value.status == 409
    assert stale.value.title.endswith("Current Version: [1]. Provided version: [1]")
    site.update_page(
        page.id, title="New", body="<p>x</p>", version=2, message="m", author_id=author, now=now
    )
    assert (page.version, page.body, page.version_message) == (2, "<p>x</p>", "m")
    touched = site.touch(page.id, now=now)
    assert touched.version == 3
    assert touched.version_author_id != author
