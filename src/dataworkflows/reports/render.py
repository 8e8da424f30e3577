"""Rendering a template into what each destination takes.

- ``slack``: the rendered mrkdwn becomes Block Kit. A line ``# Title`` is a header
  block (plain text, at most 150 characters), a line of ``---`` a divider, lines
  starting with ``>`` a context block (small grey text), and each paragraph (lines
  between blank lines) a section (at most 3,000 characters: longer ones are split at
  line boundaries, then within a line). Blocks are packed into messages of at most
  50: the first is the post, the others its thread replies. Each message has a
  ``text`` fallback (notifications, screen readers) of at most 4,000 characters.
  Output: ``{"format": "slack", "text", "blocks", "messages": [{"text", "blocks"}]}``
  where ``text`` and ``blocks`` are the first message's.
- ``confluence``: ``{"format": "confluence", "body"}``; the body must be well-formed
  XHTML (storage format), else the render fails naming the output line.
- ``markdown``, ``html``, ``text``: ``{"format", "text"}``.

Slack counts characters in UTF-16 units (an emoji can count twice); the limits here
are measured that way, which is never more lenient than counting code points.
"""

from __future__ import annotations

import functools
import html.entities
import re
import xml.etree.ElementTree as ET
from typing import Any, Final

import msgspec

from dataworkflows.reports.store import TemplateFormat
from dataworkflows.reports.templates import (
    CompiledTemplate,
    TemplateProblem,
    TemplateRenderError,
    compile_template,
)
from dataworkflows.runtime.evaluation_pool import EvaluationFailed, EvaluationLimit, EvaluationPool
from dataworkflows.runtime.problems import FieldError

__all__ = [
    "EVALUATION_TASKS",
    "MAX_BLOCKS",
    "MAX_FALLBACK_TEXT",
    "MAX_HEADER_TEXT",
    "MAX_SECTION_TEXT",
    "Rendered",
    "SlackMessage",
    "render",
    "render_isolated",
    "render_source",
    "slack_messages",
    "storage_format_problem",
]

EVALUATION_TASKS: Final = {"render": f"{__name__}:render_source"}
"""What the evaluation pool's workers run for templates (give it to the pool)."""

MAX_BLOCKS: Final = 50
MAX_SECTION_TEXT: Final = 3000
MAX_HEADER_TEXT: Final = 150
MAX_FALLBACK_TEXT: Final = 4000
MAX_CONTEXT_ELEMENTS: Final = 10
_ELLIPSIS: Final = "…"
_DIVIDER_RE: Final = re.compile(r"^-{3,}\s*$")
_LINK_RE: Final = re.compile(r"<([^<>|]*)\|([^<>]*)>|<([^<>|]*)>")
_ENTITY_RE: Final = re.compile(r"&(amp|lt|gt);")
_ENTITIES: Final = {"amp": "&", "lt": "<", "gt": ">"}


class SlackMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One Slack message: the fallback text and its blocks."""

    text: str
    blocks: list[dict[str, Any]]


class Rendered(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A rendering: ``text`` (and for Slack ``blocks`` and ``messages``) or ``body``."""

    format: TemplateFormat
    text: str | None = None
    body: str | None = None
    blocks: list[dict[str, Any]] | None = None
    messages: list[SlackMessage] | None = None


@functools.lru_cache(maxsize=64)
def _compiled(source: str, fmt: TemplateFormat, name: str) -> CompiledTemplate:
    return compile_template(source, format=fmt, name=name)


def render_source(source: str, fmt: TemplateFormat, name: str, data: Any) -> dict[str, Any]:
    """Compile (cached) and :func:`render` a template: the task a worker process runs.

    Raises :class:`TemplateProblem` or :class:`TemplateRenderError` as those do.
    """
    rendered: dict[str, Any] = msgspec.to_builtins(render(_compiled(source, fmt, name), data))
    return rendered


