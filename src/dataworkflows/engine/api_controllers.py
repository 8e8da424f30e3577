"""The controllers of the engine's REST API (``/v1``): workflows, runs, connectors, links.

The handlers translate HTTP to :class:`~dataworkflows.engine.service.WorkflowService`
calls and records to the bodies of :mod:`.api_bodies`; they hold no logic of their
own. :func:`~.api.api_router` mounts them behind the API key guard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import (
    BodyKwarg,
    FromPath,
    FromQuery,
    QueryParameter,
)

from dataworkflows.engine.api_bodies import (
    ActionOutput,
    ConnectorList,
    ConnectorView,
    InvokeAction,
    RunDetail,
    RunPage,
    RunView,
    StartRun,
    WorkflowDetail,
    WorkflowList,
    WorkflowRegistered,
    run_detail,
    run_page,
    run_view,
    trigger_record,
)
from dataworkflows.engine.api_params import IdempotencyKey, WaitSeconds, started_run
from dataworkflows.engine.definitions import DefinitionError, load_yaml
from dataworkflows.engine.service import WorkflowService, yaml_source
from dataworkflows.engine.store import RunFilter
from dataworkflows.runtime.documents import (
    VersionQuery,
    media_type,
    no_such_version,
    read_text_body,
    registered,
)
from dataworkflows.runtime.paging import decode_cursor
from dataworkflows.runtime.problems import (
    PROBLEM_MEDIA_TYPE,
    FieldError,
    Problem,
    ProblemDocument,
)

__all__ = [
    "PROBLEM_RESPONSES",
    "ConnectorController",
    "RunController",
    "WorkflowController",
    "load_yaml_or_problem",
]

MAX_DEFINITION_BYTES = 512 * 1024
ENGINE_SOURCES = frozenset({"workflow"})
"""Trigger sources only the engine records: a caller cannot make its run look like a
sub-workflow (a parent's cancel reaches the runs recorded as its children)."""
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")

EXAMPLE_YAML = """\
name: hello-world
description: Echo a greeting, then wait a moment once per name.
inputs:
  greeting: {type: string, default: Hello}
  names: {type: list, default: [Ada, Grace]}
steps:
  - id: greet
    uses: core.echo
    with:
      message: "{{ inputs.greeting }}, {{ inputs.names | join(' and ') }}!"
  - id: pause
    uses: core.sleep
    foreach: "{{ inputs.names }}"
    concurrency: 2
    with: {seconds: 0.1}
output:
  message: "{{ steps.greet.output.message }}"
  paused: "{{ steps.pause.output | length }}"
"""

PROBLEM_RESPONSES = {
    status: ResponseSpec(
        data_container=ProblemDocument, description=description, media_type=PROBLEM_MEDIA_TYPE
    )
    for status, description in {
        401: "Missing or invalid API key",
        404: "Not found",
        409: "Not possible in the resource's current state",
        422: "Invalid input; `errors` lists each field and problem",
    }.items()
}


@dataclass
class _DefinitionBody(Operation):
    """Documents PUT /v1/workflows/{name}: a YAML (or JSON) body."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The definition as YAML (`Content-Type: application/yaml`) or the "
            "same structure as JSON. Its `name` must match the URL.",
            content={
                "application/yaml": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING),
                    examples={"hello-world": Example(value=EXAMPLE_YAML)},
                ),
                "application/json": OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT)),
            },
        )


class WorkflowController(Controller):
    """Register and read workflow definitions, and start runs."""

    path = "/workflows"
    tags = ("workflows",)

    @put(
        "/{name:str}",
        summary="Register a workflow definition",
        description="Validates everything before storing and answers 422 listing every "
        "problem with its path. A changed definition becomes the next version (201); an "
        "unchanged one returns the current version (200).",
        operation_class=_DefinitionBody,
        responses={
            200: ResponseSpec(WorkflowRegistered, description="Unchanged"),
            **PROBLEM_RESPONSES,
        },
        status_code=201,
    )
    async def register(
        self,
        name: FromPath[str],
        request: Request[Any, Any, Any],
        service: NamedDependency[WorkflowService],
    ) -> Response[WorkflowRegistered]:
        body, text = await read_text_body(request, limit=MAX_DEFINITION_BYTES, what="definition")
        kind = media_type(request, "application/yaml")
        if kind == "application/json":
            try:
                document = msgspec.json.decode(body)
            except msgspec.DecodeError as exc:
                raise Problem(400, f"The body is not valid JSON: {exc}") from None
            source = yaml_source(document)
        elif kind in YAML_TYPES:
            document = load_yaml_or_problem(text)
            source = text
        else:
            raise Problem(415, "Send the definition as application/yaml or application/json.")
        registered_name, registration = await service.register(document, source=source, name=name)
        return registered(
            WorkflowRegistered(
                name=registered_name,
                version=registration.version,
                created=registration.created,
                created_at=registration.created_at,
            ),
            created=registration.created,
            location=f"/v1/workflows/{registered_name}",
        )

    @get("/", summary="List workflows")
    async def list_workflows(self, service: NamedDependency[WorkflowService]) -> WorkflowList:
        return WorkflowList(workflows=await service.store.list_workflows())

    @get(
        "/{name:str}",
        summary="A workflow with its versions",
        responses={404: PROBLEM_RESPONSES[404]},
    )
    async def get_workflow(
        self,
        name: FromPath[str],
        service: NamedDependency[WorkflowService],
        version: VersionQuery = None,
    ) -> WorkflowDetail:
        stored = await service.store.get_workflow_version(name, version)
        if stored is None:
            raise no_such_version("workflow", name, version)
        versions = await service.store.get_workflow_versions(name)
        return WorkflowDetail(
            name=stored.name,
            latest_version=versions[-1].version,
            version=stored.version,
            description=stored.description,
            definition=stored.definition,
            source=stored.source,
            versions=versions,
        )

    @post(
        "/{name:str}/runs",
        summary="Start a run",
        description="Inputs are checked against the workflow's declared inputs (422 names "
        "each bad one). With an `Idempotency-Key` header, repeating the request returns the "
        "run it started instead of starting another. With `?wait=<seconds>` the answer is the "
        "finished run (200) if it ends in time, else 202 with its location.",
        status_code=201,
        responses={
            200: ResponseSpec(RunView, description="Finished within `wait`, or a repeated request"),
            202: ResponseSpec(RunView, description="Still running after `wait` seconds"),
            **PROBLEM_RESPONSES,
        },
    )
    async def start_run(
        self,
        name: FromPath[str],
        service: NamedDependency[WorkflowService],
        data: Annotated[
            StartRun,
            BodyKwarg(
                description="The run's inputs",
                examples=[
                    Example(value={"inputs": {"greeting": "Hi", "names": ["Linus"]}}),
                    Example(
                        summary="Started from another system",
                        value={
                            "inputs": {"greeting": "Hi"},
                            "trigger": {"source": "slack", "details": {"user": "U07MAYA001"}},
                        },
                    ),
                ],
            ),
        ],
        idempotency_key: IdempotencyKey = None,
        wait: WaitSeconds = 0.0,
    ) -> Response[RunView]:
        if data.trigger is not None and data.trigger.source in ENGINE_SOURCES:
            raise Problem(
                422,
                "The request is invalid; see errors.",
                errors=[
                    FieldError(
                        field="trigger.source",
                        message=f"{data.trigger.source!r} is recorded by the engine itself "
                        "(sub-workflow runs); use a source of your own",
                    )
                ],
            )
        run, created = await service.start_run(
            name,
            inputs=data.inputs,
            idempotency_key=idempotency_key,
            trigger=trigger_record(data.trigger),
        )
        run = await service.wait(run, wait)
        return started_run(run, created=created, waited=wait, redact=service.redact)


class RunController(Controller):
    """Watch, cancel and retry runs."""

    path = "/runs"
    tags = ("runs",)

    @get(
        "/",
        summary="List runs",
        description="Newest first; filter and page with `cursor`. `history_since`: ended "
        "runs created before it have been pruned (DW_RUN_RETENTION_DAYS); null when none "
        "ever were.",
    )
    async def list_runs(
        self,
        *,
        request: Request[Any, Any, Any],
        service: NamedDependency[WorkflowService],
        workflow: FromQuery[str | None] = None,
        status: FromQuery[
            Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"] | None
        ] = None,
        trigger: Annotated[
            str | None,
            QueryParameter(
                pattern=r"^[a-z][a-z_-]{0,31}$",
                description="What started it: api, console, schedule, hook, slack, workflow, cli",
            ),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=100,
                pattern=r"^[^\x00-\x1f]+$",
                description="The start of a run id, or words of the workflow's name, the "
                "inputs or the error (any case)",
            ),
        ] = None,
        created_after: Annotated[datetime | None, QueryParameter(description="Inclusive")] = None,
        created_before: Annotated[datetime | None, QueryParameter(description="Exclusive")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[
            str | None, QueryParameter(description="`next_cursor` of the previous page")
        ] = None,
    ) -> RunPage:
        _instants_only(request, "created_after", "created_before")
        runs = await service.list_runs(
            RunFilter(
                workflow=workflow,
                status=status,
                trigger=trigger,
                text=q,
                created_from=created_after,
                created_to=created_before,
                after=decode_cursor(cursor) if cursor else None,
                limit=limit,
            )
        )
        return run_page(
            runs,
            limit=limit,
            redact=service.redact,
            history_since=await service.store.history_since(),
        )

    @get(
        "/{run_id:uuid}",
        summary="A run with every step attempt",
        description="Timings, status, attempt number, input and output (secrets masked as "
        "`***`) and error of every attempt, and the run's event log. With "
        "`?wait=<seconds>` the answer comes once the run has finished, or after that "
        "long with the run as it is then (a follower's long poll).",
        responses={404: PROBLEM_RESPONSES[404]},
    )
    async def get_run(
        self,
        run_id: FromPath[UUID],
        service: NamedDependency[WorkflowService],
        wait: WaitSeconds = 0.0,
    ) -> RunDetail:
        if wait > 0:
            await service.wait(await service.run(run_id), wait)
        return run_detail(await service.run_detail(run_id), service.redact)

    @post(
        "/{run_id:uuid}/cancel",
        summary="Cancel a run",
        description="A queued run is cancelled at once; a running one stops before its next "
        "step, and what was in flight is marked cancelled.",
        status_code=202,
        responses={404: PROBLEM_RESPONSES[404], 409: PROBLEM_RESPONSES[409]},
    )
    async def cancel(
        self, run_id: FromPath[UUID], service: NamedDependency[WorkflowService]
    ) -> RunView:
        return run_view(await service.cancel(run_id), service.redact)

    @post(
        "/{run_id:uuid}/retry",
        summary="Retry a failed run",
        description="Queues the run again; steps that succeeded are not repeated, it resumes "
        "at the step that failed.",
        status_code=202,
        responses={404: PROBLEM_RESPONSES[404], 409: PROBLEM_RESPONSES[409]},
    )
    async def retry(
        self, run_id: FromPath[UUID], service: NamedDependency[WorkflowService]
    ) -> RunView:
        return run_view(await service.retry(run_id), service.redact)


class ConnectorController(Controller):
    """What connectors offer, and trying one action."""

    path = "/connectors"
    tags = ("connectors",)

    @get("/", summary="List connectors and their actions")
    async def list_connectors(self, service: NamedDependency[WorkflowService]) -> ConnectorList:
        catalogs = await service.connectors.catalogs(refresh=True)
        views = []
        for name, catalog in catalogs.items():
            if isinstance(catalog, str):
                views.append(ConnectorView(name=name, available=False, detail=catalog, actions=[]))
            else:
                views.append(ConnectorView(name=name, available=True, actions=catalog.actions))
        return ConnectorList(connectors=views)

    @post(
        "/{connector:str}/actions/{action:str}",
        summary="Call one action once",
        description="Outside any workflow, to try a connection. Errors carry the connector's "
        "error `code` and whether it is `retryable`.",
        status_code=200,
        responses={404: PROBLEM_RESPONSES[404], 422: PROBLEM_RESPONSES[422]},
    )
    async def invoke(
        self,
        connector: FromPath[str],
        action: FromPath[str],
        service: NamedDependency[WorkflowService],
        data: Annotated[
            InvokeAction,
            BodyKwarg(examples=[Example(value={"input": {"message": "hello"}})]),
        ],
    ) -> ActionOutput:
        return ActionOutput(output=await service.invoke_once(connector, action, data.input))


_INSTANT_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ].*)?$")


def _instants_only(request: Request[Any, Any, Any], *names: str) -> None:
    """A 400 when a date-time parameter is not written as one: the parser would also
    take a number as seconds since 1970 (``created_before=0.5``)."""
    for name in names:
        raw = request.query_params.get(name)
        if raw is not None and not _INSTANT_RE.match(raw):
            raise Problem(
                400,
                "The request is invalid; see errors.",
                errors=[
                    FieldError(
                        field=name, message="must be an RFC 3339 date-time (2026-12-01T09:00:00Z)"
                    )
                ],
            )


def load_yaml_or_problem(text: str) -> Any:
    """Parse a YAML body; a 422 problem with line and column when malformed."""
    try:
        return load_yaml(text)
    except DefinitionError as exc:
        raise Problem(422, "The workflow definition is invalid.", errors=exc.problems) from None
