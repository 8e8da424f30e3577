"""The Task Tracker's tasks, kept in memory for the life of the process.

Every mutation runs under one :class:`asyncio.Lock`, so the rules that span tasks
(an ``external_ref`` is used by at most one task, versions only move forward) hold
under concurrent requests. Reads need no lock: nothing awaits between a check and
a write.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec

from dataworkflows.tracker.models import Task, TaskDraft, TaskStatus

__all__ = [
    "ExternalRefTaken",
    "TaskNotFound",
    "TaskPage",
    "TaskStore",
    "TaskStoreError",
    "VersionMismatch",
]

ID_PREFIX = "TT-"


class TaskStoreError(Exception):
    """A request the store cannot carry out; the subclass says why."""


class TaskNotFound(TaskStoreError):
    """No task has this id (it never existed or was deleted)."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"There is no task {task_id}")
        self.task_id = task_id


class ExternalRefTaken(TaskStoreError):
    """Another task already has this ``external_ref``."""

    def __init__(self, external_ref: str, owner_id: str) -> None:
        super().__init__(f"Task {owner_id} already has external_ref {external_ref!r}")
        self.external_ref = external_ref
        self.owner_id = owner_id


class VersionMismatch(TaskStoreError):
    """The caller's expected version is not the task's current one."""

    def __init__(self, task_id: str, expected: int, current: int) -> None:
        super().__init__(
            f"Task {task_id} is at version {current}, not {expected}; read it again and retry"
        )
        self.task_id = task_id
        self.expected = expected
        self.current = current


class TaskPage(msgspec.Struct, frozen=True, kw_only=True):
    """Some tasks in creation order, and how many matched in all."""

    tasks: list[Task]
    total: int


class TaskStore:
    """Tasks by id, in creation order; ids are ``TT-1``, ``TT-2``, ... and never reused.

    ``clock`` (seconds since the epoch) stamps ``created_at`` and ``updated_at``.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tasks: dict[str, Task] = {}  # insertion order is creation order
        self._ids_by_ref: dict[str, str] = {}
        self._last_number = 0
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._tasks)

    async def create(self, draft: TaskDraft) -> Task:
        """Store a new task; :class:`ExternalRefTaken` when its ``external_ref`` is in use."""
        async with self._lock:
            self._check_ref_free(draft.external_ref, for_id=None)
            self._last_number += 1
            now = self._now()
            task = Task(
                id=f"{ID_PREFIX}{self._last_number}",
                **msgspec.structs.asdict(draft),
                created_at=now,
                updated_at=now,
                version=1,
            )
            self._tasks[task.id] = task
            if task.external_ref is not None:
                self._ids_by_ref[task.external_ref] = task.id
            return task

    async def get(self, task_id: str) -> Task:
        """The task with ``task_id``, or :class:`TaskNotFound`."""
        return self._require(task_id)

    async def list_tasks(
        self,
        *,
        status: TaskStatus | None = None,
        external_ref: str | None = None,
        assignee: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> TaskPage:
        """The tasks matching every given filter (exact match), ``limit`` after ``offset``."""
        matching = [
            t
            for t in self._tasks.values()
            if (status is None or t.status == status)
            and (external_ref is None or t.external_ref == external_ref)
            and (assignee is None or t.assignee == assignee)
        ]
        return TaskPage(tasks=matching[offset : offset + limit], total=len(matching))

    async def replace(
        self, task_id: str, draft: TaskDraft, *, expected_version: int | None = None
    ) -> Task:
        """Replace every writable field of a task with ``draft``'s; its version goes up by one.

        :class:`TaskNotFound`, :class:`VersionMismatch` when ``expected_version`` is given
        and differs, :class:`ExternalRefTaken` when another task has the new reference.
        """
        async with self._lock:
            current = self._require(task_id)
            if expected_version is not None and expected_version != current.version:
                raise VersionMismatch(task_id, expected_version, current.version)
            self._check_ref_free(draft.external_ref, for_id=task_id)
            task = msgspec.structs.replace(
                current,
                **msgspec.structs.asdict(draft),
                updated_at=self._now(),
                version=current.version + 1,
            )
            self._tasks[task_id] = task
            if current.external_ref is not None:
                del self._ids_by_ref[current.external_ref]
            if task.external_ref is not None:
                self._ids_by_ref[task.external_ref] = task_id
            return task

    async def delete(self, task_id: str) -> None:
        """Remove a task (its ``external_ref`` becomes free); :class:`TaskNotFound`."""
        async with self._lock:
            task = self._tasks.pop(task_id, None)
            if task is None:
                raise TaskNotFound(task_id)
            if task.external_ref is not None:
                del self._ids_by_ref[task.external_ref]

    def _require(self, task_id: str) -> Task:
        task = self._tasks.get(task_id)
        if task is None:
            raise TaskNotFound(task_id)
        return task

    def _check_ref_free(self, external_ref: str | None, *, for_id: str | None) -> None:
        if external_ref is None:
            return
        owner = self._ids_by_ref.get(external_ref)
        if owner is not None and owner != for_id:
            raise ExternalRefTaken(external_ref, owner)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)
