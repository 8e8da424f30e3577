"""Project status reports: templates, the project registry, summaries and their history.

Engine-side building blocks (they use the engine's database):

- :func:`reports_actions`: the in-process ``reports`` connector (``reports.project``,
  ``reports.compose``, ``reports.save``);
- :class:`StoredTemplateSource`: what ``core.render`` renders registered templates with
  (``core_actions(templates=StoredTemplateSource(store))``);
- :func:`reports_api`: the ``/v1`` controllers for templates, projects and reports;
- :func:`register_shipped`: registers ``workflows/templates/*.j2`` and
  ``workflows/projects.yaml`` at start;
- :class:`PostgresReportStore`: the storage adapter over the engine's pool.

The pure parts: :mod:`.templates` (the jinja2 sandbox; its filters in :mod:`.filters`
and escaping in :mod:`.escaping`), :mod:`.render` (Slack Block Kit within Slack's
limits, Confluence storage format, Markdown), :mod:`.summary` (the status summary,
from the work items of :mod:`.items` and the other sources of :mod:`.sources`) and
:mod:`.comparison` (what changed since the previous report).
"""

from dataworkflows.reports.actions import StoredTemplateSource, reports_actions
from dataworkflows.reports.api import reports_api
from dataworkflows.reports.postgres_store import PostgresReportStore
from dataworkflows.reports.registry import register_shipped
from dataworkflows.reports.store import ReportStore

__all__ = [
    "PostgresReportStore",
    "ReportStore",
    "StoredTemplateSource",
    "register_shipped",
    "reports_actions",
    "reports_api",
]
