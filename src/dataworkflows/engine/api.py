"""The engine's REST API (``/v1``): workflows, runs, connectors.

Every route here needs ``Authorization: Bearer <key>`` with a key from ``DW_API_KEYS``.
The handlers translate HTTP to :class:`~dataworkflows.engine.service.WorkflowService`
calls and records to response bodies; they hold no logic of their own.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Literal, Protocol
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, Router, get, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler
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
    HeaderParameter,
    QueryParameter,
)

from dataworkflows.contracts import ActionDescriptor
from dataworkflows.engine.definitions import DefinitionError, load_yaml
from dataworkflows.engine.errors import EngineError, as_problem
from dataworkflows.engine.service import WorkflowService, yaml_source
from dataworkflows.engine.store import (
    EntityLink,
    RunEvent,
    RunRecord,
    StepAttemptRecord,
    WorkflowSummary,
    WorkflowVersionInfo,
)
from dataworkflows.runtime.documents import (
    VersionQuery,
    media_type,
    no_such_version,
    read_text_body,
    registered,
)
from dataworkflows.runtime.paging import decode_cursor, encode_cursor
from dataworkflows.runtime.problems import (
    PROBLEM_MEDIA_TYPE,
    FieldError,
    Problem,
    ProblemDocument,
    problem_response,
)
from dataworkflows.runtime.redaction import Redactor

__all__ = ["api_router"]

MAX_DEFINITION_BYTES = 512 * 1024
MAX_WAIT_S = 300.0
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


# Response bodies ----------------------------------------------------------------------


class Links(msgspec.Struct, frozen=True):
    """Where to find related resources."""

    self: str
    workflow: str | None = None


class WorkflowRegistered(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of ``PUT /v1/workflows/{name}``."""

    name: str
    version: int
    created: bool
    """False when the definition equals the latest version (nothing stored)."""
    created_at: datetime


class WorkflowList(msgspec.Struct, frozen=True):
    """Every registered workflow."""

    workflows: list[WorkflowSummary]


class WorkflowDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow: its latest definition and every version."""

    name: str
    latest_version: int
    description: str
    definition: dict[str, Any]
    source: str
    versions: list[WorkflowVersionInfo]


TriggerKey = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class RunTrigger(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What started a run, as the caller describes it (recorded for audit)."""

    source: TriggerKey
    """E.g. ``slack`` (the Slack bot), ``schedule``, or a system of yours."""
    details: Annotated[
        dict[TriggerKey, Annotated[str, msgspec.Meta(max_length=256)]],
        msgspec.Meta(max_length=16),
    ] = msgspec.field(default_factory=dict)
    """Who and where, e.g. ``{"user": "U07…", "channel": "C07…", "command": "/dw"}``."""