async def render_isolated(
    pool: EvaluationPool, *, source: str, fmt: TemplateFormat, name: str, data: Any
) -> dict[str, Any]:
    """:func:`render_source` in a worker process of ``pool``: templates come from API
    callers, and a template that loops for ever or fills the memory must cost a worker,
    not the engine. Raises :class:`TemplateProblem` (it does not compile) or
    :class:`TemplateRenderError` (it failed, or went over a limit: the message names it).
    """
    try:
        rendered: dict[str, Any] = await pool.run("render", source, fmt, name, data)
    except EvaluationLimit as exc:
        raise TemplateRenderError(str(exc)) from None
    except EvaluationFailed as exc:
        if exc.kind == "TemplateProblem":
            message = exc.message.removeprefix("source: ")
            raise TemplateProblem([FieldError(field="source", message=message)]) from None
        raise TemplateRenderError(exc.message, line=exc.line) from None
    return rendered


def render(template: CompiledTemplate, data: Any) -> Rendered:
    """``template`` rendered with ``data``, shaped for its format.

    Raises :class:`~dataworkflows.reports.templates.TemplateRenderError` (with the
    template line when known) when the template fails, or when a Confluence body is
    not well-formed.
    """
    text = template.render_text(data)
    if template.format == "slack":
        messages = slack_messages(text)
        return Rendered(
            format="slack", text=messages[0].text, blocks=messages[0].blocks, messages=messages
        )
    if template.format == "confluence":
        problem = storage_format_problem(text)
        if problem is not None:
            raise TemplateRenderError(problem)
        return Rendered(format="confluence", body=text)
    return Rendered(format=template.format, text=text)


# Slack -------------------------------------------------------------------------------------


