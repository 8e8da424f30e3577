"""The seeded demo Slack workspace the Slack sandbox serves.

It matches the Monday demo account (:mod:`dataworkflows.sandboxes.monday.demo_data`):
the same people (:data:`DEMO_USERS`, each Slack user carrying its monday user id),
and one channel per project (``#proj-apollo``, ``#proj-borealis``, ``#proj-cygnus``,
named after :data:`~dataworkflows.sandboxes.monday.demo_data.PROJECTS`) whose
history talks about that project's tickets (``APO-12``, ``BOR-7``, ``CYG-203``) as
the sprint boards name them. Besides: ``#general``; ``#watercooler``, which the bot
is not a member of (``not_in_channel``); and ``#proj-zephyr``, an archived channel
(``is_archived``). ``#proj-cygnus`` holds more than 100 top-level messages, so that
``conversations.history``'s default page of 100 has a next page.

Everything follows from the seed (``random.Random(seed)``); timestamps are offsets
from an anchor instant (the Monday data's :data:`ANCHOR` unless
:meth:`SlackWorkspace.seeded` is given another), never the wall clock, so two runs
with the same seed and anchor give the same workspace, ts for ts. Each channel's
history covers about five weeks and ends shortly before the anchor (the archived
channel's a couple of weeks before), so a report made on the anchor's day sees the
last week's discussion; the anchor moves the ts, never the texts. Ids are
fixed (configuration and docs can name them) and follow Slack's id patterns
(slack-api-specs: ``^[CGD][A-Z0-9]{8,}$`` for channels, ``^[UW][A-Z0-9]{8,}$`` users,
``^B[A-Z0-9]{8,}$`` bots).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from dataworkflows.sandboxes.world import ANCHOR, PROJECT_NAMES, PROJECTS, TICKET_PREFIX, TOPICS
from dataworkflows.sandboxes.world import DEMO_USERS as WORLD_USERS

__all__ = [
    "ANCHOR",
    "ARCHIVED_CHANNEL_ID",
    "BOT",
    "DEMO_USERS",
    "DIRECT_MESSAGE_NAME",
    "GENERAL_CHANNEL_ID",
    "NOT_MEMBER_CHANNEL_ID",
    "PROJECT_CHANNEL_IDS",
    "TEAM",
    "DemoBot",
    "DemoChannel",
    "DemoMessage",
    "DemoTeam",
    "DemoUser",
    "SlackWorkspace",
    "format_ts",
    "rich_text_blocks",
    "ts_micros",
]


@dataclass(frozen=True, slots=True)
class DemoTeam:
    """The workspace (a Slack "team")."""

    id: str
    name: str
    domain: str

    @property
    def url(self) -> str:
        """The workspace URL ``auth.test`` reports."""
        return f"https://{self.domain}.slack.com/"


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A person in the workspace; ``monday_user_id`` is the same person in monday."""

    id: str
    name: str
    """The handle (``maya.patel``), what slash commands send as ``user_name``."""
    real_name: str
    email: str
    monday_user_id: str


@dataclass(frozen=True, slots=True)
class DemoBot:
    """The Data Workflows app's bot: its user, its bot id and its app id."""

    user_id: str
    bot_id: str
    app_id: str
    name: str
    real_name: str


TEAM: Final = DemoTeam(id="T07DWDEMO1", name="Data Workflows Demo", domain="dataworkflows-demo")
BOT: Final = DemoBot(
    user_id="U07DWBOT01",
    bot_id="B07DWBOT01",
    app_id="A07DWAPP01",
    name="dataworkflows",
    real_name="Data Workflows",
)

DEMO_USERS: Final = tuple(
    DemoUser(
        id=f"U0{u.id}",
        name=u.email.split("@")[0],
        real_name=u.name,
        email=u.email,
        monday_user_id=u.id,
    )
    for u in WORLD_USERS
)
"""The monday demo account's people, as Slack users (``U061000001`` is monday ``61000001``)."""

