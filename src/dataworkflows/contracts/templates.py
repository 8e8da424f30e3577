"""The contract between ``core.render`` and whoever stores and renders templates.

The core connector's ``core.render`` action asks a :class:`TemplateSource` for a
rendering; the reports package provides one (templates live in the engine's database).
Neither imports the other: both import this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

__all__ = ["OutputFormat", "TemplateFailed", "TemplateNotFound", "TemplateSource"]

OutputFormat = Literal["slack", "confluence", "markdown", "html", "text"]


class TemplateNotFound(LookupError):
    """There is no template of that name (or no such version of it)."""


class TemplateFailed(ValueError):
    """The template does not compile or failed while rendering; the message names the
    template and the line."""


class TemplateSource(Protocol):
    """Port: where ``core.render`` finds templates and has them rendered."""

    async def render(
        self,
        *,
        template: str | None,
        version: int | None,
        source: str | None,
        format: OutputFormat | None,
        data: Any,
    ) -> Mapping[str, Any]:
        """The stored template ``template`` (``version``, default the latest), or the
        inline ``source`` in ``format``, rendered with ``data``: ``{"format", "text"}``,
        ``{"format", "body"}`` (Confluence) or, for Slack, ``{"format", "text",
        "blocks", "messages"}``.

        Raises :class:`TemplateNotFound` or :class:`TemplateFailed`.
        """
        ...
