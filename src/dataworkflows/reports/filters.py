"""The filters report templates may use, per output format.

Every format has :data:`COMMON_FILTERS` (``date_fmt``, ``plural``, ``truncate_chars``,
``days_between``, ``relative_day``, ``signed``, ``safe_url``); :data:`FILTERS_BY_FORMAT`
adds the escaping filters right for each format only (Slack's ``slack_link``,
``slack_date``, ``slack_mention``, ``mrkdwn_escape``; Markdown's ``md_escape``,
``md_link``; Confluence's and HTML's ``storage_escape``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any, Final

import markupsafe

from dataworkflows.reports.escaping import (
    Mrkdwn,
    md_escape,
    mrkdwn_escape,
    storage_escape,
    trusted_mrkdwn,
)
from dataworkflows.reports.lenient import as_date
from dataworkflows.reports.store import TemplateFormat

__all__ = [
    "COMMON_FILTERS",
    "FILTERS_BY_FORMAT",
    "as_datetime",
    "date_fmt",
    "days_between",
    "md_link",
    "plural",
    "relative_day",
    "safe_url",
    "signed",
    "slack_date",
    "slack_link",
    "slack_mention",
    "truncate_chars",
]


def as_datetime(value: Any) -> datetime | None:
    """An aware datetime (UTC when no offset is given) from a datetime or ISO string."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def slack_link(url: Any, text: Any = None) -> Mrkdwn:
    """``<url|text>`` for Slack; just the text when there is no usable URL."""
    label = _text(text if text is not None else url).replace("\n", " ")
    target = _text(url).strip()
    if not target.startswith(("https://", "http://", "mailto:")) or any(
        c in target for c in "|<> \n"
    ):
        return mrkdwn_escape(label)
    # Inside <...|...> Slack still wants &, < and > escaped; a | would end the URL.
    escaped_label = str(markupsafe.escape(label)).replace("|", "\u2223")
    return trusted_mrkdwn(f"<{target.replace('&', '&amp;')}|{escaped_label}>")


def md_link(url: Any, text: Any = None) -> str:
    """``[text](url)`` for Markdown; just the escaped text when there is no usable URL."""
    label = md_escape(text if text is not None else url)
    target = _text(url).strip()
    if not target.startswith(("https://", "http://", "mailto:")) or any(
        c in target for c in " ()<>\n"
    ):
        return label
    return f"[{label}]({target})"


def safe_url(value: Any) -> str | None:
    """``value`` when it is an http(s) or mailto URL without spaces or quotes, else None
    (keeps ``javascript:`` and other schemes out of links)."""
    url = _text(value).strip()
    if url.startswith(("https://", "http://", "mailto:")) and not any(
        c in url for c in " \n\t\"'<>"
    ):
        return url
    return None


def date_fmt(value: Any, fmt: str = "%b %-d") -> str:
    """A date as text (default ``Nov 3``); values that are not dates unchanged.

    ``%-d`` (day without zero) works on every platform here.
    """
    day = as_datetime(value) if "%H" in fmt or "%M" in fmt else as_date(value)
    if day is None:
        return _text(value)
    return day.strftime(fmt.replace("%-d", str(day.day)))


_SLACK_DATE_TOKENS: Final = frozenset(
    {
        "date_num",
        "date",
        "date_short",
        "date_long",
        "date_pretty",
        "date_short_pretty",
        "date_long_pretty",
        "time",
        "time_secs",
    }
)
_TOKEN_RE: Final = re.compile(r"\{(\w+)\}")


def _slack_date_format(style: str) -> str:
    """``date_short`` or ``{date_short} at {time}`` as Slack's token string."""
    if style in _SLACK_DATE_TOKENS:
        return "{" + style + "}"
    tokens = _TOKEN_RE.findall(style)
    if tokens and all(t in _SLACK_DATE_TOKENS for t in tokens) and not set(style) & set("|^<>&"):
        return style
    return "{date_short_pretty}"


