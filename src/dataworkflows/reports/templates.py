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

This module compiles and renders; the escaping is in :mod:`.escaping` and the
filters in :mod:`.filters`.
"""

from __future__ import annotations

import hashlib
import operator
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jinja2

from dataworkflows.reports.escaping import FINALIZERS, unquote
from dataworkflows.reports.filters import COMMON_FILTERS, FILTERS_BY_FORMAT
from dataworkflows.reports.store import TEMPLATE_NAME_PATTERN, TemplateFormat
from dataworkflows.runtime.limits import LimitExceeded, check_jinja
from dataworkflows.runtime.problems import FieldError
from dataworkflows.runtime.templating import DataFirstEnvironment, syntax_message

__all__ = [
    "FORMATS",
    "MAX_OUTPUT_CHARS",
    "MAX_SOURCE_CHARS",
    "CompiledTemplate",
    "TemplateFile",
    "TemplateProblem",
    "TemplateRenderError",
    "checksum_of",
    "compile_template",
    "format_of",
    "load_template_files",
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


# Environments --------------------------------------------------------------------------------


def _too_big(length: int) -> None:
    if length > _MAX_SEQUENCE:
        raise jinja2.exceptions.SecurityError(
            f"the result would have {length:,} elements; at most {_MAX_SEQUENCE:,}"
        )


class _Environment(DataFirstEnvironment):
    """The sandbox, reading mapping keys before attributes and bounding ``*`` and ``**``."""

    intercepted_binops = frozenset({"*", "**"})

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


def _environment(fmt: TemplateFormat) -> _Environment:
    # Slack too: its escaping is HTML's minus quotes (restored by unquote), and with
    # autoescape macros return markup that is not escaped twice.
    autoescape = fmt in ("slack", "confluence", "html")
    env = _Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        finalize=FINALIZERS[fmt],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(COMMON_FILTERS)
    env.filters.update(FILTERS_BY_FORMAT[fmt])
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
            text = unquote(text)
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
            [
                FieldError(
                    field="source",
                    message=f"line {exc.lineno}: {syntax_message(exc, environment)}",
                )
            ]
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
