"""The other sources of a report, normalised: meetings, changed pages, Slack threads.

Outlook events become :class:`Meeting` (cancelled ones and those outside the horizon
left out), Confluence pages :class:`PageChange` (most recent first), and Slack messages
:class:`Discussion` (threads with replies, as plain text) with a count of what people
wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from dataworkflows.reports.lenient import as_instant, as_mapping, iso_or_none, text_or_none
from dataworkflows.reports.model import Discussion, Meeting, PageChange

__all__ = ["discussions", "meetings", "pages"]

_MENTION_RE: Final = re.compile(
    r"<([@#!])([^<>|]*)(?:\|([^<>]*))?>|<([^<>|]*)\|([^<>]*)>|<([^<>]*)>"
)


def _name_of(person: Any) -> str | None:
    if isinstance(person, Mapping):
        nested = person.get("emailAddress") or person.get("email_address")
        if isinstance(nested, Mapping):
            person = nested
        return text_or_none(person.get("name")) or text_or_none(person.get("address"))
    return text_or_none(person)


def meetings(
    events: Iterable[Any],
    *,
    today: date,
    horizon_days: int = 7,
    tz: str = "UTC",
    keywords: Sequence[str] = (),
) -> list[Meeting]:
    """Meetings from ``today`` to ``horizon_days`` ahead in ``tz``, by start; cancelled
    ones left out, ones without a readable start kept last; with ``keywords``, only
    those whose subject contains one of them."""
    zone = ZoneInfo(tz)
    wanted = [k.casefold() for k in keywords if k.strip()]
    first = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    last = first + timedelta(days=horizon_days + 1)
    found: list[tuple[datetime | None, Meeting]] = []
    for event in events:
        if not isinstance(event, Mapping) or event.get("is_cancelled") or event.get("isCancelled"):
            continue
        subject = text_or_none(event.get("subject")) or "(no subject)"
        if wanted and not any(k in subject.casefold() for k in wanted):
            continue
        start = as_instant(event.get("start"))
        end = as_instant(event.get("end"))
        if start is not None and not (first <= start < last or (end and start < first < end)):
            continue
        found.append(
            (
                start,
                Meeting(
                    subject=subject,
                    start=iso_or_none(start),
                    end=iso_or_none(end),
                    all_day=bool(event.get("is_all_day") or event.get("isAllDay")),
                    organizer=_name_of(event.get("organizer")),
                    location=_name_of(event.get("location")),
                    url=text_or_none(event.get("online_meeting_url"))
                    or text_or_none(event.get("url"))
                    or text_or_none(event.get("web_link")),
                ),
            )
        )
    found.sort(key=lambda pair: (pair[0] is None, pair[0] or first, pair[1].subject))
    return [meeting for _, meeting in found]


def pages(entries: Iterable[Any]) -> list[PageChange]:
    """Changed pages, most recently changed first."""
    found: list[tuple[datetime | None, PageChange]] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        version = as_mapping(entry.get("version"))
        modified = as_instant(
            entry.get("last_modified") or entry.get("lastModified") or version.get("created_at")
        )
        found.append(
            (
                modified,
                PageChange(
                    id=text_or_none(entry.get("id")),
                    title=text_or_none(entry.get("title")) or "(untitled)",
                    url=text_or_none(entry.get("url")),
                    last_modified=iso_or_none(modified),
                    author=_name_of(entry.get("author"))
                    or text_or_none(version.get("author_id"))
                    or text_or_none(entry.get("author_id")),
                ),
            )
        )
    epoch = datetime.min.replace(tzinfo=UTC)
    found.sort(key=lambda pair: (pair[0] or epoch, pair[1].title), reverse=True)
    return [page for _, page in found]


def _plain_slack(text: str, people: Mapping[str, str]) -> str:
    """Slack message text as plain text: mentions by name, links by label, escapes resolved."""

    def replace(match: re.Match[str]) -> str:
        sigil, target, label, url, url_label, bare = match.groups()
        if sigil == "@":
            return "@" + (label or people.get(target, target))
        if sigil == "#":
            return "#" + (label or target)
        if sigil == "!":
            # <!here>, <!date^...|fallback>: the fallback text when there is one.
            return label or "@" + target.split("^")[0]
        if url is not None:
            return url_label
        return bare

    plain = _MENTION_RE.sub(replace, text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _shorten(text: str, length: int = 280) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def _posted_at(ts: str) -> str | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC).isoformat()
    except (ValueError, OverflowError, OSError):
        return None


def discussions(
    messages: Iterable[Any], *, people: Mapping[str, str] | None = None
) -> tuple[list[Discussion], int]:
    """The threads with replies, most replied first, and how many top-level messages
    people (not bots, not join notices) wrote."""
    people = people or {}
    threads: list[Discussion] = []
    count = 0
    seen: set[str] = set()
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        ts = text_or_none(message.get("ts"))
        thread = text_or_none(message.get("thread_ts"))
        if ts is None or ts in seen or (thread is not None and thread != ts):
            continue
        if message.get("subtype") or message.get("bot_id"):
            continue
        seen.add(ts)
        count += 1
        try:
            replies = int(message.get("reply_count") or 0)
        except (TypeError, ValueError):
            replies = 0
        if replies <= 0:
            continue
        user = text_or_none(message.get("user"))
        threads.append(
            Discussion(
                ts=ts,
                user=user,
                author=people.get(user, user) if user else None,
                text=_shorten(_plain_slack(str(message.get("text") or ""), people)),
                reply_count=replies,
                posted_at=_posted_at(ts),
            )
        )
    threads.sort(key=lambda d: (-d.reply_count, -_ts_number(d.ts)))
    return threads, count


def _ts_number(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0
