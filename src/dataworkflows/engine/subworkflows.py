"""Sub-workflows: a step that runs another workflow and answers with its output.

``uses: workflows.run`` with ``with: {workflow: <name>, version: <n>, inputs: {...}}``
starts a run of that workflow (the version given, or the latest) and waits for it.
The child is a run of its own: durable, retried, cancelled and listed like any run;
its trigger names its parent run and step (``{"source": "workflow", "parent_run":
..., "parent_step": ..., "depth": n}``), and the parent's step output names the child.

- **Exactly one child per step.** The child's idempotency key is the step's own
  (``<run>:<step>:<iteration>``): a parent resumed after a crash, or retried, finds
  the child it started instead of starting another; a failed or cancelled child is
  retried with its parent.
- **Cancelling the parent cancels its children** (the database cascades it, down the
  tree), whether or not they run on the same engine.
- **Recursion is bounded.** A workflow whose steps call it again by name, directly or
  through others, is refused at registration; a child deeper than
  :data:`MAX_DEPTH` (the name computed at run time) fails the step with a clear error.
- The parent's step waits for the child: give it a ``timeout`` that fits the child.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, Protocol
from uuid import UUID

import msgspec

from dataworkflows.contracts import ActionFailed
from dataworkflows.engine.definitions import WorkflowDefinition
from dataworkflows.engine.errors import EngineError, NotFound, Unavailable
from dataworkflows.engine.store import RunRecord
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.problems import FieldError

__all__ = [
    "ACTION",
    "MAX_DEPTH",
    "ChildRun",
    "RunStarter",
    "RunWorkflow",
    "called_workflows",
    "recursion_problems",
    "subworkflow_actions",
]

ACTION: Final = "workflows.run"
MAX_DEPTH: Final = 8
"""Sub-workflows nest at most this deep (a run started by a run started by ...)."""
WAIT_SLICE_S: Final = 30.0
_MAX_LOOKUPS: Final = 64
"""Stored definitions read at most to check one registration for recursion."""
_LITERAL: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class RunWorkflow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``workflows.run``: which workflow, which version, with what inputs."""

    workflow: Annotated[str, msgspec.Meta(min_length=1, max_length=63)]
    """The workflow to run."""
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """A version to pin; omitted: the latest when the step runs."""
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    """The child run's inputs."""


class ChildRun(msgspec.Struct, kw_only=True):
    """The child run, finished."""

    run_id: str
    workflow: str
    version: int
    status: str
    output: Any


class RunStarter(Protocol):
    """What the action needs of the engine: start, watch and retry runs."""

    async def start_run(
        self,
        name: str,
        *,
        inputs: dict[str, Any],
        idempotency_key: str | None,
        trigger: dict[str, Any],
        version: int | None = None,
    ) -> tuple[RunRecord, bool]:
        """Start a run; (the run, whether it is new)."""
        ...

    async def run(self, run_id: UUID) -> RunRecord:
        """The run as it is now."""
        ...

    async def wait(self, run: RunRecord, seconds: float) -> RunRecord:
        """The run once finished, or as it is after ``seconds``."""
        ...

    async def retry(self, run_id: UUID) -> RunRecord:
        """Queue a failed or cancelled run again."""
        ...


def subworkflow_actions(runs: RunStarter) -> ActionSet:
    """The ``workflows`` connector: ``workflows.run``."""
    flows = ActionSet("workflows")

    @flows.action(
        "run",
        effect="write",
        description="Runs another workflow (the version given, or the latest) with "
        "`inputs`, waits for it and answers with its output. The child is a run of its "
        "own, listed under the parent; cancelling the parent cancels it.",
    )
    async def run(data: RunWorkflow, call: ActionCall) -> ChildRun:
        trigger = await _child_trigger(runs, call)
        if trigger["depth"] > MAX_DEPTH:
            raise ActionFailed.of(
                "invalid_input",
                f"sub-workflows nest at most {MAX_DEPTH} deep: starting {data.workflow!r} "
                f"here would be level {trigger['depth']} (does a workflow start itself?)",
                retryable=False,
            )
        key = f"child:{call.idempotency_key}" if call.idempotency_key else None
        try:
            child, created = await runs.start_run(
                data.workflow,
                version=data.version,
                inputs=data.inputs,
                idempotency_key=key,
                trigger=trigger,
            )
            if not created and child.status in ("failed", "cancelled"):
                # The parent is being retried: so is the child that stopped it.
                child = await runs.retry(child.id)
        except NotFound as exc:
            raise ActionFailed.of("not_found", exc.detail) from None
        except Unavailable as exc:
            raise ActionFailed.of(
                "upstream_unavailable", exc.detail, retry_after_s=exc.retry_after_s
            ) from None
        except EngineError as exc:
            details = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            message = f"{exc.detail} {details}".strip()
            raise ActionFailed.of("invalid_input", message, retryable=False) from None
        while not child.finished:
            child = await runs.wait(child, WAIT_SLICE_S)
        if child.status != "succeeded":
            reason = (child.error or {}).get("message", child.status)
            step = (child.error or {}).get("step")
            where = f" at step {step!r}" if step else ""
            raise ActionFailed.of(
                "upstream_error",
                f"the sub-workflow {child.workflow_name!r} (run {child.id}) "
                f"{child.status}{where}: {reason}",
                retryable=False,
            )
        return ChildRun(
            run_id=str(child.id),
            workflow=child.workflow_name,
            version=child.workflow_version,
            status=child.status,
            output=child.output,
        )

    return flows