def _units(text: str) -> int:
    """Length in UTF-16 code units (how Slack counts)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _prefix_within(text: str, limit: int) -> int:
    """The length of the longest prefix of ``text`` within ``limit`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _cut_point(line: str, limit: int) -> int:
    """Where to cut a line longer than ``limit``: at a space near the end if there is
    one, never inside an escape (``&amp;``) or a link (``<url|text>``)."""
    cut = _prefix_within(line, limit)
    space = line.rfind(" ", cut * 4 // 5, cut)
    if space > 0:
        cut = space + 1
    amp = line.rfind("&", max(0, cut - 4), cut)
    entity = _ENTITY_RE.match(line, amp) if amp > 0 else None
    if entity is not None and entity.end() > cut:
        cut = amp
    opening = line.rfind("<", 0, cut)
    if opening > 0 and line.rfind(">", opening, cut) == -1 and line.find(">", cut) != -1:
        cut = opening
    return max(cut, 1)


def _chunks(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` units: whole lines where they fit."""
    chunks: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        candidate = line if current is None else f"{current}\n{line}"
        if _units(candidate) <= limit:
            current = candidate
            continue
        if current is not None:
            chunks.append(current)
        rest = line
        while _units(rest) > limit:
            cut = _cut_point(rest, limit)
            chunks.append(rest[:cut])
            rest = rest[cut:]
        current = rest
    if current is not None:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]


def _truncate(text: str, limit: int) -> str:
    if _units(text) <= limit:
        return text
    return text[: _prefix_within(text, limit - 1)].rstrip() + _ELLIPSIS


def _plain(mrkdwn: str) -> str:
    """mrkdwn as plain text: links by their labels, escapes resolved."""

    def link(match: re.Match[str]) -> str:
        target, label, bare = match.groups()
        if label is not None:
            return label
        target = bare or target or ""
        return target if not target.startswith(("!", "@", "#")) else ""

    without_links = _LINK_RE.sub(link, mrkdwn)
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(1)], without_links)


def _header(text: str) -> dict[str, Any] | None:
    plain = " ".join(_plain(text).split())
    if not plain:
        return None
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": _truncate(plain, MAX_HEADER_TEXT), "emoji": True},
    }


def _sections(paragraph: list[str]) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
        for chunk in _chunks("\n".join(paragraph), MAX_SECTION_TEXT)
    ]


def _contexts(lines: list[str]) -> list[dict[str, Any]]:
    elements = [
        {"type": "mrkdwn", "text": chunk} for chunk in _chunks("\n".join(lines), MAX_SECTION_TEXT)
    ]
    return [
        {"type": "context", "elements": elements[i : i + MAX_CONTEXT_ELEMENTS]}
        for i in range(0, len(elements), MAX_CONTEXT_ELEMENTS)
    ]


def _blocks(mrkdwn: str) -> list[dict[str, Any]]:
    """The rendered mrkdwn as a list of blocks (any number)."""
    blocks: list[dict[str, Any]] = []
    paragraph: list[str] = []
    context: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.extend(_sections(paragraph))
            paragraph.clear()
        if context:
            blocks.extend(_contexts(context))
            context.clear()

    # Only \n ends a line: splitlines() would also split at \v, \f, U+2028... inside a
    # value, where the template's escaping does not look for structure markers.
    for raw_line in mrkdwn.split("\n"):
        line = raw_line.removesuffix("\r")
        if line.startswith("# ") or line == "#":
            flush()
            header = _header(line[1:])
            if header is not None:
                blocks.append(header)
        elif _DIVIDER_RE.match(line):
            flush()
            blocks.append({"type": "divider"})
        elif line.startswith("> ") or line == ">":
            if paragraph:
                flush()
            context.append(line[2:])
        elif not line.strip():
            flush()
        else:
            if context:
                flush()
            paragraph.append(line)
    flush()
    return blocks


def _fallback(blocks: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            # The fallback is mrkdwn too: the header's plain text is escaped again.
            text = block["text"]["text"]
            parts.append(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        elif kind == "section":
            parts.append(block["text"]["text"])
        elif kind == "context":
            parts.extend(element["text"] for element in block["elements"])
    text = "\n".join(parts).strip() or "(empty)"
    return _truncate(text, MAX_FALLBACK_TEXT)


def _trim_dividers(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start, end = 0, len(blocks)
    while start < end and blocks[start]["type"] == "divider":
        start += 1
    while end > start and blocks[end - 1]["type"] == "divider":
        end -= 1
    return blocks[start:end]


def slack_messages(mrkdwn: str) -> list[SlackMessage]:
    """``mrkdwn`` as Block Kit messages within Slack's limits (the first is the post,
    the others replies in its thread); never empty."""
    blocks = _blocks(mrkdwn)
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for block in blocks:
        if len(current) == MAX_BLOCKS:
            # A header or divider closing a message belongs with what follows it.
            carried: list[dict[str, Any]] = []
            while len(current) > 1 and current[-1]["type"] in ("header", "divider"):
                carried.insert(0, current.pop())
            groups.append(current)
            current = carried
        current.append(block)
    groups.append(current)
    messages = []
    for group in groups:
        trimmed = _trim_dividers(group)
        if trimmed:
            messages.append(SlackMessage(text=_fallback(trimmed), blocks=trimmed))
    if not messages:
        empty = [{"type": "section", "text": {"type": "mrkdwn", "text": "_(empty)_"}}]
        messages.append(SlackMessage(text="(empty)", blocks=empty))
    return messages


# Confluence --------------------------------------------------------------------------------

_NAMESPACES: Final = (
    'xmlns:ac="http://atlassian.com/content" '
    'xmlns:ri="http://atlassian.com/resource/identifier" '
    'xmlns:at="http://atlassian.com/template"'
)
_NAMED_ENTITY_RE: Final = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES: Final = frozenset({"amp", "lt", "gt", "quot", "apos"})


def _numeric_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES:
        return match.group(0)
    codepoint = html.entities.name2codepoint.get(name)
    # An unknown name stays as it is, and the parser reports it.
    return f"&#{codepoint};" if codepoint is not None else match.group(0)


def storage_format_problem(body: str) -> str | None:
    """Why ``body`` is not well-formed storage format (XHTML), or None.

    HTML's named entities (``&nbsp;``), which Confluence accepts, are allowed.
    """
    if re.search(r"<!(DOCTYPE|ENTITY)", body, re.IGNORECASE):
        return "the rendered body declares a DOCTYPE or ENTITY, which storage format forbids"
    document = f"<root {_NAMESPACES}>\n{_NAMED_ENTITY_RE.sub(_numeric_entity, body)}\n</root>"
    try:
        ET.fromstring(document)  # noqa: S314  (no DOCTYPE: no entity expansion)
    except ET.ParseError as exc:
        line, column = exc.position
        return (
            f"the rendered body is not well-formed XHTML at output line {line - 1}, "
            f"column {column + 1}: {str(exc).split(':')[0]}"
        )
    return None
