"""What the reports' REST API takes and answers, and how its OpenAPI document shows it.

The request and response bodies of :mod:`.api`'s controllers, the problem responses
they document, and the operations that describe the bodies litestar cannot infer (a
template's jinja2 text, a project checked against its settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)

from dataworkflows.reports.store import (
    Project,
    ProjectFields,
    ReportHeader,
    StoredReport,
    TemplateFormat,
    TemplateSummary,
    TemplateVersionInfo,
)
from dataworkflows.reports.summary import ReportOptions
from dataworkflows.runtime.openapi import struct_schema
from dataworkflows.runtime.paging import next_cursor
from dataworkflows.runtime.problems import PROBLEM_MEDIA_TYPE, ProblemDocument

__all__ = [
    "EXAMPLE_TEMPLATE",
    "PROBLEMS",
    "ProjectBodyOperation",
    "ProjectList",
    "RenderRequest",
    "ReportDetail",
    "ReportItem",
    "ReportLinks",
    "ReportPage",
    "TemplateBodyOperation",
    "TemplateDetail",
    "TemplateList",
    "TemplateRegistered",
    "report_detail",
    "report_item",
    "report_links",
    "report_page",
]

EXAMPLE_TEMPLATE = """\
# {{ project.name }}: {{ summary.health.label | lower }}
*{{ summary.counts.done }} of {{ summary.counts.total }} done.* {{ summary.health.reason }}
{% for i in summary.blocked %}
• {{ i.url | slack_link(i.title) }} · {{ i.owner }}
{% endfor %}
"""

PROBLEMS = {
    status: ResponseSpec(
        data_container=ProblemDocument, description=description, media_type=PROBLEM_MEDIA_TYPE
    )
    for status, description in {
        400: "Malformed request",
        404: "Not found",
        413: "Too large",
        415: "Unsupported media type",
        422: "Invalid input; `errors` lists each field and problem",
    }.items()
}


# Response bodies ----------------------------------------------------------------------------


class TemplateRegistered(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of ``PUT /v1/templates/{name}``."""

    name: str
    format: TemplateFormat
    version: int
    created: bool
    """False when the source equals the latest version (nothing stored)."""
    created_at: datetime


class TemplateList(msgspec.Struct, frozen=True):
    """Every registered template."""

    templates: list[TemplateSummary]


class TemplateDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a template with its source, and every version."""

    name: str
    format: TemplateFormat
    version: int
    latest_version: int
    source: str
    checksum: str
    created_at: datetime
    versions: list[TemplateVersionInfo]


class RenderRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/templates/{name}/render``: the data to render with."""

    data: Any = None
    version: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = None


class ProjectList(msgspec.Struct, frozen=True):
    """Every registered project."""

    projects: list[Project]


class ReportLinks(msgspec.Struct, frozen=True, kw_only=True):
    """Where to find related resources."""

    self: str
    project: str
    run: str | None = None


class ReportItem(msgspec.Struct, frozen=True, kw_only=True):
    """A report in a list: its headline."""

    id: UUID
    project: str
    created_at: datetime
    run_id: UUID | None
    health: dict[str, Any] | None
    counts: dict[str, Any] | None
    formats: list[str]
    links: ReportLinks


class ReportPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of reports, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    reports: list[ReportItem]
    next_cursor: str | None


class ReportDetail(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A report: its renderings, summary and changes (and, if asked, its snapshot)."""

    id: UUID
    project: str
    created_at: datetime
    run_id: UUID | None
    outputs: dict[str, Any]
    summary: dict[str, Any]
    changes: dict[str, Any]
    snapshot: dict[str, Any] | None = None
    links: ReportLinks


def report_page(headers: list[ReportHeader], *, limit: int) -> ReportPage:
    """A page of reports (asked for ``limit``) as the API shows it."""
    return ReportPage(
        reports=[report_item(h) for h in headers], next_cursor=next_cursor(headers, limit)
    )


def report_detail(stored: StoredReport, *, snapshot: bool = False) -> ReportDetail:
    """A stored report as the API shows it (its snapshot only when asked for)."""
    return ReportDetail(
        id=stored.id,
        project=stored.project,
        created_at=stored.created_at,
        run_id=stored.run_id,
        outputs=stored.outputs,
        summary=stored.summary,
        changes=stored.changes,
        snapshot=stored.snapshot if snapshot else None,
        links=report_links(stored.id, stored.project, stored.run_id),
    )


def report_links(report_id: UUID, project: str, run_id: UUID | None) -> ReportLinks:
    """Where a report, its project and its run are shown."""
    return ReportLinks(
        self=f"/v1/reports/{report_id}",
        project=f"/v1/projects/{project}",
        run=f"/v1/runs/{run_id}" if run_id else None,
    )


def report_item(header: ReportHeader) -> ReportItem:
    """A report's entry in a list."""
    return ReportItem(
        id=header.id,
        project=header.project,
        created_at=header.created_at,
        run_id=header.run_id,
        health=header.health,
        counts=header.counts,
        formats=header.formats,
        links=report_links(header.id, header.project, header.run_id),
    )


# Documenting request bodies ----------------------------------------------------------------


@dataclass
class TemplateBodyOperation(Operation):
    """Documents PUT /v1/templates/{name}: a jinja2 text body."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The template's jinja2 source as UTF-8 text. Its output format follows "
            "the name's last dot-segment: `.slack` (mrkdwn, rendered into Block Kit), "
            "`.confluence` (storage-format XHTML), `.md` (Markdown), `.html`, else text.",
            content={
                "text/plain": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING),
                    examples={"slack": Example(value=EXAMPLE_TEMPLATE)},
                ),
                "text/x-jinja2": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
            },
        )


class ProjectBodyOperation(Operation):
    """Documents PUT /v1/projects/{key}: a project, checked as :class:`ProjectFields` with
    its settings as :class:`ReportOptions` (time zones and status words are checked
    too: a 422 names them)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The project (its key is in the URL)",
            content={
                "application/json": OpenAPIMediaType(
                    schema=struct_schema(ProjectFields, settings=ReportOptions),
                    examples={
                        "apollo": Example(
                            value=msgspec.to_builtins(
                                ProjectFields(
                                    name="Apollo Website Relaunch",
                                    monday_board_ids=["5012345601", "5012345602"],
                                    tracker_ref_prefixes=["apollo:"],
                                    confluence_space_key="APOLLO",
                                    outlook_mailbox="maya.patel@example.com",
                                    slack_channel_id="C07APOLLO1",
                                    settings={"meeting_keywords": ["Apollo"]},
                                )
                            )
                        )
                    },
                )
            },
        )
