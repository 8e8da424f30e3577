"""The built-in ``core`` connector: actions with no external system, for tests and benchmarks,
and ``core.render`` for report templates (given a template source)."""

from dataworkflows.connectors.core.service import (
    TemplateFailed,
    TemplateNotFound,
    TemplateSource,
    core_actions,
)

__all__ = ["TemplateFailed", "TemplateNotFound", "TemplateSource", "core_actions"]
