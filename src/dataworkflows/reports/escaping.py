"""Escaping report template output for its format, so data never becomes markup.

:class:`Mrkdwn` is Slack mrkdwn that is already escaped; :func:`mrkdwn_escape`,
:func:`md_escape` and :func:`storage_escape` are the escaping filters of Slack,
Markdown and Confluence/HTML; :data:`FINALIZERS` is what each format does with every
``{{ value }}`` (see :mod:`.templates` for the rules), and :func:`unquote` turns
autoescape's quote references back into quotes for Slack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import markupsafe

from dataworkflows.reports.store import TemplateFormat

__all__ = [
    "FINALIZERS",
    "Mrkdwn",
    "md_escape",
    "mrkdwn_escape",
    "storage_escape",
    "trusted_mrkdwn",
    "unquote",
]

_ZWSP: Final = "\u200b"
_MARKER_LINE_RE: Final = re.compile(r"^(?=#|-{3,}\s*$)", re.MULTILINE)


class Mrkdwn(markupsafe.Markup):
    """Slack mrkdwn that is already escaped: rendered as it is."""

    __slots__ = ()


def _neutralise(text: str) -> str:
    # A value's line must not become a header or divider of the Block Kit layout.
    return _MARKER_LINE_RE.sub(_ZWSP, text)


def trusted_mrkdwn(text: str) -> Mrkdwn:
    """Mark ``text`` (escaped here, or made of escaped parts) as mrkdwn to keep."""
    # Every caller escapes the data it puts in.
    return Mrkdwn(text)


def mrkdwn_escape(value: Any) -> Mrkdwn:
    """``value`` as Slack mrkdwn text that shows as written (``&``, ``<``, ``>`` escaped)."""
    if isinstance(value, markupsafe.Markup):
        return trusted_mrkdwn(str(value))
    return trusted_mrkdwn(_neutralise(str(markupsafe.escape("" if value is None else str(value)))))


def _slack_finalize(value: Any) -> Any:
    # Runs before autoescape: only the line markers are handled here.
    if value is None:
        return ""
    if isinstance(value, markupsafe.Markup):
        return value
    return _neutralise(str(value))


def unquote(text: str) -> str:
    """Slack wants only &, < and > escaped: autoescape's quote references go back.

    Safe: data's own ``&`` is ``&amp;`` by now, so ``&#34;`` can only come from a quote.
    """
    return text.replace("&#34;", '"').replace("&#39;", "'")


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


# XML 1.0 refuses these characters even as references: a task title holding one would
# make the whole Confluence page unstorable.
_NOT_XML_RE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, markupsafe.Markup):
        # Already escaped markup (storage_escape): only characters are replaced.
        return markupsafe.Markup(_NOT_XML_RE.sub("\ufffd", str(value)))  # noqa: S704
    if isinstance(value, str):
        return _NOT_XML_RE.sub("\ufffd", value)
    return value


# What formats text inline (emphasis, code, links, HTML, table cells); characters that
# matter only at the start of a line are left alone: data never starts a line here.
_MD_SPECIAL_RE: Final = re.compile(r"([\\`*_\[\]<>|~])")


def md_escape(value: Any) -> str:
    """``value`` with Markdown's inline formatting characters backslash-escaped."""
    # A line break in data would start a new block (a heading, a list) in Markdown.
    text = " ".join(("" if value is None else str(value)).splitlines())
    return _MD_SPECIAL_RE.sub(r"\\\1", text)


def storage_escape(value: Any) -> markupsafe.Markup:
    """``value`` escaped for XHTML (Confluence storage format); safe from double escaping."""
    return markupsafe.escape("" if value is None else value)


FINALIZERS: Final[Mapping[TemplateFormat, Callable[[Any], Any]]] = {
    "slack": _slack_finalize,
    "confluence": _xml_finalize,
    "html": _xml_finalize,
    "markdown": _none_as_empty,
    "text": _none_as_empty,
}
