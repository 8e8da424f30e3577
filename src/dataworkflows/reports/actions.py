"""The ``reports`` connector, and the template source behind ``core.render``.

Built into the engine (it reads and writes the engine's database), so it always runs
in-process, like ``links``:

- ``reports.project``: a project from the registry, by key or a part of its name,
  and the time window its report covers (for the gathering steps).
- ``reports.compose``: the summary of the gathered data, and what changed since the
  project's previous report; ``report`` is what templates render, ``snapshot`` what
  ``reports.save`` stores for the next comparison.
- ``reports.save``: stores a report (renderings, snapshot, summary, changes).

:class:`StoredTemplateSource` lets ``core.render`` render registered templates. The
actions' inputs and outputs are in :mod:`.action_io`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
import psycopg

from dataworkflows.contracts import ActionFailed
from dataworkflows.contracts.templates import OutputFormat, TemplateFailed, TemplateNotFound
from dataworkflows.reports.action_io import (
    ComposeInput,
    ComposeOutput,
    ProjectInput,
    ProjectOutput,
    ReportData,
    SaveInput,
    SaveOutput,
    Window,
)
from dataworkflows.reports.comparison import Snapshot, changes
from dataworkflows.reports.items import work_items
from dataworkflows.reports.render import render_isolated
from dataworkflows.reports.sources import discussions, meetings, pages
from dataworkflows.reports.store import NewReport, Project, ReportStore, StoredReport
from dataworkflows.reports.summary import ReportOptions, summarize
from dataworkflows.reports.templates import (
    CompiledTemplate,
    TemplateProblem,
    TemplateRenderError,
    compile_template,
)
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.evaluation_pool import EvaluationPool
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.struct_errors import did_you_mean

__all__ = ["StoredTemplateSource", "project_options", "reports_actions"]

_log = get_logger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _unavailable() -> ActionFailed:
    return ActionFailed.of("upstream_unavailable", "the database is not reachable")


# Helpers ---------------------------------------------------------------------------------


def project_options(project: Project, overrides: Mapping[str, Any] | None = None) -> ReportOptions:
    """The project's report settings with ``overrides``; ``ValueError`` naming what is wrong."""
    merged = {**project.settings, **(overrides or {})}
    try:
        return msgspec.convert(merged, ReportOptions)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None


def _window(today: date, options: ReportOptions) -> Window:
    zone = ZoneInfo(options.timezone)
    start = datetime.combine(today, time(), tzinfo=zone)
    since = start - timedelta(days=options.lookback_days)
    return Window(
        today=today.isoformat(),
        until=(today + timedelta(days=options.horizon_days)).isoformat(),
        week_start=start.isoformat(),
        week_end=(start + timedelta(days=options.horizon_days + 1)).isoformat(),
        since=since.isoformat(),
        since_date=since.date().isoformat(),
        since_ts=f"{int(since.timestamp())}.000000",
    )


def _flatten(entries: list[Any], key: str, marker: str) -> list[Any]:
    """Entries, with whole connector outputs (``{key: [...]}`` without ``marker``) opened."""
    flat: list[Any] = []
    for entry in entries:
        if isinstance(entry, Mapping) and marker not in entry and isinstance(entry.get(key), list):
            flat.extend(entry[key])
        else:
            flat.append(entry)
    return flat


def names_of(users: list[Any]) -> dict[str, str]:
    """Slack user id -> the name people know them by (real name, else display name,
    else user name); entries that are not users are skipped."""
    names: dict[str, str] = {}
    for user in users:
        if not isinstance(user, Mapping) or not isinstance(user.get("id"), str):
            continue
        given = user.get("profile")
        profile: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        for candidate in (
            user.get("real_name"),
            user.get("display_name"),
            profile.get("real_name"),
            profile.get("display_name"),
            user.get("name"),
        ):
            if isinstance(candidate, str) and candidate.strip():
                names[user["id"]] = candidate.strip()
                break
    return names


def _previous(latest: StoredReport | None) -> Snapshot | None:
    if latest is None:
        return None
    try:
        return msgspec.convert(latest.snapshot, Snapshot)
    except msgspec.ValidationError as exc:
        # A snapshot this code cannot read (an older format): report as a first one.
        _log.warning("previous report not comparable", report=str(latest.id), error=str(exc))
        return None


