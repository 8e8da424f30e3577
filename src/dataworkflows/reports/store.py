"""The reports' storage port: templates, the project registry and stored reports.

Actions and controllers see only :class:`ReportStore` and these records; the
PostgreSQL adapter (:mod:`dataworkflows.reports.postgres_store`) implements it with
the stored functions of ``migrations/0003_reports.sql``. Nothing here mentions psycopg.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, runtime_checkable
from uuid import UUID

import msgspec

from dataworkflows.runtime.versions import Registration

__all__ = [
    "PROJECT_KEY_PATTERN",
    "TEMPLATE_NAME_PATTERN",
    "NewReport",
    "Project",
    "ProjectFields",
    "ProjectMatch",
    "ProjectRegistration",
    "ProjectSource",
    "ReportHeader",
    "ReportStore",
    "StoredReport",
    "StoredTemplate",
    "TemplateFormat",
    "TemplateRegistration",
    "TemplateSummary",
    "TemplateVersionInfo",
]

TemplateFormat = Literal["slack", "confluence", "markdown", "html", "text"]
ProjectSource = Literal["api", "shipped"]

TEMPLATE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$"
"""``project-status.slack``: lower-case words joined by dots; at most 128 characters."""
PROJECT_KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
"""``apollo``: lower-case letters, digits, - and _, at most 63 characters."""

BoardId = Annotated[str, msgspec.Meta(pattern=r"^\d{1,20}$", description="A Monday board id")]
Prefix = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
OptionalText = Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None


TemplateRegistration = Registration
"""The outcome of storing a template's source."""


class StoredTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """One stored version of a template."""

    name: str
    version: int
    format: TemplateFormat
    source: str
    checksum: str
    created_at: datetime


class TemplateSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A template and its latest version number."""

    name: str
    format: TemplateFormat
    latest_version: int
    created_at: datetime
    updated_at: datetime


class TemplateVersionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a template, without its source."""

    version: int
    checksum: str
    created_at: datetime


class ProjectFields(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What is written of a project: how it maps to each system.

    Tracker tasks belong to the project when their ``external_ref`` is
    ``monday:<item id>`` of an item on one of its boards (tasks made by
    monday-to-tracker), or starts with one of ``tracker_ref_prefixes``.
    """

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    monday_board_ids: list[BoardId] = msgspec.field(default_factory=list)
    tracker_ref_prefixes: list[Prefix] = msgspec.field(default_factory=list)
    confluence_space_key: OptionalText = None
    outlook_mailbox: OptionalText = None
    """A user id or user principal name whose calendar holds the project's meetings."""
    slack_channel_id: OptionalText = None
    """Where the project's reports are posted (``C0123ABCD``)."""
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    """Report options: see :class:`dataworkflows.reports.summary.ReportOptions`."""


class Project(msgspec.Struct, frozen=True, kw_only=True):
    """A registered project."""

    key: str
    name: str
    monday_board_ids: list[str]
    tracker_ref_prefixes: list[str]
    confluence_space_key: str | None
    outlook_mailbox: str | None
    slack_channel_id: str | None
    settings: dict[str, Any]
    source: ProjectSource
    created_at: datetime
    updated_at: datetime


class ProjectMatch(msgspec.Struct, frozen=True, kw_only=True):
    """A project someone may mean: rank 1 by key, 2 by whole name, 3 by a part of either."""

    rank: int
    project: Project


class ProjectRegistration(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of writing a project."""

    project: Project
    created: bool
    changed: bool
    applied: bool
    """False when a shipped write left a project changed through the API alone."""


class NewReport(msgspec.Struct, frozen=True, kw_only=True):
    """A report to store."""

    project: str
    run_id: UUID | None
    idempotency_key: str | None
    outputs: dict[str, Any]
    snapshot: dict[str, Any]
    summary: dict[str, Any]
    changes: dict[str, Any]


class StoredReport(msgspec.Struct, frozen=True, kw_only=True):
    """A stored report with everything it holds."""

    id: UUID
    project: str
    created_at: datetime
    run_id: UUID | None
    outputs: dict[str, Any]
    snapshot: dict[str, Any]
    summary: dict[str, Any]
    changes: dict[str, Any]


class ReportHeader(msgspec.Struct, frozen=True, kw_only=True):
    """A report in a list: when, for which project, its health and counts."""

    id: UUID
    project: str
    created_at: datetime
    run_id: UUID | None
    health: dict[str, Any] | None
    counts: dict[str, Any] | None
    formats: list[str]


# Runtime-checkable: Litestar checks injected dependencies against their annotation.
@runtime_checkable
class ReportStore(Protocol):
    """Port: where templates, projects and reports are kept."""

    async def put_template(
        self,
        *,
        name: str,
        format: TemplateFormat,
        source: str,
        checksum: str,
        skip_known: bool = False,
    ) -> TemplateRegistration:
        """Store a template's source: a new version unless unchanged.

        ``skip_known``: also keep the current versions when the source equals any
        earlier version (shipped templates, registered at every start).
        """
        ...

    async def get_template(self, name: str, version: int | None = None) -> StoredTemplate | None:
        """One version of a template (the latest when ``version`` is None), or None."""
        ...

    async def list_templates(self) -> list[TemplateSummary]:
        """Every template, by name."""
        ...

    async def get_template_versions(self, name: str) -> list[TemplateVersionInfo]:
        """Every version of a template, oldest first (empty: unknown)."""
        ...

    async def put_project(
        self, key: str, fields: ProjectFields, *, source: ProjectSource
    ) -> ProjectRegistration:
        """Create or replace a project (a shipped write does not replace an API one)."""
        ...

    async def get_project(self, key: str) -> Project | None:
        """The project ``key`` (any case), or None."""
        ...

    async def list_projects(self) -> list[Project]:
        """Every project, by key."""
        ...

    async def find_projects(self, text: str) -> list[ProjectMatch]:
        """Projects whose key or name is or contains ``text`` (any case), best first."""
        ...

    async def save_report(self, report: NewReport) -> tuple[StoredReport, bool]:
        """Store a report; (it, True), or (the one stored with the same idempotency
        key, False)."""
        ...

    async def get_latest_report(self, project: str) -> StoredReport | None:
        """The newest report of ``project``, or None before the first."""
        ...

    async def get_report(self, report_id: UUID) -> StoredReport | None:
        """One report, or None."""
        ...

    async def list_reports(
        self, *, project: str | None, after: tuple[datetime, UUID] | None, limit: int
    ) -> list[ReportHeader]:
        """Reports newest first, optionally of one project, after a (created_at, id)."""
        ...
