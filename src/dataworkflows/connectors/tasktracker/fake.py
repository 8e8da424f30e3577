"""An in-memory Task Tracker port for unit tests."""

from __future__ import annotations

import itertools
from typing import Any

import msgspec

from dataworkflows.connectors.tasktracker.port import (
    Task,
    TaskFields,
    TaskPage,
    TaskQuery,
    TrackerConflict,
    TrackerError,
    TrackerNotFound,
    TrackerStale,
)

__all__ = ["FakeTaskTracker"]


class FakeTaskTracker:
    """:class:`~dataworkflows.connectors.tasktracker.port.TaskTrackerPort` over a dict.

    ``fail_next`` raises the given errors from the next calls, in order.
    """

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.fail_next: list[TrackerError] = []
        self.calls: list[str] = []
        self._ids = itertools.count(1)

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def list_tasks(self, query: TaskQuery) -> TaskPage:
        self._enter("list_tasks")
        matching = [
            t
            for t in self.tasks.values()
            if (query.status is None or t.status == query.status)
            and (query.external_ref is None or t.external_ref == query.external_ref)
            and (query.assignee is None or t.assignee == query.assignee)
        ]
        end = query.offset + query.limit
        return TaskPage(tasks=matching[query.offset : end], total=len(matching))

    async def get_task(self, task_id: str) -> Task | None:
        self._enter("get_task")
        return self.tasks.get(task_id)

    def _check_unique(self, fields: TaskFields, task_id: str | None) -> None:
        if fields.external_ref is not None and any(
            t.external_ref == fields.external_ref and t.id != task_id for t in self.tasks.values()
        ):
            raise TrackerConflict(f"external_ref {fields.external_ref} is taken")

    async def create_task(self, fields: TaskFields) -> Task:
        self._enter("create_task")
        self._check_unique(fields, None)
        task_id = f"TT-{next(self._ids)}"
        task = Task(
            id=task_id,
            created_at="2026-11-01T00:00:00Z",
            updated_at="2026-11-01T00:00:00Z",
            **_plain(fields),
        )
        self.tasks[task_id] = task
        return task

    async def update_task(
        self, task_id: str, fields: TaskFields, *, version: int | None = None
    ) -> Task:
        self._enter("update_task")
        current = self.tasks.get(task_id)
        if current is None:
            raise TrackerNotFound(f"there is no task {task_id}")
        if version is not None and version != current.version:
            raise TrackerStale("the task changed")
        self._check_unique(fields, task_id)
        task = Task(
            id=task_id,
            created_at=current.created_at,
            updated_at="2026-11-02T00:00:00Z",
            version=current.version + 1,
            **_plain(fields),
        )
        self.tasks[task_id] = task
        return task

    async def delete_task(self, task_id: str) -> bool:
        self._enter("delete_task")
        return self.tasks.pop(task_id, None) is not None


def _plain(fields: TaskFields) -> dict[str, Any]:
    return msgspec.structs.asdict(fields)
