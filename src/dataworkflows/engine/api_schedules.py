"""``/v1/schedules``: declare, list, pause, resume, delete and run schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import BodyKwarg, FromPath, FromQuery

from dataworkflows.engine.api_bodies import RunView, strictly
from dataworkflows.engine.api_params import IdempotencyKey, WaitSeconds, started_run
from dataworkflows.engine.definitions import DefinitionError
from dataworkflows.engine.schedule_service import ScheduleService, calendar_of
from dataworkflows.engine.schedule_store import ScheduleRecord
from dataworkflows.engine.schedules import MAX_MISSED_LIMIT, MissedPolicy
from dataworkflows.runtime.problems import PROBLEM_MEDIA_TYPE, ProblemDocument

__all__ = ["ScheduleBody", "ScheduleController", "ScheduleList", "ScheduleView"]

UPCOMING: Final = 3
"""Next fire times listed per schedule."""

_PROBLEMS = {
    status: ResponseSpec(
        data_container=ProblemDocument, description=description, media_type=PROBLEM_MEDIA_TYPE
    )
    for status, description in {
        404: "No such schedule",
        422: "Invalid schedule; `errors` lists each field and problem",
    }.items()
}


class ScheduleBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /v1/schedules/{name}``: what to run, when, and what to do about missed ticks."""

    workflow: str
    """The workflow to run (its latest version at each tick)."""
    cron: str
    """Five fields (minute hour day-of-month month day-of-week) or a macro: @hourly,
    @daily, @midnight, @weekly, @monthly, @yearly, @annually."""
    timezone: str = "UTC"
    """The IANA time zone the cron expression is read in."""
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    missed: MissedPolicy = "once"
    """Ticks missed while no engine ran: skip them, run once for the latest, or run each."""
    missed_limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_MISSED_LIMIT)] = 10
    """With ``missed: each``, the most missed ticks run (the latest ones)."""
    description: str = ""
    paused: bool | None = None
    """Omitted: as it is (a new schedule starts unpaused)."""
    name: str | None = None
    """If given, must match the URL."""


class ScheduleLinks(msgspec.Struct, frozen=True):
    """Where to find related resources."""

    self: str
    workflow: str
    runs: str
    last_run: str | None = None


class ScheduleView(msgspec.Struct, frozen=True, kw_only=True):
    """A schedule, with when it fires next."""

    name: str
    workflow: str
    cron: str
    explanation: str
    """The cron expression in words."""
    timezone: str
    inputs: dict[str, Any]
    missed: str
    missed_limit: int
    description: str
    paused: bool
    source: str
    """``file`` (a schedules.yaml) or ``api``."""
    next_fire_at: datetime | None
    """When it is due next (None while paused); in the past while overdue."""
    upcoming: list[datetime]
    """The next few fire times."""
    last_tick_at: datetime | None
    last_run_id: UUID | None
    last_error: str | None
    """Why the last tick started no run, if it did not."""
    created_at: datetime
    updated_at: datetime
    links: ScheduleLinks


class ScheduleList(msgspec.Struct, frozen=True):
    """Every schedule, by name."""

    schedules: list[ScheduleView]


def schedule_view(record: ScheduleRecord, service: ScheduleService) -> ScheduleView:
    """The API's view of a schedule (secret inputs masked)."""
    try:
        calendar = calendar_of(record)
        explanation = calendar.explain()
        upcoming = (
            []
            if record.paused
            else [
                record.next_fire_at,
                *calendar.upcoming(max(record.next_fire_at, service.clock()), UPCOMING - 1),
            ]
        )
    except DefinitionError as exc:
        explanation, upcoming = str(exc), []
    return ScheduleView(
        name=record.name,
        workflow=record.workflow_name,
        cron=record.cron,
        explanation=explanation,
        timezone=record.timezone,
        inputs=service.redact(record.inputs),
        missed=record.missed,
        missed_limit=record.missed_limit,
        description=record.description,
        paused=record.paused,
        source=record.source,
        next_fire_at=None if record.paused else record.next_fire_at,
        upcoming=upcoming,
        last_tick_at=record.last_tick_at,
        last_run_id=record.last_run_id,
        last_error=record.last_error,
        created_at=record.created_at,
        updated_at=record.updated_at,
        links=ScheduleLinks(
            self=f"/v1/schedules/{record.name}",
            workflow=f"/v1/workflows/{record.workflow_name}",
            runs=f"/v1/runs?workflow={record.workflow_name}",
            last_run=f"/v1/runs/{record.last_run_id}" if record.last_run_id else None,
        ),
    )