async def _resolve(store: ReportStore, text: str) -> Project:
    """The project ``text`` names: its key, its whole name, or the only one containing it."""
    matches = await store.find_projects(text)
    if not matches:
        keys = [p.key for p in await store.list_projects()]
        known = ", ".join(keys) or "none"
        raise ActionFailed.of(
            "not_found",
            f"there is no project {text!r}{did_you_mean(text, keys)} (projects: {known})",
        )
    best = [m for m in matches if m.rank == matches[0].rank]
    if len(best) > 1:
        names = ", ".join(f"{m.project.key} ({m.project.name})" for m in best)
        raise ActionFailed.of("invalid_input", f"project: {text!r} could be any of {names}")
    return best[0].project


def _today(given: str | None, options: ReportOptions, now: datetime) -> date:
    if not given:
        return options.today(now)
    try:
        return date.fromisoformat(given)
    except ValueError:
        raise ActionFailed.of("invalid_input", f"today: {given} is not a calendar date") from None


# The actions -----------------------------------------------------------------------------


def reports_actions(
    store: ReportStore,
    *,
    clock: Callable[[], datetime] = _utc_now,
    console_url: str | None = None,
) -> ActionSet:
    """The ``reports`` actions over the report store; ``clock`` gives the current time;
    with ``console_url`` a report links to the console's page of the run that made it."""
    reports = ActionSet(
        "reports", description="Project status reports: registry, summary, history."
    )

    @reports.action(
        "project",
        effect="read",
        description="A project from the registry, by key or a part of its name (case does "
        "not matter), with how it maps to Monday, the tracker, Confluence, Outlook and Slack, "
        "and the window its report covers.",
    )
    async def project(data: ProjectInput, call: ActionCall) -> ProjectOutput:
        try:
            found = await _resolve(store, data.project)
        except psycopg.OperationalError:
            raise _unavailable() from None
        try:
            options = project_options(found)
        except ValueError as exc:
            raise ActionFailed.of("invalid_input", f"project {found.key} settings: {exc}") from None
        return ProjectOutput(
            project=found, window=_window(_today(data.today, options, clock()), options)
        )

    @reports.action(
        "compose",
        effect="read",
        description="Summarises a project's gathered data (done, in progress, blocked, "
        "overdue, not started, per owner; upcoming deadlines, meetings, changed pages, "
        "discussion highlights) and what changed since its previous report: `report` is "
        "what templates render, `snapshot` what reports.save stores.",
    )
    async def compose(data: ComposeInput, call: ActionCall) -> ComposeOutput:
        try:
            found = await _resolve(store, data.project)
            latest = await store.get_latest_report(found.key)
        except psycopg.OperationalError:
            raise _unavailable() from None
        try:
            options = project_options(found, data.options)
        except ValueError as exc:
            raise ActionFailed.of("invalid_input", f"options: {exc}") from None
        now = clock()
        today = _today(data.today, options, now)
        items = work_items(
            data.items,
            _flatten(data.tasks, "tasks", "id"),
            today=today,
            options=options,
            tracker_ref_prefixes=found.tracker_ref_prefixes,
            take_all_tasks=not found.monday_board_ids and not found.tracker_ref_prefixes,
        )
        upcoming_meetings = meetings(
            _flatten(data.meetings, "events", "subject"),
            today=today,
            horizon_days=options.horizon_days,
            tz=options.timezone,
            keywords=options.meeting_keywords,
        )
        changed_pages = pages(_flatten(data.pages, "pages", "title"))
        threads, message_count = discussions(
            _flatten(data.messages, "messages", "ts"),
            people={**names_of(_flatten(data.users, "users", "id")), **data.people},
        )
        summary = summarize(
            items,
            today=today,
            options=options,
            meeting_list=upcoming_meetings,
            page_list=changed_pages,
            discussion_list=threads,
            message_count=message_count,
        )
        generated_at = now.isoformat()
        snapshot = Snapshot(
            project=found.key,
            today=today.isoformat(),
            generated_at=generated_at,
            counts=summary.counts,
            work_items=items,
            meetings=upcoming_meetings,
            pages=changed_pages,
            discussions=threads,
        )
        previous = _previous(latest)
        found_changes = changes(
            previous,
            snapshot,
            previous_report_id=str(latest.id) if latest is not None and previous else None,
        )
        return ComposeOutput(
            report=ReportData(
                project=found,
                today=today.isoformat(),
                generated_at=generated_at,
                window=_window(today, options),
                summary=summary,
                changes=found_changes,
                missing=list(data.missing),
                run_url=f"{console_url.rstrip('/')}/runs/{call.context.run_id}"
                if console_url and call.context is not None
                else None,
            ),
            snapshot=snapshot,
        )

    @reports.action(
        "save",
        effect="write",
        description="Stores a report: its renderings by format, the snapshot it was made "
        "from, its summary and changes. The next report of the project compares with it. "
        "A retried step returns the report it stored.",
    )
    async def save(data: SaveInput, call: ActionCall) -> SaveOutput:
        run_id = call.run_uuid
        try:
            found = await _resolve(store, data.project)
            stored, created = await store.save_report(
                _new_report(found.key, run_id, call.idempotency_key, data)
            )
        except psycopg.OperationalError:
            raise _unavailable() from None
        return SaveOutput(
            id=str(stored.id),
            url=f"/v1/reports/{stored.id}",
            project=stored.project,
            created_at=stored.created_at.isoformat(),
            created=created,
        )

    return reports


