"""The seeded demo Confluence site the Confluence sandbox serves, and Confluence's write rules.

The site matches the Monday demo workspace (:mod:`dataworkflows.sandboxes.monday.demo_data`):
one space per project (:data:`SPACE_KEYS`: ``APOLLO``, ``BOREALIS``, ``CYGNUS``, named
after the project), and the same people (:data:`DEMO_ACCOUNTS`, one Atlassian account
per Monday user, same name and e-mail). Each space has a page tree:

- ``Project overview`` (the homepage: goals, people, status, the Monday boards)
  - ``Meeting notes``: a weekly sync per week of the last eight (the latest in the
    week before the anchor)
  - ``Decisions``: decision records (``DEC-1: ...``)
  - ``Runbooks``: operational runbooks (``Runbook: ...``)
  - ``Status reports``: one per Friday of the last eight weeks (the latest in the week
    before the anchor)
  - ``Team and contacts``
  - (Cygnus only) ``Daily stand-ups``: one per working day of the last twelve weeks,
    so that one space has more pages than a page of results.

Bodies are storage format (XHTML with ``ac:``/``ri:`` elements: mentions, status,
info and code macros, task lists, ``<time>``), and refer to the Monday tickets
(``APO-12``). Everything follows from the seed; timestamps are offsets from an anchor
instant (the Monday :data:`~dataworkflows.sandboxes.monday.demo_data.ANCHOR` unless
:meth:`DemoSite.seeded` is given another), never the wall clock, so every space has
pages changed in the week before the anchor. The same seed and anchor give the same
site. Page ids ascend with creation time, as Confluence's do.

:class:`DemoSite` applies Confluence's rules on writes and raises :class:`Refused`
with the status, code and title Confluence answers with: titles unique among a
space's current pages, an update's version must be current + 1 (409 otherwise).
"""

from __future__ import annotations

import html
import random
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from dataworkflows.sandboxes.world import (
    ANCHOR,
    DEMO_USERS,
    PROJECT_NAMES,
    PROJECTS,
    TICKET_PREFIX,
    TOPICS,
    DemoUser,
)

__all__ = [
    "CLOUD_ID",
    "DEMO_ACCOUNTS",
    "SPACE_IDS",
    "SPACE_KEYS",
    "DemoAccount",
    "DemoPage",
    "DemoSite",
    "DemoSpace",
    "Refused",
    "storage_text",
    "version_conflict_title",
]

CLOUD_ID: Final = "5a1f7c2e-93b4-4d8e-b6a0-2c9e1f3d7b54"
"""The demo site's cloud id (the ``{cloudId}`` of ``/ex/confluence/{cloudId}``)."""

SPACE_KEYS: Final = {"apollo": "APOLLO", "borealis": "BOREALIS", "cygnus": "CYGNUS"}
"""Each Monday project's space key."""

SPACE_IDS: Final = {"apollo": "1933313", "borealis": "1966081", "cygnus": "1998849"}
"""Each project's space id (fixed, so configuration and docs can name them)."""

_FIRST_PAGE_ID: Final = 3_211_264
_ACCOUNT_NAMESPACE: Final = uuid.UUID("7c1e4a52-0d3b-4f6a-9e2c-5b8d1a0f3e67")


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """An Atlassian account of the demo site (one per Monday demo user)."""

    account_id: str
    display_name: str
    email: str
    monday_user_id: str


def _account(user: DemoUser) -> DemoAccount:
    # The modern account id shape: "<prefix>:<uuid>", stable per e-mail.
    account_id = f"712020:{uuid.uuid5(_ACCOUNT_NAMESPACE, user.email)}"
    return DemoAccount(account_id, user.name, user.email, user.id)


DEMO_ACCOUNTS: Final = tuple(_account(u) for u in DEMO_USERS)
"""The site's accounts, in the Monday users' order (the first is the API token's owner)."""


@dataclass(slots=True)
class DemoSpace:
    """A space: one per project."""

    id: str
    key: str
    name: str
    project: str
    description: str
    author_id: str
    created_at: datetime
    homepage_id: str = ""
    type: str = "global"
    status: str = "current"


