"""Report templates: jinja2 in its sandbox, escaping what the output format needs.

A template's format follows from the last dot-segment of its name
(:func:`format_of`): ``project-status.slack`` is Slack mrkdwn, ``.confluence``
Confluence storage format (XHTML), ``.md`` Markdown, ``.html`` HTML, anything else
plain text. Shipped templates are ``workflows/templates/<name>.j2``.

Escaping, so that data from other systems (a task titled ``<!channel> & co``) shows
as written and never becomes markup:

- ``confluence`` and ``html``: jinja2's autoescape (``&``, ``<``, ``>``, quotes).
- ``slack``: every ``{{ value }}`` has ``&``, ``<`` and ``>`` escaped as Slack asks for
  mrkdwn (``&amp;`` ``&lt;`` ``&gt;``; quotes stay), and a line of a value that would
  read as one of :mod:`~dataworkflows.reports.render`'s structure markers (``#``,
  ``---``) gets a zero-width space in front, so data cannot add headers or dividers.
  This is jinja2's autoescape too (its quote references are turned back into quotes
  after rendering), so macros work as in HTML. Filters that make markup on purpose
  (``slack_link``, ``slack_date``, ``mrkdwn_escape``) return :class:`Mrkdwn`, which
  is not escaped again. Slack has no way to escape ``*``, ``_`` or ``~``: those may
  still format text.
- ``markdown`` and ``text``: nothing is escaped; use ``md_escape`` where data may
  hold Markdown.

Filters, in every format: ``date_fmt`` (``Nov 3``; any strftime pattern), ``plural``
(``3 | plural('reply', 'replies')``), ``truncate_chars``, ``days_between``,
``relative_day`` (``tomorrow``, ``3 days ago``), ``signed`` (``+3``), ``safe_url``
(http(s)/mailto or None). Slack: ``slack_link(url, text)``, ``slack_date(style)``
(shown in each reader's time zone), ``slack_mention``, ``mrkdwn_escape``. Markdown and
text: ``md_escape``, ``md_link``. Confluence and HTML: ``storage_escape``.

``None`` renders as an empty string in every format. Undefined names fail the render
(``StrictUndefined``) with the template line, and so do syntax errors at compile
time: :class:`TemplateProblem` lists them for a 422 (field ``source``).
"""

from __future__ import annotations

import hashlib
import operator
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Final

import jinja2
import markupsafe
from jinja2.sandbox import SandboxedEnvironment

from dataworkflows.reports.store import TEMPLATE_NAME_PATTERN, TemplateFormat
from dataworkflows.runtime.limits import LimitExceeded, check_jinja
from dataworkflows.runtime.problems import FieldError

__all__ = [
    "FORMATS",
    "MAX_OUTPUT_CHARS",
    "MAX_SOURCE_CHARS",
    "CompiledTemplate",
    "Mrkdwn",
    "TemplateFile",
    "TemplateProblem",
    "TemplateRenderError",
    "as_date",
    "checksum_of",
    "compile_template",
    "format_of",
    "load_template_files",
    "mrkdwn_escape",
    "name_problem",
]

FORMATS: Final[tuple[TemplateFormat, ...]] = ("slack", "confluence", "markdown", "html", "text")
_FORMAT_BY_SUFFIX: Final[Mapping[str, TemplateFormat]] = {
    "slack": "slack",
    "confluence": "confluence",
    "md": "markdown",
    "markdown": "markdown",
    "html": "html",
}
MAX_SOURCE_CHARS: Final = 256 * 1024
MAX_OUTPUT_CHARS: Final = 2_000_000
"""A rendering larger than this is refused: no channel or page takes it, and a template
looping over itself should fail rather than fill the memory."""
_MAX_SEQUENCE: Final = 1_000_000
_MAX_EXPONENT: Final = 1_000
_NAME_RE: Final = re.compile(TEMPLATE_NAME_PATTERN)
_ZWSP: Final = "\u200b"
_MARKER_LINE_RE: Final = re.compile(r"^(?=#|-{3,}\s*$)", re.MULTILINE)


def format_of(name: str) -> TemplateFormat:
    """The output format of template ``name``, from its last dot-segment."""
    _, dot, suffix = name.rpartition(".")
    return _FORMAT_BY_SUFFIX.get(suffix, "text") if dot else "text"