class StartRun(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/workflows/{name}/runs``: the run's inputs, and what started it."""

    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    trigger: RunTrigger | None = None
    """Without it the run's trigger is ``{"source": "api"}``."""


def trigger_record(given: RunTrigger | None) -> dict[str, str]:
    """The trigger stored with a run: ``{"source": "api"}``, or the caller's own
    description (its ``source`` and ``details``)."""
    if given is None:
        return {"source": "api"}
    return {**given.details, "source": given.source}


class RunView(msgspec.Struct, frozen=True, kw_only=True):
    """A run."""

    id: UUID
    workflow: str
    version: int
    status: str
    inputs: dict[str, Any]
    output: Any
    error: dict[str, Any] | None
    trigger: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    deadline_at: datetime | None
    cancel_requested_at: datetime | None
    claims: int
    links: Links


class StepAttemptView(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt of a step (or of one foreach item: ``iteration`` >= 0)."""

    step_id: str
    iteration: int
    attempt: int
    action: str
    summary: bool
    """True for a foreach step's whole-step row (its items have their own rows)."""
    status: str
    input: Any
    output: Any
    error: dict[str, Any] | None
    queued_at: datetime
    started_at: datetime
    finished_at: datetime | None
    duration_ms: float | None


class RunDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A run with every step attempt and its event log."""

    run: RunView
    steps: list[StepAttemptView]
    events: list[RunEvent]


class RunPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of runs, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    runs: list[RunView]
    next_cursor: str | None


class ConnectorView(msgspec.Struct, frozen=True, kw_only=True):
    """A connector, whether it answers, and its actions."""

    name: str
    available: bool
    detail: str | None = None
    actions: list[ActionDescriptor]


class ConnectorList(msgspec.Struct, frozen=True):
    """Every configured connector."""

    connectors: list[ConnectorView]


class InvokeAction(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/connectors/{connector}/actions/{action}``: the action's input."""

    input: dict[str, Any] = msgspec.field(default_factory=dict)


class ActionOutput(msgspec.Struct, frozen=True):
    """What the action returned (secrets masked)."""

    output: dict[str, Any]


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000, 3)


def run_view(run: RunRecord, redact: Redactor) -> RunView:
    """The API's view of a run (its inputs as given, secrets masked)."""
    return RunView(
        id=run.id,
        workflow=run.workflow_name,
        version=run.workflow_version,
        status=run.status,
        inputs=redact(run.inputs),
        output=run.output,
        error=run.error,
        trigger=run.trigger,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_ms=_ms(run.started_at, run.finished_at),
        deadline_at=run.deadline_at,
        cancel_requested_at=run.cancel_requested_at,
        claims=run.claim_count,
        links=Links(self=f"/v1/runs/{run.id}", workflow=f"/v1/workflows/{run.workflow_name}"),
    )


def attempt_view(a: StepAttemptRecord) -> StepAttemptView:
    """The API's view of a step attempt."""
    return StepAttemptView(
        step_id=a.step_id,
        iteration=a.iteration,
        attempt=a.attempt,
        action=a.action,
        summary=a.aggregate,
        status=a.status,
        input=a.input,
        output=a.output,
        error=a.error,
        queued_at=a.queued_at,
        started_at=a.started_at,
        finished_at=a.finished_at,
        duration_ms=_ms(a.started_at, a.finished_at),
    )


# Cursors ------------------------------------------------------------------------------


# Authentication -----------------------------------------------------------------------


def api_key_guard(keys: Sequence[str]) -> Any:
    """A guard accepting ``Authorization: Bearer <key>`` for any of ``keys``."""
    encoded = [k.encode() for k in keys]

    # Async on purpose: Litestar hands a sync guard to a worker thread on every request.
    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(
                401,
                "Send an API key as 'Authorization: Bearer <key>'.",
                headers={"WWW-Authenticate": 'Bearer realm="dataworkflows"'},
            )
        given = token.strip().encode()
        # Compare against every key, in constant time each, so timing reveals nothing.
        matched = False
        for key in encoded:
            matched |= hmac.compare_digest(given, key)
        if not matched:
            raise Problem(
                401,
                "The API key is not valid.",
                headers={"WWW-Authenticate": 'Bearer realm="dataworkflows", error="invalid_token"'},
            )

    return guard


# Handlers -----------------------------------------------------------------------------

_PROBLEMS = {
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
        responses={200: ResponseSpec(WorkflowRegistered, description="Unchanged"), **_PROBLEMS},
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
        responses={404: _PROBLEMS[404]},
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
            **_PROBLEMS,
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
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                max_length=255,
                description="Repeat a request safely: the same key returns the same run",
            ),
        ] = None,
        wait: Annotated[
            float,
            QueryParameter(
                ge=0, le=MAX_WAIT_S, description="Seconds to wait for the run to finish"
            ),
        ] = 0.0,
    ) -> Response[RunView]:
        run, created = await service.start_run(
            name,
            inputs=data.inputs,
            idempotency_key=idempotency_key,
            trigger=trigger_record(data.trigger),
        )
        run = await service.wait(run, wait)
        headers = {"Location": f"/v1/runs/{run.id}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        # With wait: finished (200) or not yet (202). Without: new (201) or repeated (200).
        waited_status = 200 if run.finished else 202
        status = waited_status if wait > 0 else (201 if created else 200)
        return Response(run_view(run, service.redact), status_code=status, headers=headers)


class RunController(Controller):
    """Watch, cancel and retry runs."""

    path = "/runs"
    tags = ("runs",)

    @get("/", summary="List runs", description="Newest first; filter and page with `cursor`.")
    async def list_runs(
        self,
        *,
        request: Request[Any, Any, Any],
        service: NamedDependency[WorkflowService],
        workflow: FromQuery[str | None] = None,
        status: FromQuery[
            Literal["queued", "running", "succeeded", "failed", "cancelled"] | None
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
            workflow=workflow,
            status=status,
            created_after=created_after,
            created_before=created_before,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit,
        )
        next_cursor = (
            encode_cursor(runs[-1].created_at, runs[-1].id) if len(runs) == limit else None
        )
        return RunPage(runs=[run_view(r, service.redact) for r in runs], next_cursor=next_cursor)

    @get(
        "/{run_id:uuid}",
        summary="A run with every step attempt",
        description="Timings, status, attempt number, input and output (secrets masked as "
        "`***`) and error of every attempt, and the run's event log. With "
        "`?wait=<seconds>` the answer comes once the run has finished, or after that "
        "long with the run as it is then (a follower's long poll).",
        responses={404: _PROBLEMS[404]},
    )
    async def get_run(
        self,
        run_id: FromPath[UUID],
        service: NamedDependency[WorkflowService],
        wait: Annotated[
            float,
            QueryParameter(
                ge=0, le=MAX_WAIT_S, description="Seconds to wait for the run to finish"
            ),
        ] = 0.0,
    ) -> RunDetail:
        if wait > 0:
            current, _, _ = await service.run_detail(run_id)
            await service.wait(current, wait)
        run, attempts, events = await service.run_detail(run_id)
        return RunDetail(
            run=run_view(run, service.redact),
            steps=[attempt_view(a) for a in attempts],
            events=events,
        )

    @post(
        "/{run_id:uuid}/cancel",
        summary="Cancel a run",
        description="A queued run is cancelled at once; a running one stops before its next "
        "step, and what was in flight is marked cancelled.",
        status_code=202,
        responses={404: _PROBLEMS[404], 409: _PROBLEMS[409]},
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
        responses={404: _PROBLEMS[404], 409: _PROBLEMS[409]},
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
        responses={404: _PROBLEMS[404], 422: _PROBLEMS[422]},
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


class LinkList(msgspec.Struct, frozen=True):
    """A record's links to its counterparts in other systems."""

    links: list[EntityLink]


class LinkController(Controller):
    """Which record in one system corresponds to which in another."""

    path = "/links"
    tags = ("links",)

    @get(
        "/",
        summary="A record's links",
        description="Links recorded by workflows (for example a Monday item and the tracker "
        "task made from it), from the given record's side.",
    )
    async def links(
        self,
        service: NamedDependency[WorkflowService],
        system: Annotated[
            str,
            QueryParameter(
                pattern=r"^[a-z][a-z0-9_]*$", description="monday, tasktracker, confluence..."
            ),
        ],
        id: Annotated[
            str,
            # No control characters: an id with a NUL cannot have been stored.
            QueryParameter(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f]+$"),
        ],
    ) -> LinkList:
        return LinkList(links=await service.store.get_entity_links(system=system, id=id))


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


class ApiExtension(Protocol):
    """More ``/v1`` resources another package plugs into the engine's API (the reports'
    templates, projects and reports), with the dependencies they need."""

    @property
    def controllers(self) -> Sequence[type[Controller]]:
        """The controllers to mount under ``/v1``."""
        ...

    @property
    def dependencies(self) -> Mapping[str, Provide]:
        """What the controllers are given."""
        ...


def api_router(
    *,
    service: WorkflowService,
    api_keys: Sequence[str],
    extensions: Sequence[ApiExtension] = (),
) -> Router:
    """The ``/v1`` router, guarded by ``api_keys``, with the resources of ``extensions``."""

    async def provide_service() -> WorkflowService:
        return service

    handlers: list[type[Controller]] = [
        WorkflowController,
        RunController,
        ConnectorController,
        LinkController,
    ]
    dependencies = {"service": Provide(provide_service)}
    for extension in extensions:
        handlers.extend(extension.controllers)
        dependencies.update(extension.dependencies)
    return Router(
        path="/v1",
        route_handlers=handlers,
        guards=[api_key_guard(api_keys)],
        dependencies=dependencies,
        security=[{"apiKey": []}],
        exception_handlers={EngineError: _answer_engine_error},
    )


def _answer_engine_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """The service's domain errors, as problem documents."""
    assert isinstance(exc, EngineError)
    return problem_response(request, as_problem(exc))
