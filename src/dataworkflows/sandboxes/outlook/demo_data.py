"""The seeded demo tenant the Outlook sandbox serves: mailboxes, mail and calendars.

The people are the demo world's (:data:`~..world.DEMO_USERS`, ``@example.com``),
working on its three projects (:data:`~..world.PROJECTS`) in teams (:data:`TEAMS`).
Mail and meetings mention the projects' sprint tickets (``APO-12: Build pricing
page``) from :func:`~..world.sprint_tickets`, the same items the Monday sandbox's
boards hold for the same seed.

- Mail over the four weeks before the anchor: weekly status mails from each lead,
  ticket threads (``RE:`` replies in one conversation, some with attachments, blocked
  tickets marked important), monday.com notifications, an outside vendor's thread per
  project, a little junk. Every copy lives in its own mailbox: the sender's in Sent
  Items, each internal recipient's in the Inbox (older ones read, recent ones mostly
  unread; leads archive old mail).
- Calendars: recurring daily standups (weekdays), fortnightly planning and reviews
  (expanded by calendarView into occurrences; one standup moved, one skipped), one-off
  meetings in the coming weeks and a few past ones, an all-day event, and a meeting
  its organizer cancelled (still on the attendees' calendars, ``isCancelled``).

Time: everything is placed relative to an **anchor date** (midnight UTC). The sandbox
uses today's date by default, so that a developer running ``dev`` sees recent mail and
upcoming meetings whatever the day; tests pass a fixed anchor (or reset the sandbox
with one) and get the same tenant every time, as the Monday, Slack and Confluence demo
data do (their sandboxes seed around today at 09:00 UTC when served). With the same
seed and anchor the tenant is identical, ids included.

:data:`NO_MAILBOX_USER` is a directory user without an Exchange mailbox (Graph answers
``MailboxNotEnabledForRESTAPI`` for it).
"""

from __future__ import annotations

import base64
import hashlib
import html
import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from dataworkflows.sandboxes.world import DEMO_USERS, PROJECT_NAMES, PROJECTS, sprint_tickets

__all__ = [
    "DOMAIN",
    "NO_MAILBOX_USER",
    "TEAMS",
    "WELL_KNOWN_FOLDERS",
    "Address",
    "DemoEvent",
    "DemoFolder",
    "DemoMailbox",
    "DemoMessage",
    "DemoTenant",
    "EventInstance",
    "Person",
    "Recurrence",
    "graph_id",
]

DOMAIN: Final = "example.com"

WELL_KNOWN_FOLDERS: Final[Mapping[str, str]] = {
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "drafts": "Drafts",
    "deleteditems": "Deleted Items",
    "archive": "Archive",
    "junkemail": "Junk Email",
    "outbox": "Outbox",
}
"""Well-known folder names (as Graph accepts them in place of an id) and display names."""

TEAMS: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "apollo": (
        "maya.patel@example.com",
        ("jonas.berg@example.com", "aiko.tanaka@example.com", "elena.rossi@example.com"),
    ),
    "borealis": (
        "luis.ortega@example.com",
        ("grace.okafor@example.com", "aiko.tanaka@example.com", "maya.patel@example.com"),
    ),
    "cygnus": (
        "tomasz.nowak@example.com",
        ("elena.rossi@example.com", "jonas.berg@example.com", "grace.okafor@example.com"),
    ),
}
"""Each project's lead and members, by address."""

_VENDORS: Final[Mapping[str, tuple[str, str, str]]] = {
    "apollo": ("Northwind Design Studio", "studio@northwind.example", "homepage mockups"),
    "borealis": ("Fabrikam QA Services", "qa@fabrikam.example", "regression test report"),
    "cygnus": ("Contoso Cloud Billing", "billing@contoso.example", "warehouse invoice"),
}

_STANDUP: Final[Mapping[str, time]] = {
    "apollo": time(9, 30),
    "borealis": time(10, 0),
    "cygnus": time(10, 30),
}


@dataclass(frozen=True, slots=True)
class Address:
    """A name and SMTP address (Graph's ``emailAddress``)."""

    name: str
    address: str


@dataclass(frozen=True, slots=True)
class Person:
    """A directory user; ``has_mailbox`` False for one without Exchange Online."""

    id: str
    name: str
    address: str
    has_mailbox: bool = True

    @property
    def email(self) -> Address:
        """The user as a recipient."""
        return Address(self.name, self.address)


