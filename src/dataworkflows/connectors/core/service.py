"""``core.echo``, ``core.sleep``, ``core.fail``, ``core.tally`` and ``core.render``.

``core.render`` renders a report template (stored by name, or given inline) with data
from earlier steps. Templates live in the engine's database and the renderer in
:mod:`dataworkflows.reports`, so the action reaches them through a
:class:`TemplateSource` given to :func:`core_actions`; without one (a core connector
process of its own) there is no ``core.render``, and workflows using it are refused at
registration.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec

from dataworkflows.contracts import ActionFailed, ErrorCode
from dataworkflows.contracts.templates import (
    OutputFormat,
    TemplateFailed,
    TemplateNotFound,
    TemplateSource,
)
from dataworkflows.runtime.actions import ActionCall, ActionSet

__all__ = [
    "OutputFormat",
    "RenderInput",
    "RenderOutput",
    "TemplateFailed",
    "TemplateNotFound",
    "TemplateSource",
    "core_actions",
]

MAX_INLINE_SOURCE = 256 * 1024


class RenderInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A stored template by name (``template``, optional ``version``) or an inline
    ``source`` with its ``format``, and the data it renders."""

    template: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    """A registered template, e.g. ``project-status.slack``; its format follows its name."""
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None
    source: Annotated[str, msgspec.Meta(max_length=MAX_INLINE_SOURCE)] | None = None
    """An inline jinja2 template (instead of ``template``)."""
    format: OutputFormat | None = None
    """The inline source's output format (default text)."""
    data: Any = None
    """What the template sees: an object's keys are names, and ``data`` is all of it."""


class SlackMessagePayload(msgspec.Struct, kw_only=True):
    """One Slack message: fallback text and Block Kit blocks (at most 50)."""

    text: str
    blocks: list[dict[str, Any]]


class RenderOutput(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The rendering: ``text`` (Slack, Markdown, HTML, text), ``body`` (Confluence);
    for Slack also the first message's ``blocks`` and every message (the first is the
    post, the rest thread replies)."""

    format: OutputFormat
    text: str | None = None
    body: str | None = None
    blocks: list[dict[str, Any]] | None = None
    messages: list[SlackMessagePayload] | None = None


class SleepInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How long to wait."""

    seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 0.0


class SleepOutput(msgspec.Struct, kw_only=True):
    """How long was waited."""

    slept: float


class FailInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The failure to produce."""

    code: ErrorCode = "upstream_error"
    message: str = "failed on purpose"
    retryable: bool = True
    retry_after_s: float | None = None
    times: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """Fail only the first ``times`` attempts of the step, then succeed (None: always)."""


class FailOutput(msgspec.Struct, kw_only=True):
    """The attempt that finally succeeded."""

    attempt: int


class TallyInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Objects to count, and the fields to count them by."""

    items: list[Any]
    by: dict[str, str] = msgspec.field(default_factory=dict)
    """Name -> dotted path into each item (``group.title``, ``columns.status.text``)."""


class TallyOutput(msgspec.Struct, kw_only=True):
    """How many items there are, and per value of each field."""

    total: int
    counts: dict[str, dict[str, int]]


NONE_LABEL = "(none)"
"""What an item without a value for a field is counted under."""


def _path_value(item: Any, path: str) -> str:
    value = item
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return NONE_LABEL
        value = value[key]
    return NONE_LABEL if value is None or value == "" else str(value)


def core_actions(templates: TemplateSource | None = None) -> ActionSet:
    """A fresh set of the core actions; ``templates`` serves ``core.render``."""
    core = ActionSet("core", description="Built-in actions with no external system.")

    @core.action("echo", effect="read", description="Returns its input object unchanged.")
    async def echo(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
        return data

    @core.action("sleep", effect="read", description="Waits `seconds`, then answers.")
    async def sleep(data: SleepInput, call: ActionCall) -> SleepOutput:
        await asyncio.sleep(data.seconds)
        return SleepOutput(slept=data.seconds)

    @core.action(
        "fail",
        effect="read",
        description="Fails with the given error code; with `times`, only the first "
        "`times` attempts of the step fail and the next one succeeds.",
    )
    async def fail(data: FailInput, call: ActionCall) -> FailOutput:
        if data.times is None or call.attempt <= data.times:
            raise ActionFailed.of(
                data.code,
                data.message,
                retryable=data.retryable,
                retry_after_s=data.retry_after_s,
            )
        return FailOutput(attempt=call.attempt)

    @core.action(
        "tally",
        effect="read",
        description="Counts `items`, in total and per value of each field in `by` "
        "(name -> dotted path); missing or empty values count as (none).",
    )
    async def tally(data: TallyInput, call: ActionCall) -> TallyOutput:
        counts: dict[str, dict[str, int]] = {name: {} for name in data.by}
        for item in data.items:
            for name, path in data.by.items():
                key = _path_value(item, path)
                counts[name][key] = counts[name].get(key, 0) + 1
        return TallyOutput(total=len(data.items), counts=counts)

    if templates is None:
        # Without templates render could only fail: a core connector process of its own
        # does not offer it, and workflows using it are refused at registration.
        return core

    @core.action(
        "render",
        effect="read",
        description="Renders a report template with `data`: a registered `template` (and "
        "`version`, default the latest) or an inline `source` with its `format`. Slack "
        "output is mrkdwn `text` plus Block Kit `blocks` within Slack's limits, a long "
        "report continuing in `messages` (thread replies); Confluence output is a "
        "storage-format `body`; Markdown, HTML and text output is `text`.",
    )
    async def render(data: RenderInput, call: ActionCall) -> RenderOutput:
        if (data.template is None) == (data.source is None):
            raise ActionFailed.of("invalid_input", "give either `template` or `source`")
        if data.template is not None and data.format is not None:
            raise ActionFailed.of(
                "invalid_input", "format: a registered template's format follows its name"
            )
        if data.source is not None and data.version is not None:
            raise ActionFailed.of("invalid_input", "version: only for a registered template")
        try:
            rendered = await templates.render(
                template=data.template,
                version=data.version,
                source=data.source,
                format=data.format or ("text" if data.source is not None else None),
                data=data.data,
            )
        except TemplateNotFound as exc:
            raise ActionFailed.of("not_found", str(exc)) from None
        except TemplateFailed as exc:
            raise ActionFailed.of("invalid_input", str(exc)) from None
        return msgspec.convert(rendered, RenderOutput)

    return core