PROJECT_CHANNEL_IDS: Final[Mapping[str, str]] = {
    "apollo": "C07APOLLO1",
    "borealis": "C07BOREAL1",
    "cygnus": "C07CYGNUS1",
}
"""Each project's channel (``#proj-<key>``), by project key."""
GENERAL_CHANNEL_ID: Final = "C07GENERAL"
NOT_MEMBER_CHANNEL_ID: Final = "C07WATERC1"
"""``#watercooler``: the bot is not a member (posting answers ``not_in_channel``)."""
DIRECT_MESSAGE_NAME: Final = "directmessage"
"""What slash commands and interaction payloads call a direct message's channel."""
ARCHIVED_CHANNEL_ID: Final = "C07ARCHIV1"
"""``#proj-zephyr``: archived (posting answers ``is_archived``)."""


def ts_micros(ts: str) -> int:
    """A ts as integer microseconds (``"1764123456.000100"`` -> 1764123456000100)."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def format_ts(micros: int) -> str:
    """Integer microseconds as a Slack ts (``seconds.micro``, six digits)."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def rich_text_blocks(text: str, *, block_id: str) -> list[dict[str, Any]]:
    """The ``rich_text`` block Slack's clients attach to a typed message."""
    return [
        {
            "type": "rich_text",
            "block_id": block_id,
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
            ],
        }
    ]


@dataclass(slots=True)
class DemoMessage:
    """A message as stored: typed by a user, posted by the bot, or a system message."""

    ts: str
    user: str | None
    text: str
    bot_id: str | None = None
    app_id: str | None = None
    subtype: str | None = None
    thread_ts: str | None = None
    """The parent's ts, on a thread reply (a parent's own is derived from its replies)."""
    blocks: list[dict[str, Any]] | None = None
    client_msg_id: str | None = None
    edited: dict[str, str] | None = None
    attachments: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None

    @property
    def is_reply(self) -> bool:
        """A thread reply (not the parent)."""
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass(slots=True)
class DemoChannel:
    """A public channel, or the bot's direct message with one person (``user`` set),
    and its messages (replies included), in ts order."""

    id: str
    name: str
    created: int
    creator: str
    topic: str
    purpose: str
    members: list[str]
    is_general: bool = False
    is_archived: bool = False
    project: str | None = None
    messages: list[DemoMessage] = field(default_factory=list)
    user: str | None = None
    """The person of a direct message (an IM); None for a channel."""

    @property
    def is_im(self) -> bool:
        """A direct message between the bot and :attr:`user`."""
        return self.user is not None

    @property
    def bot_is_member(self) -> bool:
        """Whether the bot user is in the channel."""
        return BOT.user_id in self.members

    def message(self, ts: str) -> DemoMessage | None:
        """The message ``ts`` (top-level or reply), or None."""
        return next((m for m in self.messages if m.ts == ts), None)

    def replies(self, parent_ts: str) -> list[DemoMessage]:
        """The thread replies to ``parent_ts``, oldest first."""
        return [m for m in self.messages if m.thread_ts == parent_ts and m.ts != parent_ts]

    def add(self, message: DemoMessage) -> None:
        """Store ``message`` (its ts is newer than every other, as Slack issues them)."""
        self.messages.append(message)
        self.messages.sort(key=lambda m: ts_micros(m.ts))


class SlackWorkspace:
    """The demo workspace: team, people, bot and channels with their history."""

    def __init__(
        self, *, channels: list[DemoChannel], seed: int, anchor: datetime = ANCHOR
    ) -> None:
        self.anchor = anchor
        """The instant the seeded history was placed before."""
        self.team = TEAM
        self.bot = BOT
        self.users = DEMO_USERS
        self.seed = seed
        self.channels: dict[str, DemoChannel] = {c.id: c for c in channels}
        self._users = {u.id: u for u in DEMO_USERS}

    @classmethod
    def seeded(cls, seed: int = 7, *, anchor: datetime = ANCHOR) -> SlackWorkspace:
        """The demo workspace for ``seed``, its history placed before ``anchor`` (aware).

        The same seed and anchor always give the same workspace, ts for ts; another
        anchor moves the ts, not the messages.
        """
        if anchor.tzinfo is None or anchor.utcoffset() is None:
            raise ValueError(f"the anchor must be timezone-aware, got {anchor.isoformat()}")
        return _build(seed, anchor.astimezone(UTC))

    def user(self, user_id: str) -> DemoUser | None:
        """The person ``user_id``, or None (the bot is not a person)."""
        return self._users.get(user_id)

    def channel(self, id_or_name: str) -> DemoChannel | None:
        """A channel by id, or by name with or without ``#`` (as chat.postMessage takes)."""
        if id_or_name in self.channels:
            return self.channels[id_or_name]
        name = id_or_name.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    @staticmethod
    def direct_message_id(user_id: str) -> str:
        """The id of the bot's direct message with ``user_id`` (``U061000001``:
        ``D061000001``), whether or not it is open yet."""
        return f"D{user_id[1:]}"

    def direct_message(self, user_id: str, *, created: int) -> DemoChannel | None:
        """The bot's direct message (IM) with the person ``user_id``, opened now if it
        was not yet; None when nobody has that id. chat.postMessage takes a user id as
        its channel and posts here, as Slack does."""
        if user_id not in self._users:
            return None
        im_id = self.direct_message_id(user_id)
        im = self.channels.get(im_id)
        if im is None:
            im = DemoChannel(
                id=im_id,
                name=DIRECT_MESSAGE_NAME,
                created=created,
                creator=user_id,
                topic="",
                purpose="",
                members=[self.bot.user_id, user_id],
                user=user_id,
            )
            self.channels[im_id] = im
        return im

    def latest_ts_micros(self) -> int:
        """The newest ts anywhere, in microseconds (new ts are issued after it)."""
        return max((ts_micros(m.ts) for c in self.channels.values() for m in c.messages), default=0)


