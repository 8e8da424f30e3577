"""The reports' REST API: templates, the project registry, stored reports.

Mounted by the engine under ``/v1`` (behind its API-key guard):

- ``PUT /templates/{name}`` (the jinja2 source as ``text/plain``), ``GET /templates``,
  ``GET /templates/{name}`` (``?version=``), ``POST /templates/{name}/render`` (try a
  template on some data);
- ``PUT /projects/{key}`` (JSON), ``GET /projects``, ``GET /projects/{key}``;
- ``GET /reports`` (``?project=&limit=&cursor=``), ``GET /reports/{id}``
  (``?format=slack`` answers that rendering alone; ``?snapshot=true`` adds the data).

Handlers translate HTTP to the report store and the registry; errors are RFC 9457
problems (:class:`~dataworkflows.runtime.problems.Problem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, Tag
from litestar.params import BodyKwarg, FromPath, PathParameter, QueryParameter

from dataworkflows.reports.api_schema import (
    PROBLEMS,
    ProjectBodyOperation,
    ProjectList,
    RenderRequest,
    ReportDetail,
    ReportPage,
    TemplateBodyOperation,
    TemplateDetail,
    TemplateList,
    TemplateRegistered,
    report_detail,
    report_page,
)
from dataworkflows.reports.registry import ProjectProblem, register_project, register_template
from dataworkflows.reports.render import Rendered, render_isolated
from dataworkflows.reports.store import PROJECT_KEY_PATTERN, Project, ReportStore
from dataworkflows.reports.templates import MAX_SOURCE_CHARS, TemplateProblem, TemplateRenderError
from dataworkflows.runtime.documents import (
    VersionQuery,
    media_type,
    no_such_version,
    read_text_body,
    registered,
)
from dataworkflows.runtime.evaluation_pool import EvaluationPool
from dataworkflows.runtime.paging import decode_cursor
from dataworkflows.runtime.problems import FieldError, Problem

__all__ = [
    "REPORT_TAGS",
    "ProjectController",
    "ReportController",
    "ReportsApi",
    "TemplateController",
    "reports_api",
]

TEMPLATE_TYPES = ("text/plain", "text/x-jinja2", "text/x-jinja", "application/x-jinja2")
MAX_TEMPLATE_BYTES = MAX_SOURCE_CHARS * 4

REPORT_TAGS = [
    Tag(name="templates", description="Report templates (jinja2), versioned"),
    Tag(name="projects", description="The project registry: how a project maps to each system"),
    Tag(name="reports", description="Every status report made, with what it was made from"),
]


# Handlers -----------------------------------------------------------------------------------


def _template_problem(problem: TemplateProblem) -> Problem:
    return Problem(422, "The template is invalid.", errors=problem.errors)


class TemplateController(Controller):
    """Register, read and try report templates."""

    path = "/templates"
    tags = ("templates",)

    @put(
        "/{name:str}",
        summary="Register a template",
        description="Compiles the template before storing it and answers 422 naming the "
        "line of a syntax error (field `source`). A changed source becomes the next "
        "version (201); an unchanged one returns the current version (200). Workflows "
        "render it with the `core.render` step.",
        operation_class=TemplateBodyOperation,
        responses={200: ResponseSpec(TemplateRegistered, description="Unchanged"), **PROBLEMS},
        status_code=201,
    )
    async def register(
        self,
        name: FromPath[str],
        request: Request[Any, Any, Any],
        report_store: NamedDependency[ReportStore],
    ) -> Response[TemplateRegistered]:
        if media_type(request, "text/plain").lower() not in TEMPLATE_TYPES:
            raise Problem(415, "Send the template as text/plain (or text/x-jinja2).")
        _, source = await read_text_body(request, limit=MAX_TEMPLATE_BYTES, what="template")
        try:
            fmt, registration = await register_template(report_store, name, source)
        except TemplateProblem as problem:
            raise _template_problem(problem) from None
        return registered(
            TemplateRegistered(
                name=name,
                format=fmt,
                version=registration.version,
                created=registration.created,
                created_at=registration.created_at,
            ),
            created=registration.created,
            location=f"/v1/templates/{name}",
        )

    @get("/", summary="List templates")
    async def list_templates(self, report_store: NamedDependency[ReportStore]) -> TemplateList:
        return TemplateList(templates=await report_store.list_templates())

    @get(
        "/{name:str}",
        summary="A template's source and versions",
        responses={404: PROBLEMS[404]},
    )
    async def get_template(
        self,
        name: FromPath[str],
        report_store: NamedDependency[ReportStore],
        version: VersionQuery = None,
    ) -> TemplateDetail:
        stored = await report_store.get_template(name, version)
        if stored is None:
            raise no_such_version("template", name, version)
        versions = await report_store.get_template_versions(name)
        return TemplateDetail(
            name=stored.name,
            format=stored.format,
            version=stored.version,
            latest_version=versions[-1].version,
            source=stored.source,
            checksum=stored.checksum,
            created_at=stored.created_at,
            versions=versions,
        )

    @post(
        "/{name:str}/render",
        summary="Render a template with some data",
        description="Renders the template (default its latest version) with `data`, as "
        "`core.render` would in a workflow: to try a template before a workflow uses it. "
        "422 names the template line that failed.",
        status_code=200,
        responses={404: PROBLEMS[404], 422: PROBLEMS[422]},
    )
    async def render_template(
        self,
        name: FromPath[str],
        report_store: NamedDependency[ReportStore],
        evaluation_pool: NamedDependency[EvaluationPool],
        data: Annotated[
            RenderRequest,
            BodyKwarg(
                examples=[
                    Example(
                        value={"data": {"project": {"name": "Apollo"}, "summary": {}}},
                    )
                ]
            ),
        ],
    ) -> Rendered:
        stored = await report_store.get_template(name, data.version)
        if stored is None:
            raise Problem(404, f"There is no template {name!r}.")
        try:
            rendered = await render_isolated(
                evaluation_pool,
                source=stored.source,
                fmt=stored.format,
                name=stored.name,
                data=data.data,
            )
            return msgspec.convert(rendered, Rendered)
        except TemplateProblem as problem:
            raise _template_problem(problem) from None
        except TemplateRenderError as exc:
            raise Problem(
                422,
                "The template failed with this data.",
                errors=[FieldError(field="source" if exc.line else "data", message=str(exc))],
            ) from None


class ProjectController(Controller):
    """The project registry."""

    path = "/projects"
    tags = ("projects",)

    @put(
        "/{key:str}",
        summary="Register or replace a project",
        description="How the project maps to each system: its Monday boards, the tracker "
        "(tasks synced from its boards, plus tasks whose `external_ref` starts with one of "
        "`tracker_ref_prefixes`), its Confluence space, the Outlook mailbox whose calendar "
        "holds its meetings, and the Slack channel its reports go to. `settings` tune the "
        "report (status_map, column ids, horizon_days, meeting_keywords, timezone, ...). "
        "201 when new, 200 when replaced.",
        status_code=201,
        operation_class=ProjectBodyOperation,
        responses={200: ResponseSpec(Project, description="Replaced"), **PROBLEMS},
    )
    async def put_project(
        self,
        key: Annotated[str, PathParameter(pattern=PROJECT_KEY_PATTERN)],
        report_store: NamedDependency[ReportStore],
        data: Annotated[dict[str, Any], BodyKwarg(description="The project")],
    ) -> Response[Project]:
        try:
            registration = await register_project(report_store, key, data, source="api")
        except ProjectProblem as problem:
            raise Problem(422, "The project is invalid.", errors=problem.errors) from None
        return Response(
            registration.project,
            status_code=201 if registration.created else 200,
            headers={"Location": f"/v1/projects/{key}"},
        )

    @get("/", summary="List projects")
    async def list_projects(self, report_store: NamedDependency[ReportStore]) -> ProjectList:
        return ProjectList(projects=await report_store.list_projects())

    @get("/{key:str}", summary="A project", responses={404: PROBLEMS[404]})
    async def get_project(
        self, key: FromPath[str], report_store: NamedDependency[ReportStore]
    ) -> Project:
        found = await report_store.get_project(key)
        if found is None:
            known = ", ".join(p.key for p in await report_store.list_projects()) or "none"
            raise Problem(404, f"There is no project {key!r}; projects: {known}.")
        return found


class ReportController(Controller):
    """Stored status reports."""

    path = "/reports"
    tags = ("reports",)

    @get(
        "/",
        summary="List reports",
        description="Newest first, each with its health and counts; filter by project and "
        "page with `cursor`.",
    )
    async def list_reports(
        self,
        *,
        report_store: NamedDependency[ReportStore],
        project: Annotated[str | None, QueryParameter(max_length=63)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 20,
        cursor: Annotated[
            str | None, QueryParameter(description="`next_cursor` of the previous page")
        ] = None,
    ) -> ReportPage:
        headers = await report_store.list_reports(
            project=project, after=decode_cursor(cursor) if cursor else None, limit=limit
        )
        return report_page(headers, limit=limit)

    @get(
        "/{report_id:uuid}",
        summary="A report",
        description="Its renderings by format, summary and what changed since the previous "
        "report. With `?format=slack` (or confluence, markdown...) only that rendering; with "
        "`?snapshot=true` also the data it was made from.",
        responses={
            200: ResponseSpec(ReportDetail, description="The report (or one rendering)"),
            404: PROBLEMS[404],
        },
    )
    async def get_report(
        self,
        report_id: FromPath[UUID],
        report_store: NamedDependency[ReportStore],
        format: Annotated[
            str | None,
            QueryParameter(
                max_length=64, description="Only this rendering (slack, confluence, markdown)"
            ),
        ] = None,
        snapshot: Annotated[
            bool, QueryParameter(description="Include the data the report was made from")
        ] = False,
    ) -> Response[Any]:
        stored = await report_store.get_report(report_id)
        if stored is None:
            raise Problem(404, f"There is no report {report_id}.")
        if format is not None:
            if format not in stored.outputs:
                have = ", ".join(sorted(stored.outputs)) or "none"
                raise Problem(
                    404, f"Report {report_id} has no {format!r} rendering; it has {have}."
                )
            return Response(stored.outputs[format])
        return Response(report_detail(stored, snapshot=snapshot))


@dataclass(frozen=True)
class ReportsApi:
    """What the engine mounts: the controllers, the dependency they need, their tags."""

    controllers: tuple[type[Controller], ...]
    dependencies: dict[str, Provide]
    tags: tuple[Tag, ...]


def reports_api(store: ReportStore, pool: EvaluationPool) -> ReportsApi:
    """The reports' controllers over ``store``, rendering previews in ``pool``."""

    async def provide_store() -> ReportStore:
        return store

    async def provide_pool() -> EvaluationPool:
        return pool

    return ReportsApi(
        controllers=(TemplateController, ProjectController, ReportController),
        dependencies={
            "report_store": Provide(provide_store),
            "evaluation_pool": Provide(provide_pool),
        },
        tags=tuple(REPORT_TAGS),
    )
