"""The reports' storage port on PostgreSQL: every call is one stored function."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, TypeVar
from uuid import UUID

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from dataworkflows.reports.store import (
    NewReport,
    Project,
    ProjectFields,
    ProjectMatch,
    ProjectRegistration,
    ProjectSource,
    ReportHeader,
    StoredReport,
    StoredTemplate,
    TemplateFormat,
    TemplateRegistration,
    TemplateSummary,
    TemplateVersionInfo,
)
from dataworkflows.runtime.database import StoredFunctions, without_nul
from dataworkflows.runtime.queries import load_queries

__all__ = ["PostgresReportStore"]

_Q: Final = load_queries("dataworkflows.reports.sql", "reports.sql")
_T = TypeVar("_T")


def _json(value: Any) -> Jsonb:
    return Jsonb(without_nul(value), dumps=msgspec.json.encode)


class PostgresReportStore(StoredFunctions):
    """:class:`~dataworkflows.reports.store.ReportStore` over the engine's psycopg pool."""

    # Templates ----------------------------------------------------------------------------

    async def put_template(
        self,
        *,
        name: str,
        format: TemplateFormat,
        source: str,
        checksum: str,
        skip_known: bool = False,
    ) -> TemplateRegistration:
        row = await self._one(
            _Q["put_template"],
            {
                "name": name,
                "format": format,
                "source": source,
                "checksum": checksum,
                "skip_known": skip_known,
            },
            TemplateRegistration,
        )
        assert row is not None
        return row

    async def get_template(self, name: str, version: int | None = None) -> StoredTemplate | None:
        return await self._one(
            _Q["get_template"], {"name": name, "version": version}, StoredTemplate
        )

    async def list_templates(self) -> list[TemplateSummary]:
        return await self._typed(_Q["list_templates"], {}, TemplateSummary)

    async def get_template_versions(self, name: str) -> list[TemplateVersionInfo]:
        return await self._typed(_Q["get_template_versions"], {"name": name}, TemplateVersionInfo)

    # Projects -----------------------------------------------------------------------------

    async def put_project(
        self, key: str, fields: ProjectFields, *, source: ProjectSource
    ) -> ProjectRegistration:
        params = {
            "key": key,
            "name": fields.name,
            "monday_board_ids": list(fields.monday_board_ids),
            "tracker_ref_prefixes": list(fields.tracker_ref_prefixes),
            "confluence_space_key": fields.confluence_space_key,
            "outlook_mailbox": fields.outlook_mailbox,
            "slack_channel_id": fields.slack_channel_id,
            "settings": _json(fields.settings),
            "source": source,
        }
        try:
            rows = await self._rows(_Q["put_project"], params)
        except psycopg.errors.UniqueViolation:
            # Another engine created the project between this call's look and its
            # insert (two engines starting at once register the shipped projects):
            # asked again, the call finds the row and updates it.
            rows = await self._rows(_Q["put_project"], params)
        row = rows[0]
        created, changed, applied = row.pop("created"), row.pop("changed"), row.pop("applied")
        return ProjectRegistration(
            project=msgspec.convert(row, Project),
            created=bool(created),
            changed=bool(changed),
            applied=bool(applied),
        )

    async def get_project(self, key: str) -> Project | None:
        return await self._one(_Q["get_project"], {"key": key}, Project)

    async def list_projects(self) -> list[Project]:
        return await self._typed(_Q["list_projects"], {}, Project)

    async def find_projects(self, text: str) -> list[ProjectMatch]:
        matches = []
        for row in await self._rows(_Q["find_projects"], {"text": text}):
            rank = int(row.pop("rank"))
            matches.append(ProjectMatch(rank=rank, project=msgspec.convert(row, Project)))
        return matches

    # Reports ------------------------------------------------------------------------------

    async def save_report(self, report: NewReport) -> tuple[StoredReport, bool]:
        rows = await self._rows(
            _Q["save_report"],
            {
                "project": report.project,
                "run_id": report.run_id,
                "idempotency_key": report.idempotency_key,
                "outputs": _json(report.outputs),
                "snapshot": _json(report.snapshot),
                "summary": _json(report.summary),
                "changes": _json(report.changes),
            },
        )
        row = rows[0]
        created = bool(row.pop("created"))
        return msgspec.convert(row, StoredReport), created

    async def get_latest_report(self, project: str) -> StoredReport | None:
        return await self._one(_Q["get_latest_report"], {"project": project}, StoredReport)

    async def get_report(self, report_id: UUID) -> StoredReport | None:
        return await self._one(_Q["get_report"], {"id": report_id}, StoredReport)

    async def list_reports(
        self, *, project: str | None, after: tuple[datetime, UUID] | None, limit: int
    ) -> list[ReportHeader]:
        return await self._typed(
            _Q["list_reports"],
            {
                "project": project,
                "after_created_at": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit,
            },
            ReportHeader,
        )
