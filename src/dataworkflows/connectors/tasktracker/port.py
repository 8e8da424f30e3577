"""The Task Tracker port: tasks, in the connector's own types and errors."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from dataworkflows.contracts import upstream

__all__ = [
    "Task",
    "TaskFields",
    "TaskPage",
    "TaskQuery",
    "TaskStatus",
    "TaskTrackerPort",
    "TrackerAuthError",
    "TrackerConflict",
    "TrackerError",
    "TrackerInvalid",
    "TrackerNotFound",
    "TrackerStale",
    "TrackerUnavailable",
]

TaskStatus = Literal["todo", "in_progress", "done", "blocked"]


class TaskFields(msgspec.Struct, frozen=True, kw_only=True):
    """What a client writes of a task (a PUT replaces all of it)."""

    title: str
    description: str = ""
    status: TaskStatus = "todo"
    assignee: str | None = None
    due_date: str | None = None
    external_ref: str | None = None


class Task(msgspec.Struct, frozen=True, kw_only=True):
    """A task as the tracker stores it."""

    id: str
    title: str
    description: str
    status: TaskStatus
    assignee: str | None
    due_date: str | None
    external_ref: str | None
    created_at: str
    updated_at: str
    version: int = 1

    def fields(self) -> TaskFields:
        """The writable part."""
        return TaskFields(
            title=self.title,
            description=self.description,
            status=self.status,
            assignee=self.assignee,
            due_date=self.due_date,
            external_ref=self.external_ref,
        )


class TaskPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of tasks and how many match in all."""

    tasks: list[Task]
    total: int


class TaskQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which tasks to list: those matching every given filter exactly, ``limit`` of
    them after ``offset``, in creation order."""

    status: TaskStatus | None = None
    external_ref: str | None = None
    assignee: str | None = None
    limit: int = 50
    offset: int = 0


class TrackerError(upstream.UpstreamError):
    """The tracker refused or failed a request; ``fields`` names what is wrong, if known."""

    def __init__(
        self, message: str, *, fields: dict[str, str] | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.fields = fields or {}


class TrackerAuthError(TrackerError, upstream.AuthFailed):
    """The configured account cannot log in, or its token is refused."""


class TrackerNotFound(TrackerError, upstream.NotFound):
    """No such task."""


class TrackerInvalid(TrackerError, upstream.Invalid):
    """The tracker refused the task's content; ``fields`` names what is wrong."""


class TrackerConflict(TrackerError, upstream.Invalid):
    """Another task already has this external_ref."""


class TrackerStale(TrackerError):
    """The task changed since it was read (If-Match failed)."""


class TrackerUnavailable(TrackerError, upstream.Unavailable):
    """The tracker did not answer usefully (5xx, network, timeout): transient."""


class TaskTrackerPort(Protocol):
    """Port: the task operations the connector uses."""

    async def list_tasks(self, query: TaskQuery) -> TaskPage:
        """A page of the tasks ``query`` selects."""
        ...

    async def get_task(self, task_id: str) -> Task | None:
        """One task, or None."""
        ...

    async def create_task(self, fields: TaskFields) -> Task:
        """A new task."""
        ...

    async def update_task(
        self, task_id: str, fields: TaskFields, *, version: int | None = None
    ) -> Task:
        """Replace a task's writable fields (only if still at ``version`` when given)."""
        ...

    async def delete_task(self, task_id: str) -> bool:
        """Delete a task; False when it did not exist."""
        ...
