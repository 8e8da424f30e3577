"""The Task Tracker connector's actions, over the Task Tracker port.

``tasktracker.list_tasks``, ``get_task``, ``create_task``, ``update_task`` (changes
only the fields given), ``delete_task``, and ``upsert_task``: the task with this
``external_ref`` is created, updated, or left alone when nothing changed, so a
re-run never makes a duplicate.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

import msgspec

from dataworkflows.connectors.tasktracker.port import (
    Task,
    TaskFields,
    TaskQuery,
    TaskStatus,
    TaskTrackerPort,
    TrackerConflict,
    TrackerNotFound,
    TrackerStale,
)
from dataworkflows.connectors.toolkit import RecentResults
from dataworkflows.contracts import ActionFailed
from dataworkflows.runtime.actions import ActionCall, ActionSet

__all__ = ["tasktracker_actions"]

T = TypeVar("T")
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
DueDate = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")]
PAGE: int = 200


class ListTasksInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Filters; without ``limit`` every matching task is returned (all pages)."""

    status: TaskStatus | None = None
    external_ref: str | None = None
    assignee: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1)] | None = None


class TaskList(msgspec.Struct, kw_only=True):
    """Tasks in creation order."""

    tasks: list[Task]
    count: int


class TaskIdInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which task."""

    id: Annotated[str, msgspec.Meta(min_length=1)]


class TaskOutput(msgspec.Struct, kw_only=True):
    """One task."""

    task: Task


class CreateTaskInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new task."""

    title: Title
    description: str = ""
    status: TaskStatus = "todo"
    assignee: str | None = None
    due_date: DueDate | None = None
    external_ref: str | None = None


class UpdateTaskInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The fields to change; the others keep their values."""

    id: Annotated[str, msgspec.Meta(min_length=1)]
    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    status: TaskStatus | msgspec.UnsetType = msgspec.UNSET
    assignee: str | msgspec.UnsetType | None = msgspec.UNSET
    due_date: DueDate | msgspec.UnsetType | None = msgspec.UNSET
    external_ref: str | msgspec.UnsetType | None = msgspec.UNSET


class DeleteOutput(msgspec.Struct, kw_only=True):
    """Whether a task was deleted (False: there was none)."""

    deleted: bool


class UpsertTaskInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The task that should exist for ``external_ref``; unset fields keep their values."""

    external_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    title: Title
    description: str | msgspec.UnsetType = msgspec.UNSET
    status: TaskStatus | msgspec.UnsetType = msgspec.UNSET
    assignee: str | msgspec.UnsetType | None = msgspec.UNSET
    due_date: DueDate | msgspec.UnsetType | None = msgspec.UNSET


class UpsertOutput(msgspec.Struct, kw_only=True):
    """The task, and what happened to it."""

    task: Task
    outcome: Literal["created", "updated", "unchanged"]


def _merged(current: TaskFields, changes: msgspec.Struct) -> TaskFields:
    values = msgspec.structs.asdict(current)
    for name, value in msgspec.structs.asdict(changes).items():
        if name in values and value is not msgspec.UNSET:
            values[name] = value
    return TaskFields(**values)


def tasktracker_actions(port: TaskTrackerPort) -> ActionSet:
    """The ``tasktracker`` actions over ``port``."""
    tracker = ActionSet("tasktracker", description="Tasks of the internal task tracker.")
    created: RecentResults[Task] = RecentResults()

    async def find(external_ref: str) -> Task | None:
        page = await port.list_tasks(TaskQuery(external_ref=external_ref, limit=1))
        return page.tasks[0] if page.tasks else None

    async def replace(task: Task, changes: msgspec.Struct) -> Task:
        """Write ``changes`` over ``task``, re-reading once if it changed meanwhile."""
        try:
            return await port.update_task(
                task.id, _merged(task.fields(), changes), version=task.version
            )
        except TrackerStale:
            fresh = await port.get_task(task.id)
            if fresh is None:
                raise TrackerNotFound(f"task {task.id} was deleted meanwhile") from None
            return await port.update_task(
                fresh.id, _merged(fresh.fields(), changes), version=fresh.version
            )

    @tracker.action(
        "list_tasks",
        effect="read",
        description="Tasks, filtered by status, external_ref or assignee.",
    )
    async def list_tasks(data: ListTasksInput, call: ActionCall) -> TaskList:
        async def everything() -> list[Task]:
            tasks: list[Task] = []
            while True:
                page = await port.list_tasks(
                    TaskQuery(
                        status=data.status,
                        external_ref=data.external_ref,
                        assignee=data.assignee,
                        limit=PAGE,
                        offset=len(tasks),
                    )
                )
                tasks.extend(page.tasks)
                if (
                    not page.tasks
                    or len(tasks) >= page.total
                    or (data.limit is not None and len(tasks) >= data.limit)
                ):
                    return tasks[: data.limit] if data.limit is not None else tasks

        tasks = await everything()
        return TaskList(tasks=tasks, count=len(tasks))

    @tracker.action("get_task", effect="read", description="One task by id.")
    async def get_task(data: TaskIdInput, call: ActionCall) -> TaskOutput:
        task = await port.get_task(data.id)
        if task is None:
            raise ActionFailed.of("not_found", f"there is no task {data.id}")
        return TaskOutput(task=task)

    @tracker.action("create_task", effect="write", description="Create a task.")
    async def create_task(data: CreateTaskInput, call: ActionCall) -> TaskOutput:
        key = call.idempotency_key
        if key is not None and (done := created.get(key)) is not None:
            return TaskOutput(task=done)
        fields = TaskFields(**msgspec.structs.asdict(data))
        task = await port.create_task(fields)
        if key is not None:
            created.put(key, task)
        return TaskOutput(task=task)

    @tracker.action("update_task", effect="write", description="Change the given fields of a task.")
    async def update_task(data: UpdateTaskInput, call: ActionCall) -> TaskOutput:
        async def update() -> Task:
            current = await port.get_task(data.id)
            if current is None:
                raise TrackerNotFound(f"there is no task {data.id}")
            return await replace(current, data)

        return TaskOutput(task=await update())

    @tracker.action(
        "delete_task", effect="write", description="Delete a task (no error if it is gone)."
    )
    async def delete_task(data: TaskIdInput, call: ActionCall) -> DeleteOutput:
        return DeleteOutput(deleted=await port.delete_task(data.id))

    @tracker.action(
        "upsert_task",
        effect="write",
        description="Make the task with this external_ref match: create it, update what "
        "differs, or leave it unchanged. A re-run never creates a duplicate.",
    )
    async def upsert_task(data: UpsertTaskInput, call: ActionCall) -> UpsertOutput:
        async def upsert() -> UpsertOutput:
            existing = await find(data.external_ref)
            if existing is None:
                fields = _merged(TaskFields(title=data.title, external_ref=data.external_ref), data)
                try:
                    return UpsertOutput(task=await port.create_task(fields), outcome="created")
                except TrackerConflict:
                    # Another run created it a moment ago: fall through to update it.
                    existing = await find(data.external_ref)
                    if existing is None:
                        raise
            wanted = _merged(existing.fields(), data)
            if wanted == existing.fields():
                return UpsertOutput(task=existing, outcome="unchanged")
            return UpsertOutput(task=await replace(existing, data), outcome="updated")

        return await upsert()

    return tracker
