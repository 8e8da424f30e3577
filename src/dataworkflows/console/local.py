"""The console inside the engine process: its pages answered by the engine's services,
with the REST API's documents (so the standalone console's pages read the same)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from dataworkflows.console.backend import Json, Refused, RunQuery, Stats, stats_of
from dataworkflows.engine.api_bodies import run_detail, run_page
from dataworkflows.engine.api_schedules import schedule_view
from dataworkflows.engine.errors import EngineError, Invalid, NotFound
from dataworkflows.engine.schedule_service import ScheduleService
from dataworkflows.engine.service import WorkflowService
from dataworkflows.engine.store import RunFilter
from dataworkflows.reports.api_schema import report_detail, report_page
from dataworkflows.reports.store import ReportStore
from dataworkflows.runtime.metrics import BREAKER_STATE, CONNECTOR_CALLS
from dataworkflows.runtime.paging import decode_cursor
from dataworkflows.runtime.problems import Problem

__all__ = ["EngineBackend", "metric_stats"]


def _builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


def _cursor(text: str | None) -> tuple[datetime, UUID] | None:
    try:
        return decode_cursor(text) if text else None
    except Problem:
        return None  # a mangled cursor starts from the newest, as a fresh page would


def metric_stats() -> Stats:
    """Connector calls, failures and breakers as this process's metrics count them."""
    return stats_of([*CONNECTOR_CALLS.collect(), *BREAKER_STATE.collect()])


class EngineBackend:
    """:class:`~.backend.Backend` over this engine's services (``reports``: None when
    the engine serves none)."""

    def __init__(
        self,
        service: WorkflowService,
        *,
        schedules: ScheduleService | None = None,
        reports: ReportStore | None = None,
    ) -> None:
        self.service = service
        self.schedules_service = schedules
        self.report_store = reports

    async def runs(self, query: RunQuery) -> Json:
        found = await self.service.list_runs(
            RunFilter(
                workflow=query.workflow,
                status=query.status,
                trigger=query.trigger,
                text=query.text,
                created_from=query.created_after,
                created_to=query.created_before,
                after=_cursor(query.cursor),
                limit=query.limit,
            )
        )
        page = run_page(
            found,
            limit=query.limit,
            redact=self.service.redact,
            history_since=await self.service.store.history_since(),
        )
        return _builtins(page)  # type: ignore[no-any-return]

    async def run(self, run_id: UUID) -> Json | None:
        try:
            history = await self.service.run_detail(run_id)
        except NotFound:
            return None
        return _builtins(run_detail(history, self.service.redact))  # type: ignore[no-any-return]

    async def _act(self, run_id: UUID, what: str) -> None:
        try:
            await (self.service.retry(run_id) if what == "retry" else self.service.cancel(run_id))
        except NotFound as exc:
            raise Refused(404, str(exc)) from None
        except EngineError as exc:
            raise Refused(409, str(exc)) from None

    async def retry(self, run_id: UUID) -> None:
        await self._act(run_id, "retry")

    async def cancel(self, run_id: UUID) -> None:
        await self._act(run_id, "cancel")

    async def workflows(self) -> list[Json]:
        return _builtins(await self.service.store.list_workflows())  # type: ignore[no-any-return]

    async def workflow(self, name: str, version: int | None = None) -> Json | None:
        stored = await self.service.store.get_workflow_version(name, version)
        if stored is None:
            return None
        versions = await self.service.store.get_workflow_versions(name)
        return {
            "name": stored.name,
            "latest_version": versions[-1].version,
            "version": stored.version,
            "description": stored.description,
            "definition": stored.definition,
            "source": stored.source,
            "versions": _builtins(versions),
        }

    async def schedules(self, workflow: str) -> list[Json]:
        if self.schedules_service is None:
            return []
        found = await self.schedules_service.list_schedules(workflow)
        return [_builtins(schedule_view(s, self.schedules_service)) for s in found]

    async def start(self, workflow: str, inputs: Json) -> str:
        try:
            run, _ = await self.service.start_run(
                workflow, inputs=inputs, idempotency_key=None, trigger={"source": "console"}
            )
        except Invalid as exc:
            fields = {e.field.removeprefix("inputs."): e.message for e in exc.errors}
            raise Refused(422, exc.detail, fields) from None
        except NotFound as exc:
            raise Refused(404, str(exc)) from None
        except EngineError as exc:
            raise Refused(409, str(exc)) from None
        return str(run.id)

    async def connectors(self) -> list[Json]:
        catalogs = await self.service.connectors.catalogs(refresh=True)
        listed = []
        for name, catalog in catalogs.items():
            if isinstance(catalog, str):
                listed.append({"name": name, "available": False, "detail": catalog, "actions": []})
            else:
                actions = _builtins(catalog.actions)
                listed.append({"name": name, "available": True, "actions": actions})
        return listed

    async def stats(self) -> Stats:
        return metric_stats()

    async def projects(self) -> list[Json] | None:
        if self.report_store is None:
            return None
        return _builtins(await self.report_store.list_projects())  # type: ignore[no-any-return]

    async def reports(self, project: str | None, cursor: str | None) -> Json | None:
        if self.report_store is None:
            return None
        limit = 20
        headers = await self.report_store.list_reports(
            project=project, after=_cursor(cursor), limit=limit
        )
        return _builtins(report_page(headers, limit=limit))  # type: ignore[no-any-return]

    async def report(self, report_id: UUID) -> Json | None:
        if self.report_store is None:
            return None
        stored = await self.report_store.get_report(report_id)
        if stored is None:
            return None
        return _builtins(report_detail(stored))  # type: ignore[no-any-return]