class ScheduleController(Controller):
    """Workflows started on a cron calendar."""

    path = "/schedules"
    tags = ("schedules",)

    @get("/", summary="List schedules", description="By name, each with its next fire times.")
    async def list_schedules(
        self,
        schedules: NamedDependency[ScheduleService],
        workflow: FromQuery[str | None] = None,
    ) -> ScheduleList:
        records = await schedules.list_schedules(workflow)
        return ScheduleList([schedule_view(r, schedules) for r in records])

    @get("/{name:str}", summary="Show a schedule", responses={404: _PROBLEMS[404]})
    async def get_schedule(
        self, name: FromPath[str], schedules: NamedDependency[ScheduleService]
    ) -> ScheduleView:
        return schedule_view(await schedules.get(name), schedules)

    @put(
        "/{name:str}",
        summary="Create or replace a schedule",
        description="The cron expression, time zone, workflow and inputs are checked as a "
        "run's would be (422 names each bad field). Replacing a schedule with the same "
        "declaration changes nothing; a changed one fires next at its new calendar's "
        "first tick after now.",
        status_code=200,
        responses={201: ResponseSpec(ScheduleView, description="Created"), **_PROBLEMS},
    )
    async def put_schedule(
        self,
        name: FromPath[str],
        request: Request[Any, Any, Any],
        schedules: NamedDependency[ScheduleService],
        data: Annotated[
            ScheduleBody,
            BodyKwarg(
                examples=[
                    Example(
                        summary="Apollo's status report, Mondays at 9 in London",
                        value={
                            "workflow": "project-status-report",
                            "cron": "0 9 * * MON",
                            "timezone": "Europe/London",
                            "inputs": {"project": "apollo"},
                            "missed": "once",
                        },
                    )
                ]
            ),
        ],
    ) -> Response[ScheduleView]:
        await strictly(request, ScheduleBody)
        document = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None}
        record, created = await schedules.put(document, source="api", name=name)
        return Response(
            schedule_view(record, schedules),
            status_code=201 if created else 200,
            headers={"Location": f"/v1/schedules/{record.name}"},
        )

    @delete(
        "/{name:str}",
        summary="Delete a schedule",
        description="Its runs stay. A schedule declared in schedules.yaml comes back when "
        "the engine restarts: pause it instead, or take it out of the file.",
        status_code=204,
        responses={404: _PROBLEMS[404]},
    )
    async def delete_schedule(
        self, name: FromPath[str], schedules: NamedDependency[ScheduleService]
    ) -> None:
        await schedules.delete(name)

    @post(
        "/{name:str}/pause",
        summary="Pause a schedule",
        description="No runs start until it is resumed; ticks while paused are not caught up.",
        status_code=200,
        responses={404: _PROBLEMS[404]},
    )
    async def pause(
        self, name: FromPath[str], schedules: NamedDependency[ScheduleService]
    ) -> ScheduleView:
        return schedule_view(await schedules.pause(name), schedules)

    @post(
        "/{name:str}/resume",
        summary="Resume a schedule",
        description="It fires next at its first tick after now.",
        status_code=200,
        responses={404: _PROBLEMS[404]},
    )
    async def resume(
        self, name: FromPath[str], schedules: NamedDependency[ScheduleService]
    ) -> ScheduleView:
        return schedule_view(await schedules.resume(name), schedules)

    @post(
        "/{name:str}/run",
        summary="Run a schedule now",
        description="Starts its workflow with its inputs at once (paused or not), outside "
        "its calendar. With an `Idempotency-Key`, a repeat returns the same run; with "
        "`?wait=<seconds>` the answer is the finished run (200) if it ends in time, else 202.",
        status_code=201,
        responses={
            200: ResponseSpec(RunView, description="Finished within `wait`, or a repeat"),
            202: ResponseSpec(RunView, description="Still running after `wait` seconds"),
            409: ResponseSpec(
                data_container=ProblemDocument,
                description="The Idempotency-Key was used for another request",
                media_type=PROBLEM_MEDIA_TYPE,
            ),
            **_PROBLEMS,
        },
    )
    async def run_now(
        self,
        name: FromPath[str],
        schedules: NamedDependency[ScheduleService],
        idempotency_key: IdempotencyKey = None,
        wait: WaitSeconds = 0.0,
    ) -> Response[RunView]:
        run, created = await schedules.run_now(name, idempotency_key=idempotency_key)
        run = await schedules.workflows.wait(run, wait)
        return started_run(run, created=created, waited=wait, redact=schedules.redact)