def _new_report(
    project: str, run_id: UUID | None, idempotency_key: str | None, data: SaveInput
) -> NewReport:
    return NewReport(
        project=project,
        run_id=run_id,
        idempotency_key=idempotency_key,
        outputs=dict(data.outputs),
        snapshot=data.snapshot,
        summary=data.summary,
        changes=data.changes,
    )


# core.render -------------------------------------------------------------------------------

_CACHE_SIZE: Final = 256


class StoredTemplateSource:
    """:class:`~dataworkflows.connectors.core.service.TemplateSource` over the report
    store: registered templates by name and version, or inline sources."""

    def __init__(self, store: ReportStore, pool: EvaluationPool) -> None:
        self._store = store
        self._pool = pool
        # Versions never change once stored: a compiled version is good for ever.
        self._compiled: OrderedDict[tuple[str, int], CompiledTemplate] = OrderedDict()

    async def compiled(self, name: str, version: int | None = None) -> CompiledTemplate:
        """The compiled template; :class:`TemplateNotFound`, or :class:`TemplateFailed`
        when the stored source does not compile (it did when it was registered)."""
        if version is not None and (cached := self._compiled.get((name, version))):
            return cached
        try:
            stored = await self._store.get_template(name, version)
        except psycopg.OperationalError:
            raise _unavailable() from None
        if stored is None:
            which = f"{name!r} version {version}" if version else repr(name)
            raise TemplateNotFound(f"there is no template {which}")
        key = (stored.name, stored.version)
        cached = self._compiled.get(key)
        if cached is not None:
            self._compiled.move_to_end(key)
            return cached
        try:
            compiled = compile_template(stored.source, format=stored.format, name=stored.name)
        except TemplateProblem as problem:
            raise TemplateFailed(f"template {name} v{stored.version}: {problem}") from None
        self._compiled[key] = compiled
        while len(self._compiled) > _CACHE_SIZE:
            self._compiled.popitem(last=False)
        return compiled

    async def render(
        self,
        *,
        template: str | None,
        version: int | None,
        source: str | None,
        format: OutputFormat | None,
        data: Any,
    ) -> Mapping[str, Any]:
        if template is not None:
            compiled = await self.compiled(template, version)
            label = f"template {compiled.name}"
            source, fmt, name = compiled.source, compiled.format, compiled.name
        else:
            # Compiled in the worker too: an inline source is as untrusted as the data.
            label, fmt, name = "inline template", format or "text", "<inline>"
        try:
            return await render_isolated(
                self._pool, source=source or "", fmt=fmt, name=name, data=data
            )
        except TemplateProblem as problem:
            raise TemplateFailed(f"{label}: {problem}") from None
        except TemplateRenderError as exc:
            raise TemplateFailed(f"{label}: {exc}") from None