# -- seeding -----------------------------------------------------------------------------

_OPENERS: Final = (
    "Morning! Picking up {ticket} ({topic}) today.",
    "{ticket} is blocked: waiting for design sign-off on the {topic}.",
    "PR for {ticket} is up, could someone review? Only the {topic} changes.",
    "Deployed the {topic} changes to staging :rocket:",
    "Heads up: the {topic} slips to next sprint, see {ticket}.",
    "<@{other}> can you take a look at {ticket} when you have a minute?",
    "Standup: done {ticket}, today {ticket2}, no blockers.",
    "QA found an issue with the {topic} on staging, filed {ticket}.",
    "Is the {topic} still on track for Friday?",
    "Moved {ticket} to Review.",
    "Retro notes for {project} are in Confluence.",
    "Estimate for {ticket} went from 3 to 8 hours, the {topic} was bigger than it looked.",
)

_REPLIES: Final = (
    "On it.",
    "Looks good to me :+1:",
    "Merged.",
    "I'll check after lunch.",
    "Still waiting on the vendor.",
    "Yes, should be done by Thursday.",
    "Can we pair on it tomorrow?",
    "Fixed in {ticket}.",
    "Thanks!",
    "Let's discuss at standup.",
)

_GENERAL: Final = (
    "Reminder: all-hands on Thursday at 16:00.",
    "The office wifi is back :tada:",
    "Welcome to the team, <@{other}>!",
    "Release train leaves on Friday, please get your changes in by Wednesday.",
    "Who has the projector adapter?",
    "The {project} demo went well, thanks everyone.",
)

_WATERCOOLER: Final = (
    "Anyone up for lunch at the Thai place?",
    "Coffee machine on the 3rd floor is broken again.",
    "Great talk at the meetup yesterday.",
    "Book club: we're reading 'A Philosophy of Software Design' next.",
)

_PROJECT_COUNTS: Final[Mapping[str, tuple[int, int]]] = {
    "apollo": (45, 60),
    "borealis": (45, 60),
    "cygnus": (120, 140),
}

_SPAN: Final = timedelta(days=35)

_RECENT_LEAD_S: Final = (10 * 3600, 36 * 3600)
"""How long before the anchor a live channel's newest message is (seconds, range).

At least ten hours: with a live demo's anchor at 09:00 UTC
(:func:`~dataworkflows.sandboxes.monday.demo_data.demo_anchor`), the seeded history
ends before the anchor's day begins, so it never lies ahead of the sandbox's clock."""

_ARCHIVED_LEAD_S: Final = (10 * 86_400, 20 * 86_400)
"""How long before the anchor the archived channel's last message is (seconds, range)."""