def _user_id(address: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"user.{address}"))


PEOPLE: Final = tuple(Person(_user_id(u.email), u.name, u.email) for u in DEMO_USERS)
NO_MAILBOX_USER: Final = Person(
    _user_id("noah.fischer@example.com"), "Noah Fischer", "noah.fischer@example.com", False
)


def graph_id(*parts: object) -> str:
    """A deterministic id in the look of Exchange's (base64, ``AAMkAG`` ... ``AAA=``)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return "AAMkAG" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "AAA="


@dataclass(slots=True)
class DemoFolder:
    """A mail folder of one mailbox."""

    id: str
    well_known: str | None
    display_name: str
    parent_id: str


@dataclass(slots=True)
class DemoMessage:
    """One copy of a message in one mailbox's folder."""

    id: str
    folder_id: str
    subject: str
    body: str
    content_type: str
    sender: Address
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    sent: datetime
    received: datetime
    is_read: bool
    importance: str
    has_attachments: bool
    conversation_id: str
    internet_message_id: str
    categories: list[str] = field(default_factory=list)
    extended: dict[str, str] = field(default_factory=dict)
    """singleValueExtendedProperties: id (as sent) -> value."""


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A recurrence pattern and range, as Graph's ``patternedRecurrence`` models them."""

    pattern: str
    """``daily`` or ``weekly``."""
    interval: int
    days_of_week: tuple[str, ...]
    start_date: date
    end_date: date | None = None
    moved: Mapping[date, tuple[datetime, datetime]] = field(default_factory=dict)
    """Occurrences moved to another time (Graph's ``exception`` instances)."""
    skipped: frozenset[date] = frozenset()
    """Occurrences deleted from the series."""


@dataclass(slots=True)
class DemoEvent:
    """One copy of an event (a single one or a series master) on one calendar."""

    id: str
    ical_uid: str
    subject: str
    body: str
    organizer: Address
    attendees: list[tuple[Address, str, str]]
    """(who, ``required``/``optional``/``resource``, their answer)."""
    start: datetime
    end: datetime
    is_all_day: bool
    location: str | None
    join_url: str | None
    is_cancelled: bool
    is_organizer: bool
    response: str
    """This calendar owner's own answer (``organizer`` for the organizer)."""
    created: datetime
    recurrence: Recurrence | None = None
    importance: str = "normal"
    show_as: str = "busy"


@dataclass(frozen=True, slots=True)
class EventInstance:
    """What calendarView returns: a single event, or one occurrence of a series."""

    event: DemoEvent
    id: str
    type: str
    """``singleInstance``, ``occurrence`` or ``exception``."""
    start: datetime
    end: datetime
    series_master_id: str | None = None


@dataclass(slots=True)
class DemoMailbox:
    """A user's mailbox: folders, messages and calendar."""

    person: Person
    folders: list[DemoFolder]
    messages: list[DemoMessage] = field(default_factory=list)
    events: list[DemoEvent] = field(default_factory=list)

    def folder(self, name_or_id: str) -> DemoFolder | None:
        """The folder with this well-known name (any case) or id."""
        lowered = name_or_id.lower()
        for folder in self.folders:
            if folder.well_known == lowered or folder.id == name_or_id:
                return folder
        return None

    def calendar_view(self, start: datetime, end: datetime) -> list[EventInstance]:
        """Events overlapping ``[start, end)``, series expanded, by start then subject."""
        found: list[EventInstance] = []
        for event in self.events:
            found.extend(_instances(event, start, end))
        found.sort(key=lambda i: (i.start, i.event.subject, i.id))
        return found


def _instances(event: DemoEvent, start: datetime, end: datetime) -> Iterator[EventInstance]:
    recurrence = event.recurrence
    if recurrence is None:
        if event.start < end and event.end > start:
            yield EventInstance(event, event.id, "singleInstance", event.start, event.end)
        return
    length = event.end - event.start
    first = max(recurrence.start_date, (start - length).date())
    last = min(recurrence.end_date or date.max, end.date())
    day = first
    while day <= last:
        if _occurs(recurrence, day) and day not in recurrence.skipped:
            begins = datetime.combine(day, event.start.timetz())
            ends = begins + length
            kind = "occurrence"
            if day in recurrence.moved:
                begins, ends = recurrence.moved[day]
                kind = "exception"
            if begins < end and ends > start:
                yield EventInstance(
                    event,
                    graph_id("occurrence", event.id, day.isoformat()),
                    kind,
                    begins,
                    ends,
                    series_master_id=event.id,
                )
        day += timedelta(days=1)


_WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _occurs(recurrence: Recurrence, day: date) -> bool:
    if day < recurrence.start_date:
        return False
    if recurrence.pattern == "daily":
        return (day - recurrence.start_date).days % recurrence.interval == 0
    if _WEEKDAYS[day.weekday()] not in recurrence.days_of_week:
        return False

    # Weeks counted from the week (Sunday first, Graph's default) the series starts in.
    def week_start(d: date) -> date:
        return d - timedelta(days=(d.weekday() + 1) % 7)

    weeks = (week_start(day) - week_start(recurrence.start_date)).days // 7
    return weeks % recurrence.interval == 0


class DemoTenant:
    """The demo organisation: users, their mailboxes, and Exchange's delivery rules."""

    def __init__(self, *, seed: int, anchor: date, people: Sequence[Person]) -> None:
        self.seed = seed
        self.anchor = anchor
        self.people = list(people)
        self.mailboxes: dict[str, DemoMailbox] = {}
        for person in people:
            if person.has_mailbox:
                self.mailboxes[person.id] = DemoMailbox(person, _folders(person))
        self._by_name = {p.address.lower(): p for p in people} | {p.id: p for p in people}
        self._sequence = 0

    @classmethod
    def seeded(cls, seed: int = 7, *, anchor: date) -> DemoTenant:
        """The demo tenant for ``seed`` and ``anchor``: the same pair, the same tenant."""
        tenant = cls(seed=seed, anchor=anchor, people=(*PEOPLE, NO_MAILBOX_USER))
        _Seeder(tenant).run()
        return tenant

    def user(self, id_or_upn: str) -> Person | None:
        """The user with this id or user principal name (any case)."""
        return self._by_name.get(id_or_upn.lower()) or self._by_name.get(id_or_upn)

    def mailbox_of(self, person: Person) -> DemoMailbox | None:
        """``person``'s mailbox, or None when they have none."""
        return self.mailboxes.get(person.id)

    def person_at(self, address: str) -> Person | None:
        """The user whose address this is (any case), or None (outside the tenant)."""
        return self._by_name.get(address.lower())

    def deliver(
        self,
        *,
        sender: Address,
        to: Sequence[Address],
        cc: Sequence[Address] = (),
        bcc: Sequence[Address] = (),
        subject: str,
        body: str,
        content_type: str = "html",
        sent: datetime,
        importance: str = "normal",
        has_attachments: bool = False,
        conversation_id: str | None = None,
        save_to_sent_items: bool = True,
        read_by: Mapping[str, bool] | None = None,
        extended: Mapping[str, str] | None = None,
    ) -> DemoMessage | None:
        """File a sent message: a copy in the sender's Sent Items (unless told not to),
        one in each internal recipient's Inbox. Returns the Sent Items copy, if any."""
        self._sequence += 1
        sequence = self._sequence
        conversation = conversation_id or graph_id("conversation", subject, sequence)
        internet_id = f"<{graph_id('internet', sequence)[6:26]}@{DOMAIN}>"
        sent_copy: DemoMessage | None = None
        owner = self.person_at(sender.address)
        sender_box = self.mailbox_of(owner) if owner is not None else None
        copies: list[tuple[DemoMailbox, str, bool, timedelta]] = []
        if sender_box is not None and save_to_sent_items:
            copies.append((sender_box, "sentitems", True, timedelta(0)))
        seen: set[str] = set()
        for recipient in (*to, *cc, *bcc):
            person = self.person_at(recipient.address)
            box = self.mailbox_of(person) if person is not None else None
            if box is None or box.person.id in seen:
                continue
            seen.add(box.person.id)
            is_read = (read_by or {}).get(recipient.address.lower(), False)
            copies.append((box, "inbox", is_read, timedelta(seconds=2)))
        for box, folder_name, is_read, delay in copies:
            folder = box.folder(folder_name)
            assert folder is not None
            message = DemoMessage(
                id=graph_id("message", box.person.id, sequence),
                folder_id=folder.id,
                subject=subject,
                body=body,
                content_type=content_type,
                sender=sender,
                to=list(to),
                cc=list(cc),
                # Only the sender's copy shows Bcc recipients.
                bcc=list(bcc) if folder_name == "sentitems" else [],
                sent=sent,
                received=sent + delay,
                is_read=is_read,
                importance=importance,
                has_attachments=has_attachments,
                conversation_id=conversation,
                internet_message_id=internet_id,
                extended=dict(extended or {}),
            )
            box.messages.append(message)
            if folder_name == "sentitems":
                sent_copy = message
        return sent_copy

    def schedule(
        self,
        *,
        subject: str,
        body: str,
        organizer: Person,
        attendees: Sequence[tuple[Person | Address, str, str]],
        start: datetime,
        end: datetime,
        location: str | None = None,
        online: bool = True,
        recurrence: Recurrence | None = None,
        is_all_day: bool = False,
        cancelled: bool = False,
    ) -> None:
        """Put a meeting on the organizer's and each internal attendee's calendar.

        A cancelled meeting is gone from the organizer's calendar and stays, marked
        cancelled, on the attendees' (as Outlook does until they remove it).
        """
        self._sequence += 1
        uid = graph_id("ical", subject, self._sequence).replace("AAMkAG", "040000008200E0")
        join = (
            f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{uid[14:40]}%40thread.v2/0"
            if online
            else None
        )
        guests = [
            (a.email if isinstance(a, Person) else a, kind, answer) for a, kind, answer in attendees
        ]
        created = datetime.combine(self.anchor - timedelta(days=45), time(8, 0), UTC)
        holders: list[tuple[Person, bool, str]] = []
        if not cancelled:
            holders.append((organizer, True, "organizer"))
        for who, _, answer in attendees:
            if isinstance(who, Person) and who.id != organizer.id:
                holders.append((who, False, answer))
        for holder, is_organizer, answer in holders:
            box = self.mailbox_of(holder)
            if box is None:
                continue
            box.events.append(
                DemoEvent(
                    id=graph_id("event", holder.id, self._sequence),
                    ical_uid=uid,
                    subject=f"Canceled: {subject}" if cancelled else subject,
                    body=body,
                    organizer=organizer.email,
                    attendees=guests,
                    start=start,
                    end=end,
                    is_all_day=is_all_day,
                    location=location,
                    join_url=join,
                    is_cancelled=cancelled,
                    is_organizer=is_organizer,
                    response=answer,
                    created=created,
                    recurrence=recurrence,
                    show_as="free" if is_all_day or cancelled else "busy",
                )
            )