def slack_date(value: Any, style: str = "date_short_pretty") -> Mrkdwn:
    """A date Slack shows in each reader's own words and time zone (``today``, ``Nov 3``).

    ``style`` is one of Slack's tokens (``date_short_pretty``, ``date_long``, ``time``...)
    or a text with tokens in braces (``{date_short_pretty} at {time}``). A date without
    time is placed at noon UTC, so that no time zone within 12 hours of UTC shows it as
    another day. Old clients show the fallback (``Nov 3, 2026``).
    """
    moment: datetime | None
    if (isinstance(value, str) and len(value) == 10) or (
        isinstance(value, date) and not isinstance(value, datetime)
    ):
        day = as_date(value)
        moment = None if day is None else datetime.combine(day, time(12), tzinfo=UTC)
    else:
        moment = as_datetime(value)
    if moment is None:
        return mrkdwn_escape(value)
    tokens = _slack_date_format(style)
    fallback = f"{moment:%b} {moment.day}, {moment.year}"
    if "{time" in tokens:
        fallback += f" {moment:%H:%M} UTC"
    return trusted_mrkdwn(f"<!date^{int(moment.timestamp())}^{tokens}|{fallback}>")


_SLACK_ID_RE: Final = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def slack_mention(user: Any, name: Any = None) -> Mrkdwn:
    """``<@U0123>`` (Slack shows the person's name) for a user id; else ``name`` or the
    value as text."""
    text = _text(user)
    if _SLACK_ID_RE.match(text):
        return trusted_mrkdwn(f"<@{text}>")
    return mrkdwn_escape(name if name is not None else text)


def plural(count: Any, singular: str, plural_form: str | None = None) -> str:
    """``3 items``, ``1 item``: the count with the right form of the word."""
    try:
        number = int(count)
    except (TypeError, ValueError):
        number = len(count) if hasattr(count, "__len__") else 0
    word = singular if number == 1 else (plural_form or f"{singular}s")
    return f"{number} {word}"


def truncate_chars(value: Any, length: int = 200, end: str = "…") -> str:
    """At most ``length`` characters, ending in ``end`` when cut; whitespace runs collapsed."""
    text = " ".join(_text(value).split())
    if len(text) <= length:
        return text
    return text[: max(0, length - len(end))].rstrip() + end


def days_between(start: Any, end: Any) -> int | None:
    """Days from ``start`` to ``end`` (negative when ``end`` is earlier); None if not dates."""
    first, last = as_date(start), as_date(end)
    if first is None or last is None:
        return None
    return (last - first).days


def relative_day(value: Any, today: Any) -> str:
    """``today``, ``tomorrow``, ``in 3 days``, ``yesterday``, ``5 days ago``."""
    days = days_between(today, value)
    if days is None:
        return _text(value)
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


def signed(value: Any) -> str:
    """``+3``, ``0``, or for -2 a true minus sign (U+2212) and 2."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return _text(value)
    if number > 0:
        return f"+{number}"
    return f"\u2212{-number}" if number < 0 else "0"


COMMON_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    "date_fmt": date_fmt,
    "plural": plural,
    "truncate_chars": truncate_chars,
    "days_between": days_between,
    "relative_day": relative_day,
    "signed": signed,
    "safe_url": safe_url,
}
# Each format has the escaping filters that are right for it only: a Slack filter in a
# Confluence template would make unescaped markup, so it does not compile there.
_SLACK_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    "mrkdwn_escape": mrkdwn_escape,
    "slack_link": slack_link,
    "slack_date": slack_date,
    "slack_mention": slack_mention,
}
_MARKDOWN_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    "md_escape": md_escape,
    "md_link": md_link,
}
_XML_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {"storage_escape": storage_escape}
FILTERS_BY_FORMAT: Final[Mapping[TemplateFormat, Mapping[str, Callable[..., Any]]]] = {
    "slack": _SLACK_FILTERS,
    "confluence": _XML_FILTERS,
    "html": _XML_FILTERS,
    "markdown": _MARKDOWN_FILTERS,
    "text": _MARKDOWN_FILTERS,
}
