"""The Task Tracker's wire shapes: request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Final, Literal, get_args

import msgspec

__all__ = [
    "SERVER_FIELDS",
    "TASK_STATUSES",
    "LoginRequest",
    "Task",
    "TaskDraft",
    "TaskList",
    "TaskStatus",
    "TokenResponse",
]

TaskStatus = Literal["todo", "in_progress", "done", "blocked"]
TASK_STATUSES: Final[tuple[str, ...]] = get_args(TaskStatus)

MAX_TITLE: Final = 200
MAX_DESCRIPTION: Final = 10_000
MAX_NAME: Final = 200
"""The longest ``assignee`` and ``external_ref``."""

SERVER_FIELDS: Final = frozenset({"id", "created_at", "updated_at", "version"})
"""Task members the server sets; a request body that sends them is refused."""


class LoginRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/auth/login``: the account to log in with."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True):
    """A bearer token for ``Authorization: Bearer <access_token>`` on ``/api/tasks``."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105  (the OAuth 2.0 type, not a secret)
    expires_in: int
    """Seconds until the token expires."""


class TaskDraft(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every writable field of a task: the body of ``POST`` and ``PUT /api/tasks``.

    ``PUT`` replaces: a field left out gets the default shown here, it does not keep
    its stored value.
    """

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)]
    description: Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)] = ""
    status: TaskStatus = "todo"
    assignee: Annotated[str, msgspec.Meta(max_length=MAX_NAME)] | None = None
    due_date: date | None = None
    """A calendar date, ``YYYY-MM-DD``."""
    external_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)] | None = None
    """The id of this task in another system; unique among tasks when set."""


class Task(msgspec.Struct, frozen=True, kw_only=True):
    """A task as stored: its writable fields plus what the server sets."""

    id: str
    """``TT-<n>``, increasing in creation order and never reused."""
    title: str
    description: str
    status: TaskStatus
    assignee: str | None
    due_date: date | None
    external_ref: str | None
    created_at: datetime
    """When the task was created (UTC)."""
    updated_at: datetime
    """When the task was last written (UTC)."""
    version: int
    """1 on creation, one more on each update; send it as ``If-Match`` on ``PUT``."""


class TaskList(msgspec.Struct, frozen=True, kw_only=True):
    """A page of tasks in creation order, and how many match in all."""

    tasks: list[Task]
    total: int
    limit: int
    offset: int