def name_problem(name: str) -> str | None:
    """What is wrong with ``name`` as a template name, or None."""
    if len(name) > 128:
        return "is longer than 128 characters"
    if not _NAME_RE.match(name):
        return "must be lower-case words of letters, digits, - and _ joined by dots"
    return None


def checksum_of(source: str) -> str:
    """The checksum stored with a template's source (an unchanged source keeps its version)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class TemplateProblem(Exception):
    """A template does not compile; ``errors`` name the field and line of each problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class TemplateRenderError(Exception):
    """A template failed while rendering; ``line`` is its line, when known."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.message = message
        self.line = line


# Escaping ---------------------------------------------------------------------------------


class Mrkdwn(markupsafe.Markup):
    """Slack mrkdwn that is already escaped: rendered as it is."""

    __slots__ = ()


def _neutralise(text: str) -> str:
    # A value's line must not become a header or divider of the Block Kit layout.
    return _MARKER_LINE_RE.sub(_ZWSP, text)


def _trusted(text: str) -> Mrkdwn:
    """Mark ``text`` (escaped here, or made of escaped parts) as mrkdwn to keep."""
    # Every caller escapes the data it puts in.
    return Mrkdwn(text)


def mrkdwn_escape(value: Any) -> Mrkdwn:
    """``value`` as Slack mrkdwn text that shows as written (``&``, ``<``, ``>`` escaped)."""
    if isinstance(value, markupsafe.Markup):
        return _trusted(str(value))
    return _trusted(_neutralise(str(markupsafe.escape("" if value is None else str(value)))))


def _slack_finalize(value: Any) -> Any:
    # Runs before autoescape: only the line markers are handled here.
    if value is None:
        return ""
    if isinstance(value, markupsafe.Markup):
        return value
    return _neutralise(str(value))


def _unquote(text: str) -> str:
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


# Filters ------------------------------------------------------------------------------------


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
    return _trusted(f"<{target.replace('&', '&amp;')}|{escaped_label}>")


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
    return _trusted(f"<!date^{int(moment.timestamp())}^{tokens}|{fallback}>")


_SLACK_ID_RE: Final = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def slack_mention(user: Any, name: Any = None) -> Mrkdwn:
    """``<@U0123>`` (Slack shows the person's name) for a user id; else ``name`` or the
    value as text."""
    text = _text(user)
    if _SLACK_ID_RE.match(text):
        return _trusted(f"<@{text}>")
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


_COMMON_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
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
_FILTERS_BY_FORMAT: Final[Mapping[TemplateFormat, Mapping[str, Callable[..., Any]]]] = {
    "slack": _SLACK_FILTERS,
    "confluence": _XML_FILTERS,
    "html": _XML_FILTERS,
    "markdown": _MARKDOWN_FILTERS,
    "text": _MARKDOWN_FILTERS,
}


# Environments --------------------------------------------------------------------------------


def _too_big(length: int) -> None:
    if length > _MAX_SEQUENCE:
        raise jinja2.exceptions.SecurityError(
            f"the result would have {length:,} elements; at most {_MAX_SEQUENCE:,}"
        )


class _Environment(SandboxedEnvironment):
    """The sandbox, reading mapping keys before attributes and bounding ``*`` and ``**``."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data first: `summary.items` means the "items" key, not dict.items.
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def call_binop(
        self, context: jinja2.runtime.Context, operator_: str, left: Any, right: Any
    ) -> Any:
        # `'x' * 10**10` or `9 ** 9 ** 9` would exhaust the memory or the CPU of the engine.
        if operator_ == "**":
            if isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
                raise jinja2.exceptions.SecurityError(f"exponent {right} is too large")
            return operator.pow(left, right)
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                _too_big(len(sequence) * times)
        return operator.mul(left, right)


_FINALIZERS: Final[Mapping[TemplateFormat, Callable[[Any], Any]]] = {
    "slack": _slack_finalize,
    "confluence": _xml_finalize,
    "html": _xml_finalize,
    "markdown": _none_as_empty,
    "text": _none_as_empty,
}


def _environment(fmt: TemplateFormat) -> _Environment:
    # Slack too: its escaping is HTML's minus quotes (restored by _unquote), and with
    # autoescape macros return markup that is not escaped twice.
    autoescape = fmt in ("slack", "confluence", "html")
    env = _Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        finalize=_FINALIZERS[fmt],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(_COMMON_FILTERS)
    env.filters.update(_FILTERS_BY_FORMAT[fmt])
    return env


_ENVIRONMENTS: Final[Mapping[TemplateFormat, _Environment]] = types.MappingProxyType(
    {fmt: _environment(fmt) for fmt in FORMATS}
)


# Compiling and rendering ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """A template ready to render (compiled once, rendered any number of times)."""

    name: str
    format: TemplateFormat
    source: str
    template: jinja2.Template

    def render_text(self, data: Any) -> str:
        """The template's text with ``data``: a mapping's keys are names, and ``data``
        names the whole value. Raises :class:`TemplateRenderError` with the line."""
        context: dict[str, Any] = {"data": data}
        if isinstance(data, Mapping):
            context.update({str(k): v for k, v in data.items()})
        try:
            text = self.template.render(context)
        except jinja2.UndefinedError as exc:
            raise TemplateRenderError(str(exc.message), line=_template_line(exc)) from None
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateRenderError(f"not allowed: {exc}", line=_template_line(exc)) from None
        except jinja2.TemplateError as exc:
            raise TemplateRenderError(str(exc), line=_template_line(exc)) from None
        except RecursionError:
            raise TemplateRenderError("the template recurses too deeply") from None
        except MemoryError:
            raise  # a limit: the evaluation worker reports it as such
        except Exception as exc:
            raise TemplateRenderError(
                f"{type(exc).__name__}: {exc}", line=_template_line(exc)
            ) from None
        if self.format == "slack":
            text = _unquote(text)
        if len(text) > MAX_OUTPUT_CHARS:
            raise TemplateRenderError(
                f"the rendered text has {len(text):,} characters; at most {MAX_OUTPUT_CHARS:,}"
            )
        return text


def _template_line(exc: BaseException) -> int | None:
    """The template line being rendered when ``exc`` was raised (jinja2 rewrites the
    traceback so that template frames carry template lines)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def compile_template(
    source: str, *, format: TemplateFormat, name: str = "<inline>"
) -> CompiledTemplate:
    """Compile ``source`` for ``format``; :class:`TemplateProblem` (field ``source``, with
    the line) when it does not compile."""
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateProblem(
            [
                FieldError(
                    field="source",
                    message=f"has {len(source):,} characters; at most {MAX_SOURCE_CHARS:,}",
                )
            ]
        )
    if not source.strip():
        raise TemplateProblem([FieldError(field="source", message="is empty")])
    if "\x00" in source:
        raise TemplateProblem(
            [FieldError(field="source", message="holds a NUL character, which cannot be stored")]
        )
    environment = _ENVIRONMENTS[format]
    try:
        check_jinja(environment, source)
        template = environment.from_string(source)
    except LimitExceeded as exc:
        raise TemplateProblem(
            [FieldError(field="source", message=f"is too complex: {exc}")]
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(
            [FieldError(field="source", message=f"line {exc.lineno}: {exc.message}")]
        ) from None
    except (RecursionError, SyntaxError, MemoryError):
        # Python's own compiler has limits of its own (nested parentheses, blocks).
        raise TemplateProblem(
            [FieldError(field="source", message="is too complex to compile")]
        ) from None
    return CompiledTemplate(name=name, format=format, source=source, template=template)


@dataclass(frozen=True, slots=True)
class TemplateFile:
    """A shipped template file: its path, the template name it gives, and its text
    (``error`` says why there is none)."""

    path: Path
    name: str
    source: str
    error: str | None = None


def load_template_files(directory: Path) -> list[TemplateFile]:
    """Every ``*.j2`` in ``directory``, by name (``project-status.slack.j2`` ->
    ``project-status.slack``), in name order."""
    files = []
    for path in sorted(directory.glob("*.j2")):
        name = path.name.removesuffix(".j2")
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            files.append(TemplateFile(path=path, name=name, source="", error=str(exc)))
            continue
        files.append(TemplateFile(path=path, name=name, source=source))
    return files
