"""The request and response bodies of the engine's REST API (``/v1``), as msgspec structs,
and the views that turn the store's records into them.

:mod:`.api_controllers` answers with these; their names and docstrings are the
schemas of the OpenAPI document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request

from dataworkflows.contracts import ActionDescriptor
from dataworkflows.engine.definitions import validation_problem
from dataworkflows.engine.store import (
    EntityLink,
    RunEvent,
    RunHistory,
    RunRecord,
    StepAttemptRecord,
    WorkflowSummary,
    WorkflowVersionInfo,
)
from dataworkflows.runtime.paging import next_cursor
from dataworkflows.runtime.problems import Problem
from dataworkflows.runtime.redaction import Redactor

__all__ = [
    "ActionOutput",
    "ConnectorList",
    "ConnectorView",
    "InvokeAction",
    "LinkList",
    "Links",
    "RunDetail",
    "RunPage",
    "RunTrigger",
    "RunView",
    "StartRun",
    "StepAttemptView",
    "WorkflowDetail",
    "WorkflowList",
    "WorkflowRegistered",
    "attempt_view",
    "run_detail",
    "run_page",
    "run_view",
    "trigger_record",
]


class Links(msgspec.Struct, frozen=True):
    """Where to find related resources."""

    self: str
    workflow: str | None = None
    parent: str | None = None
    """The run whose step started this one (a sub-workflow's parent)."""


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
    version: int
    """The version shown (``?version=``, else the latest)."""
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


class SendSignal(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/runs/{id}/signals/{name}``."""

    payload: Any = None
    """What the waiting step gets as ``output.payload``."""


class SignalSent(msgspec.Struct, frozen=True, kw_only=True):
    """What a signal did."""

    run_id: UUID
    signal: str
    woke: bool
    """The run was waiting for it, and goes on now."""
    status: str
    """The run's status after it."""


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
    wake_at: datetime | None = None
    """While ``waiting``: when it wakes by itself (a wait's timeout or time)."""
    waiting_for: str | None = None
    """While ``waiting``: the signal it waits for."""
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
    children: list[RunView] = msgspec.field(default_factory=list)
    """The runs its steps started (sub-workflows), oldest first."""
    links: list[EntityLink] = msgspec.field(default_factory=list)
    """The records it linked (a Monday item and the tracker task made from it...)."""


class RunPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of runs, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    runs: list[RunView]
    next_cursor: str | None
    history_since: datetime | None = None
    """Ended runs created before this were pruned (retention); None: none ever were."""


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


class LinkList(msgspec.Struct, frozen=True):
    """A record's links to its counterparts in other systems."""

    links: list[EntityLink]


# Views --------------------------------------------------------------------------------


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
        wake_at=run.wake_at,
        waiting_for=run.waiting_for,
        links=Links(
            self=f"/v1/runs/{run.id}",
            workflow=f"/v1/workflows/{run.workflow_name}",
            parent=_parent_link(run.trigger),
        ),
    )


def _parent_link(trigger: dict[str, Any]) -> str | None:
    parent = trigger.get("parent_run") if trigger.get("source") == "workflow" else None
    return f"/v1/runs/{parent}" if isinstance(parent, str) else None


def run_page(
    runs: list[RunRecord], *, limit: int, redact: Redactor, history_since: datetime | None
) -> RunPage:
    """A page of runs (asked for ``limit``) as the API shows it."""
    return RunPage(
        runs=[run_view(r, redact) for r in runs],
        next_cursor=next_cursor(runs, limit),
        history_since=history_since,
    )


def run_detail(history: RunHistory, redact: Redactor) -> RunDetail:
    """A run with everything recorded about it, as the API shows it."""
    return RunDetail(
        run=run_view(history.run, redact),
        steps=[attempt_view(a) for a in history.attempts],
        events=history.events,
        children=[run_view(child, redact) for child in history.children],
        links=history.links,
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


async def strictly(request: Request[Any, Any, Any], body_type: type[Any]) -> None:
    """Check a JSON body against ``body_type`` without Litestar's lax coercions (it
    reads ``"0"`` as ``false`` and ``"10"`` as ``10``): a 400 naming the field. (The body
    is bounded already: Litestar decoded it.)"""
    try:
        msgspec.convert(_integral_floats_as_ints(await request.json()), body_type, strict=True)
    except msgspec.ValidationError as exc:
        raise Problem(
            400,
            "The request is invalid; see errors.",
            errors=[validation_problem(exc, "", body_type)],
        ) from None


def _integral_floats_as_ints(value: Any) -> Any:
    """JSON's ``32.0`` is the integer 32 (JSON Schema says so); strict msgspec would not
    take it as an ``int``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value