class _Seeder:
    """Draws messages from one ``random.Random`` in a fixed order.

    Where a channel's history ends is drawn from a second one (``placement``), so the
    messages themselves are the seed's whatever the anchor.
    """

    def __init__(self, seed: int, anchor: datetime) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
        self.placement = random.Random(seed ^ 0x51AC)  # noqa: S311  (demo data)
        self.anchor = anchor
        self.start = anchor - _SPAN
        self._used: set[int] = set()

    def moment(self, after: int, *, max_minutes: int) -> int:
        """A unique ts (microseconds) a few minutes to hours after ``after``."""
        micros = after + self.rng.randint(60, max_minutes * 60) * 1_000_000
        micros += self.rng.randint(1, 999_999) - micros % 1_000_000
        while micros in self._used:
            micros += 1
        self._used.add(micros)
        return micros

    def message_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def user_message(
        self, ts: int, user: str, text: str, *, thread_ts: str | None = None
    ) -> DemoMessage:
        stamp = format_ts(ts)
        return DemoMessage(
            ts=stamp,
            user=user,
            text=text,
            thread_ts=thread_ts,
            blocks=rich_text_blocks(text, block_id=self.message_id()[:5]),
            client_msg_id=self.message_id(),
        )

    def fill(
        self,
        channel: DemoChannel,
        count: int,
        lines: tuple[str, ...],
        *,
        lead_s: tuple[int, int] = _RECENT_LEAD_S,
    ) -> None:
        """``count`` top-level messages over the span, some with threads (always the
        newest two), the newest message ``lead_s`` (a range, in seconds) before the anchor."""
        rng = self.rng
        people = [m for m in channel.members if m != BOT.user_id]
        key = channel.project
        begin = int(self.start.timestamp() * 1_000_000)
        for person in people:
            begin = self.moment(begin, max_minutes=30)
            channel.messages.append(
                DemoMessage(
                    ts=format_ts(begin),
                    user=person,
                    text=f"<@{person}> has joined the channel",
                    subtype="channel_join",
                )
            )
        gap = max(10, int(_SPAN.total_seconds() / 60 / max(count, 1) * 1.6))
        clock = begin
        for number in range(count):
            clock = self.moment(clock, max_minutes=gap)
            user = rng.choice(people)
            text = rng.choice(lines).format(**self._words(key, user, people))
            parent = self.user_message(clock, user, text)
            channel.messages.append(parent)
            # The newest two always have threads, so a recent week always has discussion
            # (a report's "most discussed"), whatever the seed draws.
            if rng.random() < 0.18 or number >= count - 2:
                reply_at = clock
                for _ in range(rng.randint(1, 5)):
                    reply_at = self.moment(reply_at, max_minutes=90)
                    replier = rng.choice(people)
                    reply = rng.choice(_REPLIES).format(**self._words(key, replier, people))
                    channel.messages.append(
                        self.user_message(reply_at, replier, reply, thread_ts=parent.ts)
                    )
        channel.messages.sort(key=lambda m: ts_micros(m.ts))
        self._end_before_anchor(channel.messages, lead_s)

    def _end_before_anchor(self, messages: list[DemoMessage], lead_s: tuple[int, int]) -> None:
        """Move ``messages`` together (whole seconds) so the newest is ``lead_s`` before
        the anchor: the history ends recently, whatever the gaps the seed drew."""
        newest = max(ts_micros(m.ts) for m in messages)
        end = self.anchor - timedelta(seconds=self.placement.randint(*lead_s))
        shift = (int(end.timestamp()) - newest // 1_000_000) * 1_000_000
        moved = {ts_micros(m.ts) for m in messages}
        self._used -= moved
        self._used |= {micros + shift for micros in moved}
        for message in messages:
            message.ts = format_ts(ts_micros(message.ts) + shift)
            if message.thread_ts is not None:
                message.thread_ts = format_ts(ts_micros(message.thread_ts) + shift)

    def _words(self, key: str | None, user: str, people: list[str]) -> dict[str, str]:
        rng = self.rng
        project = key or rng.choice(PROJECTS)
        prefix = TICKET_PREFIX[project]
        others = [p for p in people if p != user] or [user]
        return {
            "ticket": f"{prefix}-{rng.randint(1, 60)}",
            "ticket2": f"{prefix}-{rng.randint(1, 60)}",
            "topic": rng.choice(TOPICS[project]),
            "other": rng.choice(others),
            "project": PROJECT_NAMES[project],
        }

    def status_reports(self, channel: DemoChannel) -> None:
        """The bot's weekly status posts: the span's Mondays 09:00 UTC before the anchor.

        Always as many (whatever the anchor's weekday), so the draws that follow, and
        with them the other channels' messages, do not depend on the anchor.
        """
        assert channel.project is not None
        name = PROJECT_NAMES[channel.project]
        monday = self.anchor - timedelta(days=self.anchor.weekday())
        week = monday.replace(hour=9, minute=0, second=0, microsecond=0)
        if week >= self.anchor - timedelta(seconds=1):
            week -= timedelta(days=7)
        for _ in range(_SPAN.days // 7):
            at = int(week.timestamp() * 1_000_000) + self.rng.randint(1, 999_999)
            while at in self._used:
                at += 1
            self._used.add(at)
            done, working, stuck = (self.rng.randint(a, b) for a, b in ((3, 15), (2, 9), (0, 3)))
            text = f"Weekly status: {name}: {done} done, {working} in progress, {stuck} stuck"
            channel.messages.append(
                DemoMessage(
                    ts=format_ts(at),
                    user=BOT.user_id,
                    bot_id=BOT.bot_id,
                    app_id=BOT.app_id,
                    text=text,
                    blocks=[
                        {
                            "type": "header",
                            "block_id": f"hdr{at % 100_000}",
                            "text": {"type": "plain_text", "text": f"Weekly status: {name}"},
                        },
                        {
                            "type": "section",
                            "block_id": f"sum{at % 100_000}",
                            "text": {
                                "type": "mrkdwn",
                                "text": f"*{done}* done · *{working}* in progress · "
                                f"*{stuck}* stuck",
                            },
                        },
                    ],
                )
            )
            week -= timedelta(days=7)
        channel.messages.sort(key=lambda m: ts_micros(m.ts))


def _created(seeder: _Seeder, days_before: int) -> int:
    return int((seeder.start - timedelta(days=days_before)).timestamp())


def _build(seed: int, anchor: datetime) -> SlackWorkspace:
    seeder = _Seeder(seed, anchor)
    rng = seeder.rng
    people = [u.id for u in DEMO_USERS]
    everyone = [*people, BOT.user_id]
    channels: list[DemoChannel] = []

    general = DemoChannel(
        id=GENERAL_CHANNEL_ID,
        name="general",
        created=_created(seeder, 400),
        creator=people[0],
        topic="Company-wide announcements",
        purpose="This channel is for workspace-wide communication and announcements.",
        members=list(everyone),
        is_general=True,
    )
    seeder.fill(general, rng.randint(25, 35), _GENERAL)
    channels.append(general)

    for key in PROJECTS:
        channel = DemoChannel(
            id=PROJECT_CHANNEL_IDS[key],
            name=f"proj-{key}",
            created=_created(seeder, 120),
            creator=people[PROJECTS.index(key)],
            topic=f"{PROJECT_NAMES[key]}: status, releases and questions",
            purpose=f"Day-to-day work on {PROJECT_NAMES[key]}.",
            members=list(everyone),
            project=key,
        )
        low, high = _PROJECT_COUNTS[key]
        seeder.fill(channel, rng.randint(low, high), _OPENERS)
        seeder.status_reports(channel)
        channels.append(channel)

    watercooler = DemoChannel(
        id=NOT_MEMBER_CHANNEL_ID,
        name="watercooler",
        created=_created(seeder, 300),
        creator=people[1],
        topic="Off-topic",
        purpose="Lunch, coffee and everything else.",
        members=list(people),
    )
    seeder.fill(watercooler, rng.randint(12, 18), _WATERCOOLER)
    channels.append(watercooler)

    archived = DemoChannel(
        id=ARCHIVED_CHANNEL_ID,
        name="proj-zephyr",
        created=_created(seeder, 500),
        creator=people[2],
        topic="Zephyr (cancelled)",
        purpose="The Zephyr pilot; archived when it was cancelled.",
        members=list(everyone),
        is_archived=True,
        project=None,
    )
    seeder.fill(archived, 10, _GENERAL, lead_s=_ARCHIVED_LEAD_S)
    last = max(ts_micros(m.ts) for m in archived.messages)
    archived.messages.append(
        DemoMessage(
            ts=format_ts(seeder.moment(last, max_minutes=60)),
            user=people[2],
            text=f"<@{people[2]}> archived the channel",
            subtype="channel_archive",
        )
    )
    channels.append(archived)
    return SlackWorkspace(channels=channels, seed=seed, anchor=anchor)