def _folders(person: Person) -> list[DemoFolder]:
    root = graph_id("folder", person.id, "msgfolderroot")
    return [
        DemoFolder(graph_id("folder", person.id, name), name, display, root)
        for name, display in WELL_KNOWN_FOLDERS.items()
    ]


# -- seeding -----------------------------------------------------------------------------


def _paragraphs(*lines: str) -> str:
    return (
        "<html><body>" + "".join(f"<p>{html.escape(line)}</p>" for line in lines) + "</body></html>"
    )


def _tickets(seed: int, project: str) -> tuple[list[str], list[str]]:
    """The sprint's ticket names among its first 200: (in progress, stuck)."""
    tickets = sprint_tickets(seed, project)[:200]
    return (
        [t.name for t in tickets if t.state == "working"],
        [t.name for t in tickets if t.state == "stuck"],
    )


class _Seeder:
    """Fills a tenant from one ``random.Random`` in a fixed order."""

    def __init__(self, tenant: DemoTenant) -> None:
        self.tenant = tenant
        self.rng = random.Random(tenant.seed * 1_000_003 + tenant.anchor.toordinal())  # noqa: S311  (demo data)
        self.anchor = datetime.combine(tenant.anchor, time(0, 0), UTC)
        self.by_address = {p.address: p for p in tenant.people}

    def person(self, address: str) -> Person:
        return self.by_address[address]

    def run(self) -> None:
        for project in PROJECTS:
            self.project_mail(project)
        self.notifications()
        self.junk()
        self.archive_old_mail()
        for project in PROJECTS:
            self.project_meetings(project)
        self.cross_project_meetings()

    def read_flags(self, sent: datetime, addresses: Sequence[str]) -> dict[str, bool]:
        age = self.anchor - sent
        chance = 0.92 if age > timedelta(days=3) else 0.3
        return {a.lower(): self.rng.random() < chance for a in addresses}

    def project_mail(self, project: str) -> None:
        rng = self.rng
        name = PROJECT_NAMES[project]
        lead_address, members = TEAMS[project]
        lead = self.person(lead_address)
        team = [self.person(m) for m in members]
        other_leads = [self.person(head) for key, (head, _) in TEAMS.items() if key != project]
        working, stuck = _tickets(self.tenant.seed, project)
        # Weekly status, Monday mornings of the last four weeks.
        monday = self.anchor - timedelta(days=self.anchor.weekday())
        for week in range(4, 0, -1):
            sent = monday - timedelta(weeks=week) + timedelta(hours=8, minutes=rng.randint(0, 50))
            if sent >= self.anchor:
                continue
            progress = rng.sample(working, k=min(3, len(working)))
            blocked = rng.choice(stuck) if stuck else None
            lines = [
                f"Hi team, here is where {name} stands this week.",
                *(f"In progress: {t}" for t in progress),
                f"Blocked: {blocked}" if blocked else "Nothing is blocked.",
                f"— {lead.name}",
            ]
            recipients = [p.address for p in team]
            self.tenant.deliver(
                sender=lead.email,
                to=[p.email for p in team],
                cc=[p.email for p in other_leads],
                subject=f"[{name}] Weekly status — week {sent.isocalendar().week}",
                body=_paragraphs(*lines),
                sent=sent,
                read_by=self.read_flags(sent, recipients + [p.address for p in other_leads]),
            )
        # Ticket threads.
        topics = rng.sample(working, k=min(4, len(working))) + stuck[:2]
        for topic in topics:
            is_blocked = topic in stuck
            people = [lead, *team]
            starter = rng.choice(people)
            sent = self.anchor - timedelta(days=rng.randint(1, 26), hours=rng.randint(0, 9))
            sent = sent.replace(hour=rng.randint(8, 16), minute=rng.randint(0, 59), second=0)
            subject = f"Blocked: {topic}" if is_blocked else f"Question about {topic}"
            conversation = graph_id("conversation", project, topic)
            author = starter
            replies = rng.randint(1, 4)
            for number in range(replies + 1):
                if sent >= self.anchor:
                    break
                others = [p for p in people if p.id != author.id]
                text = (
                    f"{topic} is blocked and needs a decision."
                    if is_blocked and number == 0
                    else rng.choice(_REPLIES)
                )
                recipients = [p.address for p in others]
                self.tenant.deliver(
                    sender=author.email,
                    to=[p.email for p in others[:2]],
                    cc=[p.email for p in others[2:]],
                    subject=subject if number == 0 else f"RE: {subject}",
                    body=_paragraphs(text, f"— {author.name}"),
                    sent=sent,
                    importance="high" if is_blocked and number == 0 else "normal",
                    has_attachments=rng.random() < 0.2,
                    conversation_id=conversation,
                    read_by=self.read_flags(sent, recipients),
                )
                author = rng.choice(others)
                sent += timedelta(hours=rng.randint(1, 20), minutes=rng.randint(0, 59))
        # The outside vendor's thread with the lead.
        vendor_name, vendor_address, thing = _VENDORS[project]
        vendor = Address(vendor_name, vendor_address)
        sent = self.anchor - timedelta(days=rng.randint(5, 12), hours=rng.randint(1, 6))
        conversation = graph_id("conversation", project, "vendor")
        self.tenant.deliver(
            sender=vendor,
            to=[lead.email],
            subject=f"{name}: {thing}",
            body=_paragraphs(f"Please find the {thing} attached.", f"Best, {vendor_name}"),
            sent=sent,
            has_attachments=True,
            conversation_id=conversation,
            read_by={lead.address: True},
        )
        self.tenant.deliver(
            sender=lead.email,
            to=[vendor],
            cc=[team[0].email],
            subject=f"RE: {name}: {thing}",
            body=_paragraphs("Thanks, we will review it this week.", f"— {lead.name}"),
            sent=sent + timedelta(hours=3),
            conversation_id=conversation,
            read_by=self.read_flags(sent, [team[0].address]),
        )

    def notifications(self) -> None:
        rng = self.rng
        monday_com = Address("monday.com", "notifications@monday.com")
        for project in PROJECTS:
            lead_address, members = TEAMS[project]
            working, _ = _tickets(self.tenant.seed, project)
            for _ in range(3):
                who = self.person(rng.choice(members))
                ticket = rng.choice(working)
                sent = self.anchor - timedelta(days=rng.randint(0, 20), hours=rng.randint(1, 12))
                self.tenant.deliver(
                    sender=monday_com,
                    to=[who.email],
                    subject=f"{self.person(lead_address).name} mentioned you on {ticket}",
                    body=_paragraphs(f"You were mentioned on {ticket}.", "Open it in monday.com."),
                    sent=sent,
                    read_by=self.read_flags(sent, [who.address]),
                )

    def junk(self) -> None:
        promo = Address("Mega Deals", "promo@deals.example")
        for person in PEOPLE:
            sent = self.anchor - timedelta(days=self.rng.randint(1, 14), hours=3)
            message = self.tenant.deliver(
                sender=promo,
                to=[person.email],
                subject="You have been selected for an exclusive offer",
                body=_paragraphs("Click here to claim your prize."),
                sent=sent,
            )
            assert message is None
            box = self.tenant.mailbox_of(person)
            assert box is not None
            junk = box.folder("junkemail")
            assert junk is not None
            box.messages[-1].folder_id = junk.id

    def archive_old_mail(self) -> None:
        # Leads file mail older than three weeks away.
        for lead_address, _ in TEAMS.values():
            box = self.tenant.mailbox_of(self.person(lead_address))
            assert box is not None
            inbox, archive = box.folder("inbox"), box.folder("archive")
            assert inbox is not None
            assert archive is not None
            for message in box.messages:
                old = self.anchor - message.received > timedelta(days=21)
                if message.folder_id == inbox.id and old and message.is_read:
                    message.folder_id = archive.id

    def answers(self, people: Sequence[Person]) -> list[tuple[Person, str, str]]:
        choices = ("accepted", "accepted", "accepted", "tentativelyAccepted", "declined", "none")
        return [(p, "required", self.rng.choice(choices)) for p in people]

    def project_meetings(self, project: str) -> None:
        rng = self.rng
        name = PROJECT_NAMES[project]
        lead_address, members = TEAMS[project]
        lead = self.person(lead_address)
        team = [self.person(m) for m in members]
        today = self.tenant.anchor
        # Daily standup, weekdays, 15 minutes; one moved, one skipped.
        series_start = today - timedelta(days=42)
        at = _STANDUP[project]
        moved_day = _next_weekday(today + timedelta(days=1))
        moved_start = datetime.combine(moved_day, time(at.hour + 2, at.minute), UTC)
        self.tenant.schedule(
            subject=f"{name} daily standup",
            body=_paragraphs("What did you do, what will you do, what blocks you?"),
            organizer=lead,
            attendees=self.answers(team),
            start=datetime.combine(series_start, at, UTC),
            end=datetime.combine(series_start, at, UTC) + timedelta(minutes=15),
            location="Microsoft Teams Meeting",
            recurrence=Recurrence(
                pattern="weekly",
                interval=1,
                days_of_week=_WEEKDAYS[:5],
                start_date=series_start,
                moved={moved_day: (moved_start, moved_start + timedelta(minutes=15))},
                skipped=frozenset({_next_weekday(today + timedelta(days=8))}),
            ),
        )
        # Fortnightly planning (Mondays) and review (Thursdays).
        monday = today - timedelta(days=today.weekday() + 28)
        offset = PROJECTS.index(project)
        for title, weekday, hour, minutes in (
            ("sprint planning", 0, 13 + offset, 60),
            ("sprint review", 3, 14 + offset, 45),
        ):
            first = monday + timedelta(days=weekday)
            self.tenant.schedule(
                subject=f"{name} {title}",
                body=_paragraphs(f"The {title} of {name}.", "Agenda in the sprint board."),
                organizer=lead,
                attendees=self.answers(team),
                start=datetime.combine(first, time(hour, 0), UTC),
                end=datetime.combine(first, time(hour, 0), UTC) + timedelta(minutes=minutes),
                location="Microsoft Teams Meeting",
                recurrence=Recurrence(
                    pattern="weekly",
                    interval=2,
                    days_of_week=(_WEEKDAYS[weekday],),
                    start_date=first,
                ),
            )
        # One-off meetings: two ahead, one behind.
        ahead = _ONE_OFFS[project]
        for title, days, hour, minutes, room in ahead:
            day = _next_weekday(today + timedelta(days=days))
            begins = datetime.combine(day, time(hour, 0), UTC)
            self.tenant.schedule(
                subject=title,
                body=_paragraphs(f"{title} ({name}).", "Please read the notes beforehand."),
                organizer=lead,
                attendees=[*self.answers(team[:2]), (team[2], "optional", "none")],
                start=begins,
                end=begins + timedelta(minutes=minutes),
                location=room,
                online=rng.random() < 0.7,
            )
        vendor_name, vendor_address, thing = _VENDORS[project]
        begins = datetime.combine(
            _next_weekday(today + timedelta(days=6 + offset)), time(16, 0), UTC
        )
        self.tenant.schedule(
            subject=f"{name}: {thing} with {vendor_name}",
            body=_paragraphs(f"Walk through the {thing}."),
            organizer=lead,
            attendees=[
                (Address(vendor_name, vendor_address), "required", "none"),
                *self.answers(team[:1]),
            ],
            start=begins,
            end=begins + timedelta(minutes=30),
        )

    def cross_project_meetings(self) -> None:
        today = self.tenant.anchor
        leads = [self.person(lead) for lead, _ in TEAMS.values()]
        begins = datetime.combine(_next_weekday(today + timedelta(days=16)), time(9, 0), UTC)
        self.tenant.schedule(
            subject="Quarterly roadmap review",
            body=_paragraphs("Roadmaps of Apollo, Borealis and Cygnus for next quarter."),
            organizer=leads[0],
            attendees=[
                *self.answers(leads[1:]),
                (Address("Room 4.12 Atlas", "room.atlas@example.com"), "resource", "accepted"),
            ],
            start=begins,
            end=begins + timedelta(minutes=90),
            location="Room 4.12 Atlas",
        )
        hack_day = today + timedelta(days=20)
        cygnus_lead, cygnus_team = TEAMS["cygnus"]
        self.tenant.schedule(
            subject="Cygnus hack day",
            body=_paragraphs("A day to try ideas for the data platform."),
            organizer=self.person(cygnus_lead),
            attendees=self.answers([self.person(a) for a in cygnus_team]),
            start=datetime.combine(hack_day, time(0, 0), UTC),
            end=datetime.combine(hack_day + timedelta(days=1), time(0, 0), UTC),
            is_all_day=True,
            online=False,
        )
        borealis_lead, borealis_team = TEAMS["borealis"]
        begins = datetime.combine(_next_weekday(today + timedelta(days=3)), time(15, 0), UTC)
        self.tenant.schedule(
            subject="Borealis design critique",
            body=_paragraphs("Cancelled: the designs are not ready; we will find a new date."),
            organizer=self.person(borealis_lead),
            attendees=self.answers([self.person(a) for a in borealis_team]),
            start=begins,
            end=begins + timedelta(minutes=60),
            cancelled=True,
        )


_ONE_OFFS: Final[Mapping[str, tuple[tuple[str, int, int, int, str | None], ...]]] = {
    "apollo": (
        ("Apollo launch go/no-go", 9, 14, 60, "Room 2.01 Orion"),
        ("Apollo sprint retro", -6, 15, 60, None),
    ),
    "borealis": (
        ("Borealis App Store submission review", 5, 11, 45, None),
        ("Borealis crash triage", -9, 10, 30, None),
    ),
    "cygnus": (
        ("Cygnus warehouse cost review", 12, 16, 60, "Room 4.12 Atlas"),
        ("Cygnus incident review: late orders ingestion", -10, 10, 45, None),
    ),
}

_REPLIES: Final = (
    "I had a look; the change is small, I can take it this sprint.",
    "Can we pair on this tomorrow morning?",
    "Agreed. I updated the ticket on the board.",
    "The staging deploy is done, please check.",
    "I need the final copy from marketing before I can finish.",
    "Moved to review. Comments welcome.",
    "Let's discuss it in the standup.",
)


def _next_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