@dataclass(slots=True)
class DemoPage:
    """A page and its current version."""

    id: str
    space_id: str
    title: str
    parent_id: str | None
    position: int
    author_id: str
    created_at: datetime
    body: str
    version: int
    version_created_at: datetime
    version_author_id: str
    version_message: str = ""
    minor_edit: bool = False
    status: str = "current"
    owner_id: str = ""

    @property
    def modified_at(self) -> datetime:
        """When the current version was made."""
        return self.version_created_at


class Refused(Exception):
    """A request Confluence refuses: its HTTP status, Atlassian code and title."""

    def __init__(self, status: int, code: str, title: str, detail: str | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail


_CDATA_RE: Final = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_PARAMETER_RE: Final = re.compile(r"<ac:parameter\b[^>]*>.*?</ac:parameter>", re.DOTALL)
_TAG_RE: Final = re.compile(r"<[^>]*>")


def storage_text(body: str) -> str:
    """The words of a storage-format body (what search indexes and excerpts show)."""
    # Macro parameters (sort orders, colours) are settings, not words on the page.
    text = _PARAMETER_RE.sub(" ", body)
    text = _CDATA_RE.sub(lambda m: f" {m.group(1)} ", text)
    text = _TAG_RE.sub(" ", text)
    return " ".join(html.unescape(text).split())


class DemoSite:
    """The demo site: spaces, pages and accounts, with Confluence's write rules."""

    def __init__(
        self,
        *,
        spaces: list[DemoSpace],
        pages: list[DemoPage],
        accounts: tuple[DemoAccount, ...],
        seed: int,
        anchor: datetime = ANCHOR,
    ) -> None:
        self.anchor = anchor
        """The instant the seeded pages were placed before."""
        self.spaces = spaces
        self.accounts = accounts
        self.pages: dict[str, DemoPage] = {p.id: p for p in sorted(pages, key=lambda p: int(p.id))}
        self._accounts = {a.account_id: a for a in accounts}
        self._next_id = max((int(p) for p in self.pages), default=_FIRST_PAGE_ID)
        # New ids keep Confluence's irregular gaps, from the seed for repeatability.
        self._id_gaps = random.Random(seed ^ 0xC0F1)  # noqa: S311  (demo ids, not secrets)

    @classmethod
    def seeded(cls, seed: int = 7, *, anchor: datetime = ANCHOR) -> DemoSite:
        """The demo site for ``seed``, its pages created and edited before ``anchor`` (aware).

        The same seed and anchor always give the same site.
        """
        if anchor.tzinfo is None or anchor.utcoffset() is None:
            raise ValueError(f"the anchor must be timezone-aware, got {anchor.isoformat()}")
        return _build(seed, anchor.astimezone(UTC))

    def space(self, space_id: str) -> DemoSpace | None:
        """The space ``space_id``, or None."""
        return next((s for s in self.spaces if s.id == space_id), None)

    def space_by_key(self, key: str) -> DemoSpace | None:
        """The space with key ``key`` (exact), or None."""
        return next((s for s in self.spaces if s.key == key), None)

    def page(self, page_id: str) -> DemoPage | None:
        """The page ``page_id`` (whatever its status), or None."""
        return self.pages.get(page_id)

    def account(self, account_id: str) -> DemoAccount | None:
        """The account ``account_id``, or None."""
        return self._accounts.get(account_id)

    def account_by_email(self, email: str) -> DemoAccount | None:
        """The account with this e-mail (case-insensitive), or None."""
        wanted = email.lower()
        return next((a for a in self.accounts if a.email.lower() == wanted), None)

    def ancestors(self, page: DemoPage) -> list[str]:
        """The ids of the page's ancestors, nearest first."""
        found: list[str] = []
        parent = page.parent_id
        while parent is not None and parent not in found:
            found.append(parent)
            above = self.pages.get(parent)
            parent = above.parent_id if above else None
        return found

    def children(self, page_id: str) -> list[DemoPage]:
        """The current child pages of ``page_id``, by position."""
        kids = [p for p in self.pages.values() if p.parent_id == page_id and p.status == "current"]
        return sorted(kids, key=lambda p: (p.position, int(p.id)))

    def create_page(
        self,
        *,
        space_id: str,
        title: str,
        body: str,
        parent_id: str | None,
        author_id: str,
        now: datetime,
        status: str = "current",
        root_level: bool = False,
    ) -> DemoPage:
        """Add a page (under the homepage unless ``parent_id`` or ``root_level``)."""
        space = self.space(space_id)
        if space is None:
            raise Refused(404, "NOT_FOUND", f"Space with id {space_id} not found")
        if parent_id is None and not root_level:
            parent_id = space.homepage_id or None
        if parent_id is not None:
            parent = self.pages.get(parent_id)
            if parent is None or parent.space_id != space_id or parent.status != "current":
                raise Refused(404, "NOT_FOUND", f"Parent page with id {parent_id} not found")
        if status == "current":
            self._check_title(space, title, None)
        self._next_id += self._id_gaps.randint(1, 4096)
        stamp = _stamp(now)
        siblings = [p for p in self.pages.values() if p.parent_id == parent_id]
        page = DemoPage(
            id=str(self._next_id),
            space_id=space_id,
            title=title,
            parent_id=parent_id,
            position=max((p.position for p in siblings), default=-1) + 1,
            author_id=author_id,
            owner_id=author_id,
            created_at=stamp,
            body=body,
            version=1,
            version_created_at=stamp,
            version_author_id=author_id,
            status=status,
        )
        self.pages[page.id] = page
        return page

    def update_page(
        self,
        page_id: str,
        *,
        title: str,
        body: str,
        version: int,
        message: str,
        author_id: str,
        now: datetime,
        status: str = "current",
        parent_id: str | None = None,
        minor_edit: bool = False,
    ) -> DemoPage:
        """Make version ``version`` of a page; it must be the current version + 1."""
        page = self.pages.get(page_id)
        if page is None or page.status in ("deleted", "trashed"):
            raise Refused(404, "NOT_FOUND", f"Page with id {page_id} not found")
        if version != page.version + 1:
            raise Refused(409, "CONFLICT", version_conflict_title(page.version, version))
        space = self.space(page.space_id)
        assert space is not None
        if status == "current":
            self._check_title(space, title, page.id)
        if parent_id is not None and parent_id != page.parent_id:
            parent = self.pages.get(parent_id)
            if parent is None or parent.space_id != page.space_id or parent_id == page.id:
                raise Refused(404, "NOT_FOUND", f"Parent page with id {parent_id} not found")
            if page.id in self.ancestors(parent):
                raise Refused(400, "BAD_REQUEST", "A page cannot be moved below its own child")
            page.parent_id = parent_id
        page.title = title
        page.body = body
        page.status = status
        self._new_version(page, now=now, author_id=author_id, message=message, minor=minor_edit)
        return page

    def touch(
        self,
        page_id: str,
        *,
        now: datetime,
        body: str | None = None,
        title: str | None = None,
    ) -> DemoPage:
        """Someone edits the page in the browser: a new version behind any client's back."""
        page = self.pages.get(page_id)
        if page is None:
            raise Refused(404, "NOT_FOUND", f"Page with id {page_id} not found")
        if title is not None and title != page.title:
            space = self.space(page.space_id)
            assert space is not None
            self._check_title(space, title, page.id)
            page.title = title
        if body is not None:
            page.body = body
        editor = next(
            (a for a in self.accounts if a.account_id != page.version_author_id), self.accounts[0]
        )
        self._new_version(
            page, now=now, author_id=editor.account_id, message="Edited in the browser", minor=False
        )
        return page

    def trash_page(self, page_id: str, *, purge: bool) -> None:
        """Move a page to the trash, or (``purge``) delete a trashed page for good."""
        page = self.pages.get(page_id)
        if page is None:
            raise Refused(404, "NOT_FOUND", f"Page with id {page_id} not found")
        if purge:
            if page.status != "trashed":
                raise Refused(400, "BAD_REQUEST", "Only a trashed page can be purged")
            del self.pages[page_id]
            return
        if page.status == "trashed":
            raise Refused(404, "NOT_FOUND", f"Page with id {page_id} not found")
        page.status = "trashed"

    def _check_title(self, space: DemoSpace, title: str, page_id: str | None) -> None:
        if not title.strip():
            raise Refused(400, "INVALID_REQUEST_PARAMETER", "A current page must have a title")
        if len(title) > 255:
            raise Refused(
                400, "INVALID_REQUEST_PARAMETER", "A page title must be at most 255 characters"
            )
        for other in self.pages.values():
            if (
                other.space_id == space.id
                and other.status == "current"
                and other.id != page_id
                and other.title.casefold() == title.casefold()
            ):
                raise Refused(
                    400,
                    "BAD_REQUEST",
                    "A page with this title already exists: A page already exists with the "
                    f"title {title} in the space with key {space.key}",
                )

    @staticmethod
    def _new_version(
        page: DemoPage, *, now: datetime, author_id: str, message: str, minor: bool
    ) -> None:
        page.version += 1
        # The version time moves forward even when the caller's clock is behind the seed.
        page.version_created_at = max(_stamp(now), page.version_created_at + timedelta(seconds=1))
        page.version_author_id = author_id
        page.version_message = message
        page.minor_edit = minor


def version_conflict_title(current: int, provided: int) -> str:
    """What Confluence says when an update names a stale version (observed on the wire)."""
    return (
        "Version must be incremented when updating a page. "
        f"Current Version: [{current}]. Provided version: [{provided}]"
    )


def _stamp(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=(moment.microsecond // 1000) * 1000)


# -- seeding -----------------------------------------------------------------------------

_GOALS: Final = {
    "apollo": (
        "Relaunch the marketing site on the new CMS before the winter campaign",
        "Bring the median page load under two seconds on mobile",
        "Pass the WCAG 2.1 AA accessibility audit",
    ),
    "borealis": (
        "Ship version 2 of the app to the App Store and Google Play",
        "Offline sync for field staff with flaky connections",
        "Keep crash-free sessions above 99.5 %",
    ),
    "cygnus": (
        "Move the nightly batch loads to streaming ingestion",
        "One metrics layer shared by finance and product analytics",
        "Data quality checks on every published table",
    ),
}

_DECISIONS: Final = {
    "apollo": (
        ("Serve images through a CDN", "image CDN"),
        ("Adopt a headless CMS for the blog", "blog templates"),
        ("Self-host the site search index", "site search"),
        ("Drop the carousel from the homepage hero", "homepage hero"),
        ("Consent banner from the shared design system", "cookie banner"),
    ),
    "borealis": (
        ("Use SQLite for the offline store", "offline sync"),
        ("Passkeys before passwords on the login screen", "login screen"),
        ("One push provider for both platforms", "push notifications"),
        ("Ship dark mode behind a feature flag", "dark mode"),
        ("Staged rollouts for every release", "release pipeline"),
    ),
    "cygnus": (
        ("Kafka as the events backbone", "events stream"),
        ("dbt for every transformation", "dbt models"),
        ("Partition fact tables by event date", "orders ingestion"),
        ("Avro with a schema registry for all topics", "schema registry"),
        ("Nightly cost report per team", "warehouse costs"),
    ),
}

_RUNBOOKS: Final = {
    "apollo": (
        ("Deploying the website", "make deploy ENV=production"),
        ("Purging the CDN cache", "cdnctl purge --all --site apollo"),
        ("Restoring the CMS database", "cmsctl restore --from latest"),
    ),
    "borealis": (
        ("Releasing to the stores", "fastlane release lane:production"),
        ("Rotating the push certificates", "pushctl rotate --platform ios"),
        ("Rolling back a release", "fastlane rollback lane:production"),
    ),
    "cygnus": (
        ("Backfilling a table", "dbt run --select orders_fact --full-refresh"),
        ("Restarting the CDC connector", "connectctl restart cdc-orders"),
        ("Recovering a failed Airflow DAG", "airflow dags backfill orders_daily"),
        ("Rotating warehouse credentials", "vaultctl rotate warehouse/loader"),
    ),
}

_NOTES: Final = (
    "Blocked on design sign-off",
    "Needs QA on staging",
    "Pairing with the data team",
    "Waiting for the vendor's reply",
    "Scope agreed in planning",
    "Follow-up from the retro",
)

_VERBS: Final = ("Review", "Finish", "Test", "Document", "Fix", "Ship")
_DONE: Final = ("Reviewed", "Finished", "Tested", "Documented", "Fixed", "Shipped")

_ROLES: Final = ("Project lead", "Tech lead", "Designer", "Engineer", "Engineer", "QA", "Analyst")

_STATUS_COLOURS: Final = (("Green", "ON TRACK"), ("Yellow", "AT RISK"), ("Red", "OFF TRACK"))


def _mention(account: DemoAccount) -> str:
    return f'<ac:link><ri:user ri:account-id="{account.account_id}" /></ac:link>'


def _status_macro(colour: str, title: str) -> str:
    return (
        '<ac:structured-macro ac:name="status" ac:schema-version="1">'
        f'<ac:parameter ac:name="colour">{colour}</ac:parameter>'
        f'<ac:parameter ac:name="title">{title}</ac:parameter>'
        "</ac:structured-macro>"
    )


def _panel(kind: str, text: str) -> str:
    return (
        f'<ac:structured-macro ac:name="{kind}" ac:schema-version="1">'
        f"<ac:rich-text-body><p>{text}</p></ac:rich-text-body></ac:structured-macro>"
    )


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = "".join(f"<th><p>{h}</p></th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td><p>{c}</p></td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tbody><tr>{head}</tr>{body}</tbody></table>"


def _tasks(items: Iterable[tuple[str, bool]]) -> str:
    tasks = "".join(
        f"<ac:task><ac:task-id>{n}</ac:task-id>"
        f"<ac:task-status>{'complete' if done else 'incomplete'}</ac:task-status>"
        f"<ac:task-body>{text}</ac:task-body></ac:task>"
        for n, (text, done) in enumerate(items, start=1)
    )
    return f"<ac:task-list>{tasks}</ac:task-list>"


def _date(moment: datetime) -> str:
    return moment.date().isoformat()


def _last_before(anchor: datetime, weekday: int, hour: int, minute: int) -> datetime:
    """The latest ``weekday`` at ``hour:minute`` strictly before ``anchor``."""
    day = anchor - timedelta(days=(anchor.weekday() - weekday) % 7)
    day = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return day if day < anchor else day - timedelta(weeks=1)


@dataclass(slots=True)
class _Spec:
    """A page to seed, before ids are given out in creation order."""

    project: str
    title: str
    parent: str | None
    created_at: datetime
    author: DemoAccount
    body: str
    edits: int = 0
    last_edit_by: DemoAccount | None = None
    order: int = 0
    edit_span: timedelta = field(default_factory=lambda: timedelta(days=10))


class _Seeder:
    """Draws the site's contents from one ``random.Random`` in a fixed order."""

    def __init__(self, seed: int, anchor: datetime) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
        self.anchor = anchor

    def pick(self, accounts: tuple[DemoAccount, ...]) -> DemoAccount:
        return self.rng.choice(accounts)

    def project(self, key: str, founded: datetime) -> list[_Spec]:
        rng = self.rng
        anchor = self.anchor
        name = PROJECT_NAMES[key]
        team = tuple(rng.sample(DEMO_ACCOUNTS, k=5))
        lead = team[0]
        prefix = TICKET_PREFIX[key]
        topics = TOPICS[key]
        specs: list[_Spec] = []

        def add(
            title: str,
            parent: str | None,
            created: datetime,
            body: str,
            *,
            author: DemoAccount | None = None,
            edits: int | None = None,
            span_days: int = 10,
        ) -> None:
            specs.append(
                _Spec(
                    project=key,
                    title=title,
                    parent=parent,
                    created_at=min(created, anchor - timedelta(hours=1)),
                    author=author or rng.choice(team),
                    body=body,
                    edits=rng.randint(0, 4) if edits is None else edits,
                    last_edit_by=rng.choice(team),
                    order=len(specs),
                    edit_span=timedelta(days=span_days),
                )
            )

        home = "Project overview"
        colour, label = rng.choice(_STATUS_COLOURS[:2])
        goals = "".join(f"<li><p>{g}</p></li>" for g in _GOALS[key])
        people = _table(
            ("Role", "Person"), ((role, _mention(p)) for role, p in zip(_ROLES, team, strict=False))
        )
        add(
            home,
            None,
            founded,
            f"<h1>{name}</h1>"
            + _panel(
                "info",
                f"This space is the home of the <strong>{name}</strong> project. Its work items "
                f"live on the Monday boards <em>{name} — Roadmap</em> and "
                f"<em>{name} — Sprint Tasks</em> (tickets {prefix}-1 onwards).",
            )
            + f"<h2>Goals</h2><ul>{goals}</ul>"
            + f"<h2>Status</h2><p>{_status_macro(colour, label)}</p>"
            + f"<h2>People</h2>{people}"
            + '<ac:structured-macro ac:name="children" ac:schema-version="2" />',
            author=lead,
            edits=rng.randint(3, 8),
            span_days=140,
        )
        sections = ["Meeting notes", "Decisions", "Runbooks", "Status reports", "Team and contacts"]
        if key == "cygnus":
            sections.append("Daily stand-ups")
        intros = {
            "Meeting notes": "Notes of the weekly sync, newest first.",
            "Decisions": "Decisions we made, why, and who approved them.",
            "Runbooks": "How to operate what we run. Keep these current.",
            "Status reports": "The weekly status report sent to stakeholders every Friday.",
            "Team and contacts": "",
            "Daily stand-ups": "Short notes of the daily stand-up.",
        }
        for offset, section in enumerate(sections, start=1):
            if section == "Team and contacts":
                rows = ((_mention(p), role, p.email) for role, p in zip(_ROLES, team, strict=False))
                body = f"<h2>Team</h2>{_table(('Person', 'Role', 'E-mail'), rows)}" + _panel(
                    "note", f"Questions about the project go to {_mention(lead)} first."
                )
            else:
                body = (
                    f"<p>{intros[section]}</p>"
                    '<ac:structured-macro ac:name="children" ac:schema-version="2">'
                    '<ac:parameter ac:name="sort">creation</ac:parameter>'
                    '<ac:parameter ac:name="reverse">true</ac:parameter>'
                    "</ac:structured-macro>"
                )
            add(section, home, founded + timedelta(minutes=10 * offset), body, author=lead)

        # The latest sync and status report fall in the week before the anchor.
        weekday = {"apollo": 0, "borealis": 1, "cygnus": 2}[key]
        last_sync = _last_before(anchor, weekday, 10, 0)
        for weeks_ago in range(7, -1, -1):
            day = last_sync - timedelta(weeks=weeks_ago)
            add(f"{_date(day)} Weekly sync", "Meeting notes", day, self.meeting(key, day, team))

        for number, (decision, topic) in enumerate(_DECISIONS[key], start=1):
            created = anchor - timedelta(days=rng.randint(8, 70), hours=rng.randint(0, 8))
            add(
                f"DEC-{number}: {decision}",
                "Decisions",
                created,
                self.decision(key, decision, topic, team),
            )

        for title, command in _RUNBOOKS[key]:
            created = anchor - timedelta(days=rng.randint(60, 130))
            add(
                f"Runbook: {title}",
                "Runbooks",
                created,
                self.runbook(title, command, team),
                span_days=50,
            )

        last_friday = _last_before(anchor, 4, 16, 30)
        for weeks_ago in range(7, -1, -1):
            friday = last_friday - timedelta(weeks=weeks_ago)
            add(
                f"Status report {_date(friday)}",
                "Status reports",
                friday,
                self.status_report(key, friday, team, topics),
                author=lead,
                edits=rng.randint(0, 2),
                span_days=1,
            )

        if key == "cygnus":
            day = anchor - timedelta(weeks=12)
            while day < anchor - timedelta(days=1):
                if day.weekday() < 5:
                    start = day.replace(hour=9, minute=30)
                    add(
                        f"Stand-up {_date(start)}",
                        "Daily stand-ups",
                        start,
                        self.standup(key, team, topics),
                        edits=0,
                    )
                day += timedelta(days=1)
        return specs

    def meeting(self, key: str, day: datetime, team: tuple[DemoAccount, ...]) -> str:
        rng = self.rng
        prefix = TICKET_PREFIX[key]
        topics = rng.sample(TOPICS[key], k=3)
        participants = "".join(f"<li><p>{_mention(p)}</p></li>" for p in team)
        rows = [
            (t[0].upper() + t[1:], _mention(rng.choice(team)), rng.choice(_NOTES)) for t in topics
        ]
        actions = [
            (
                f"{_mention(rng.choice(team))} {rng.choice(_VERBS).lower()} {t} "
                f"({prefix}-{rng.randint(1, 20)})",
                rng.random() < 0.4,
            )
            for t in topics
        ]
        return (
            f'<h2>Date</h2><p><time datetime="{_date(day)}" /></p>'
            f"<h2>Participants</h2><ul>{participants}</ul>"
            f"<h2>Goals</h2><ul><li><p>Review progress on {topics[0]}</p></li>"
            "<li><p>Agree on next week's priorities</p></li></ul>"
            f"<h2>Discussion topics</h2>{_table(('Item', 'Who', 'Notes'), rows)}"
            f"<h2>Action items</h2>{_tasks(actions)}"
        )

    def decision(self, key: str, decision: str, topic: str, team: tuple[DemoAccount, ...]) -> str:
        rng = self.rng
        driver, approver = rng.sample(team, k=2)
        decided = rng.random() < 0.7
        status = _status_macro("Green", "DECIDED") if decided else _status_macro("Yellow", "OPEN")
        due = _date(self.anchor + timedelta(days=rng.randint(-20, 30)))
        summary = _table(
            ("Status", "Impact", "Driver", "Approver", "Due date"),
            [
                (
                    status,
                    rng.choice(("High", "Medium", "Low")),
                    _mention(driver),
                    _mention(approver),
                    f'<time datetime="{due}" />',
                )
            ],
        )
        options = _table(
            ("Option", "Pros", "Cons"),
            [
                (decision, "Simple to operate; fits the team's skills", "A new dependency"),
                ("Keep the current approach", "No migration work", f"Does not scale for {topic}"),
            ],
        )
        outcome = (
            f"We go with: {decision.lower()}."
            if decided
            else "Not decided yet; revisit at the next weekly sync."
        )
        return (
            f"{summary}<h2>Background</h2><p>The {topic} work ({TICKET_PREFIX[key]}-"
            f"{rng.randint(1, 20)}) needs a decision before the next sprint.</p>"
            f"<h2>Options considered</h2>{options}<h2>Outcome</h2><p>{outcome}</p>"
        )

    def runbook(self, title: str, command: str, team: tuple[DemoAccount, ...]) -> str:
        owner = self.rng.choice(team)
        return (
            _panel("warning", "Announce in the project channel before you start.")
            + f"<h2>When</h2><p>{title} is needed after an incident or on request of "
            f"{_mention(owner)}.</p>"
            "<h2>Steps</h2><ol><li><p>Check the dashboards are green.</p></li>"
            "<li><p>Run:</p>"
            '<ac:structured-macro ac:name="code" ac:schema-version="1">'
            '<ac:parameter ac:name="language">bash</ac:parameter>'
            f"<ac:plain-text-body><![CDATA[{command}]]></ac:plain-text-body>"
            "</ac:structured-macro></li>"
            "<li><p>Watch the error rate for fifteen minutes.</p></li>"
            "<li><p>Post the result in the project channel.</p></li></ol>"
            f"<h2>Owner</h2><p>{_mention(owner)}</p>"
        )

    def status_report(
        self, key: str, friday: datetime, team: tuple[DemoAccount, ...], topics: tuple[str, ...]
    ) -> str:
        rng = self.rng
        colour, label = rng.choices(_STATUS_COLOURS, weights=(6, 3, 1))[0]
        done, working, stuck = rng.randint(4, 15), rng.randint(3, 12), rng.randint(0, 3)
        highlights = "".join(
            f"<li><p>{rng.choice(_DONE)} {t}</p></li>" for t in rng.sample(topics, k=2)
        )
        risk = rng.choice(_NOTES)
        return (
            f"<p>{_status_macro(colour, label)} Week ending "
            f'<time datetime="{_date(friday)}" />.</p>'
            f"<h2>Highlights</h2><ul>{highlights}</ul>"
            f"<h2>Progress</h2>"
            + _table(("Done", "Working on it", "Stuck"), [(str(done), str(working), str(stuck))])
            + f"<h2>Risks</h2><ul><li><p>{risk} ({TICKET_PREFIX[key]}-"
            f"{rng.randint(1, 20)})</p></li></ul>"
            f"<h2>Next week</h2><p>Focus on {rng.choice(topics)}.</p>"
        )

    def standup(self, key: str, team: tuple[DemoAccount, ...], topics: tuple[str, ...]) -> str:
        rng = self.rng
        rows = [
            (_mention(p), rng.choice(topics), rng.choice(("Nothing", *_NOTES[:2])))
            for p in rng.sample(team, k=3)
        ]
        return _table(("Who", "Working on", "Blockers"), rows)


def _build(seed: int, anchor: datetime) -> DemoSite:
    seeder = _Seeder(seed, anchor)
    rng = seeder.rng
    spaces: list[DemoSpace] = []
    specs: list[_Spec] = []
    for number, key in enumerate(PROJECTS):
        founded = anchor - timedelta(days=150 - 3 * number, hours=rng.randint(0, 6))
        lead = seeder.pick(DEMO_ACCOUNTS)
        spaces.append(
            DemoSpace(
                id=SPACE_IDS[key],
                key=SPACE_KEYS[key],
                name=PROJECT_NAMES[key],
                project=key,
                description=f"Documentation, meeting notes and decisions of {PROJECT_NAMES[key]}.",
                author_id=lead.account_id,
                created_at=founded,
            )
        )
        specs += seeder.project(key, founded + timedelta(minutes=5))

    # Ids in creation order (parents are always created before their children).
    specs.sort(key=lambda s: (s.created_at, s.project, s.order))
    next_id = _FIRST_PAGE_ID
    by_title: dict[tuple[str, str], str] = {}
    pages: list[DemoPage] = []
    for spec in specs:
        next_id += rng.randint(1, 4096)
        page_id = str(next_id)
        space_id = SPACE_IDS[spec.project]
        parent_id = by_title[(spec.project, spec.parent)] if spec.parent else None
        by_title[(spec.project, spec.title)] = page_id
        edited_at = spec.created_at
        editor = spec.author
        if spec.edits:
            latest = min(spec.created_at + spec.edit_span, anchor - timedelta(minutes=5))
            span = max(0, int((latest - spec.created_at).total_seconds()))
            edited_at = spec.created_at + timedelta(seconds=rng.randint(span // 2, span))
            editor = spec.last_edit_by or spec.author
        pages.append(
            DemoPage(
                id=page_id,
                space_id=space_id,
                title=spec.title,
                parent_id=parent_id,
                position=sum(1 for p in pages if p.parent_id == parent_id),
                author_id=spec.author.account_id,
                owner_id=spec.author.account_id,
                created_at=spec.created_at,
                body=spec.body,
                version=1 + spec.edits,
                version_created_at=edited_at,
                version_author_id=editor.account_id,
                version_message="" if not spec.edits else rng.choice(("", "", "Typos", "Update")),
            )
        )
    for space in spaces:
        space.homepage_id = by_title[(space.project, "Project overview")]
    return DemoSite(spaces=spaces, pages=pages, accounts=DEMO_ACCOUNTS, seed=seed, anchor=anchor)