async def _child_trigger(runs: RunStarter, call: ActionCall) -> dict[str, Any]:
    """The trigger of a child run: its parent run and step, and how deep it nests."""
    if call.context is None:
        return {"source": "workflow", "depth": 1}
    depth = 1
    with contextlib.suppress(NotFound, ValueError):
        parent = await runs.run(UUID(call.context.run_id))
        if parent.trigger.get("source") == "workflow":
            depth = int(parent.trigger.get("depth", 1)) + 1
    return {
        "source": "workflow",
        "parent_run": call.context.run_id,
        "parent_step": call.context.step_id,
        "depth": depth,
    }


def called_workflows(definition: WorkflowDefinition) -> list[tuple[int, str]]:
    """(step index, workflow name) of each step that runs a workflow named literally."""
    found: list[tuple[int, str]] = []
    for index, step in enumerate(definition.steps):
        name = step.with_.get("workflow") if step.uses == ACTION else None
        if isinstance(name, str) and _LITERAL.fullmatch(name):
            found.append((index, name))
    return found


async def recursion_problems(
    definition: WorkflowDefinition,
    stored: Callable[[str], Awaitable[WorkflowDefinition | None]],
) -> list[FieldError]:
    """Problems with the workflows ``definition`` runs (named literally): a chain that
    leads back to it, or one deeper than :data:`MAX_DEPTH`, following the latest
    stored version of each. Level by level, so the work stays bounded."""
    cache: dict[str, WorkflowDefinition | None] = {}

    async def callees(name: str) -> list[str]:
        if name == definition.name:
            return [n for _, n in called_workflows(definition)]
        if name not in cache:
            cache[name] = await stored(name) if len(cache) < _MAX_LOOKUPS else None
        found = cache[name]
        return [n for _, n in called_workflows(found)] if found is not None else []

    problems: list[FieldError] = []
    for index, first in called_workflows(definition):
        # came_from[name] = the workflow that first led to it (for the message).
        came_from: dict[str, str] = {first: definition.name}
        level = {first}
        chain: list[str] | None = None
        for depth in range(1, MAX_DEPTH + 1):
            if definition.name in level:
                chain = _path(came_from, definition.name, definition.name)
                break
            following: set[str] = set()
            for name in sorted(level):
                for callee in await callees(name):
                    if callee == definition.name:
                        came_from[callee] = name  # the step back to the start
                    else:
                        came_from.setdefault(callee, name)
                    following.add(callee)
            level = following
            if not level:
                break
            if depth == MAX_DEPTH and level:
                deepest = sorted(level)[0]
                chain = _path(came_from, deepest, definition.name)
        if chain is None:
            continue
        shown = " -> ".join(chain)
        message = (
            f"starts {definition.name!r} again ({shown}): the recursion would not end"
            if chain[-1] == definition.name
            else f"nests sub-workflows deeper than {MAX_DEPTH} levels ({shown} -> ...)"
        )
        problems.append(FieldError(field=f"steps[{index}].with.workflow", message=message))
    return problems


def _path(came_from: dict[str, str], end: str, start: str) -> list[str]:
    """The chain from ``start`` to ``end`` through ``came_from`` (bounded, loop-safe)."""
    path = [end]
    current = end
    for _ in range(MAX_DEPTH + 2):
        previous = came_from.get(current)
        if previous is None:
            break
        path.append(previous)
        if previous == start:
            break
        current = previous
    return list(reversed(path))
