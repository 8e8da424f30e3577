"""Reading the connectors' data leniently: a workflow may pass any JSON.

Each helper answers None (or an empty mapping) for what it cannot read, instead of
failing: text stripped of blanks, dates and instants in the shapes the connectors use
(ISO strings, Outlook's ``{date_time, time_zone}``), Monday columns by id or type, and
links from configured URL patterns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "as_date",
    "as_instant",
    "as_mapping",
    "fill_link",
    "find_column",
    "iso_or_none",
    "text_or_none",
]


def text_or_none(value: Any) -> str | None:
    """``value`` as text without surrounding blanks; None when there is none."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_date(value: Any) -> date | None:
    """A date from a date, a datetime, or an ISO-8601 date or instant string; else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def as_instant(value: Any) -> datetime | None:
    """An aware datetime from an ISO string, a datetime, or Outlook's
    ``{date_time, time_zone}``; naive times are UTC unless the zone says otherwise."""
    zone_name: str | None = None
    if isinstance(value, Mapping):
        zone_name = text_or_none(value.get("time_zone") or value.get("timeZone"))
        value = value.get("date_time") or value.get("dateTime")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            # Graph sends seven fractional digits; Python takes at most six.
            trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text)
            try:
                moment = datetime.fromisoformat(trimmed)
            except ValueError:
                return None
    else:
        return None
    if moment.tzinfo is None:
        zone: Any = UTC
        if zone_name and zone_name.upper() != "UTC":
            try:
                zone = ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                zone = UTC
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def iso_or_none(moment: datetime | None) -> str | None:
    """``moment`` in ISO-8601, or None."""
    return None if moment is None else moment.isoformat()


def find_column(
    columns: Mapping[str, Any], column_id: str, types: frozenset[str]
) -> Mapping[str, Any] | None:
    """The column ``column_id``, else the first column of one of ``types``."""
    found = columns.get(column_id)
    if isinstance(found, Mapping):
        return found
    for value in columns.values():
        if isinstance(value, Mapping) and value.get("type") in types:
            return value
    return None


def fill_link(template: str | None, **values: str | None) -> str | None:
    """A URL from a pattern with ``{id}``-style placeholders (plain replacement, not
    str.format: the pattern is configuration and must not reach into objects)."""
    if not template:
        return None
    url = template
    for name, value in values.items():
        placeholder = "{" + name + "}"
        if placeholder in url:
            if not value:
                return None
            url = url.replace(placeholder, value)
    return url
