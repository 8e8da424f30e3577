"""The Task Tracker's HTTP API: ``POST /api/auth/login`` and ``/api/tasks``.

The handlers translate HTTP to :class:`~dataworkflows.tracker.store.TaskStore` calls;
the rules live in the store. Every error is a problem document (RFC 9457):

- 401 on ``/api/tasks`` without ``Authorization: Bearer <token>``, or with a token that
  is expired, forged, malformed or signed another way; ``WWW-Authenticate: Bearer
  realm="tasktracker"`` says so, with ``error="invalid_token"`` when a token was sent;
- 404 for an unknown task id; 409 when another task has the ``external_ref``
  (``existing_task_id`` names it); 412 when ``If-Match`` is not the task's version
  (``current_version`` says what it is);
- 422 with ``errors`` naming every bad field, parameter or header; 400 for a body that
  is not JSON.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from litestar import Controller, Request, Response, Router, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import BodyKwarg, FromPath, HeaderParameter, QueryParameter
from litestar.types import Guard

from dataworkflows.runtime.credentials import bearer_token
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.problems import (
    PROBLEM_MEDIA_TYPE,
    FieldError,
    Problem,
    ProblemDocument,
    problem_response,
)
from dataworkflows.tracker.auth import Account, TokenAuthority, TokenExpired, TokenInvalid
from dataworkflows.tracker.models import (
    MAX_NAME,
    SERVER_FIELDS,
    LoginRequest,
    Task,
    TaskDraft,
    TaskList,
    TaskStatus,
    TokenResponse,
)
from dataworkflows.tracker.store import (
    ExternalRefTaken,
    TaskNotFound,
    TaskStore,
    TaskStoreError,
    VersionMismatch,
)
from dataworkflows.tracker.validation import (
    INVALID_DETAIL,
    check_body,
    validation_exception_handler,
)

__all__ = ["SECURITY_SCHEME", "bearer_guard", "tracker_api_router"]

SECURITY_SCHEME: Final = "apiKey"
"""The name :func:`dataworkflows.runtime.docs.openapi_config` gives the bearer scheme."""

CHALLENGE: Final = 'Bearer realm="tasktracker"'
CHALLENGE_REJECTED: Final = 'Bearer realm="tasktracker", error="invalid_token"'
DETAIL_UNAUTHENTICATED: Final = (
    "Send 'Authorization: Bearer <token>' (POST /api/auth/login gives one)"
)
DETAIL_EXPIRED: Final = "The token expired; log in again"
DETAIL_NOT_VALID: Final = "The token is not valid"
DETAIL_BAD_LOGIN: Final = "Invalid username or password"

_VERSION_RE: Final = re.compile(r'^(?:[0-9]{1,18}|"[0-9]{1,18}")$')

_log = get_logger(__name__)


# Authentication -----------------------------------------------------------------------


def bearer_guard(tokens: TokenAuthority) -> Guard:
    """A guard letting through requests with a valid, unexpired token from ``tokens``.

    Without a bearer token the challenge has no ``error`` (RFC 6750 section 3.1: the
    client may not know it needs one); with a bad one it says ``invalid_token``.
    """

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        token = bearer_token(connection.headers.get("authorization"))
        if token is None:
            raise Problem(401, DETAIL_UNAUTHENTICATED, headers={"WWW-Authenticate": CHALLENGE})
        try:
            tokens.verify(token)
        except TokenExpired:
            raise Problem(
                401, DETAIL_EXPIRED, headers={"WWW-Authenticate": CHALLENGE_REJECTED}
            ) from None
        except TokenInvalid:
            raise Problem(
                401, DETAIL_NOT_VALID, headers={"WWW-Authenticate": CHALLENGE_REJECTED}
            ) from None

    return guard


def _problem_spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemDocument, description=description, media_type=PROBLEM_MEDIA_TYPE
    )


_PROBLEMS: Final = {
    400: _problem_spec("The body is not JSON"),
    401: _problem_spec("No token, or an expired or invalid one; log in again"),
    404: _problem_spec("There is no task with this id"),
    409: _problem_spec("Another task has this `external_ref` (`existing_task_id` names it)"),
    412: _problem_spec("`If-Match` is not the task's version (`current_version` says it)"),
    422: _problem_spec("Invalid input; `errors` names each field and its problem"),
}


class AuthController(Controller):
    """Log in."""

    path = "/auth"
    tags = ("auth",)

    @post(
        "/login",
        summary="Log in",
        description="Trades the account for a bearer token (an HS256 JWT) to send as "
        "`Authorization: Bearer <access_token>` on every `/api/tasks` request until it "
        "expires `expires_in` seconds later; then log in again. Wrong credentials are a 401 "
        "that does not say which one was wrong.",
        status_code=200,
        before_request=check_body(LoginRequest),
        response_headers=[
            ResponseHeader(name="Cache-Control", documentation_only=True, description="`no-store`")
        ],
        responses={401: _problem_spec("Invalid username or password"), 422: _PROBLEMS[422]},
    )
    async def login(
        self,
        data: Annotated[
            LoginRequest,
            BodyKwarg(
                description="The tracker's account (TRACKER_USERNAME and TRACKER_PASSWORD)",
                examples=[
                    Example(summary="An account", value={"username": "demo", "password": "…"})
                ],
            ),
        ],
        account: NamedDependency[Account],
        tokens: NamedDependency[TokenAuthority],
    ) -> Response[TokenResponse]:
        """Check the account in constant time and issue a token."""
        if not account.matches(data.username, data.password):
            _log.warning("login refused")
            raise Problem(401, DETAIL_BAD_LOGIN, headers={"WWW-Authenticate": CHALLENGE})
        issued = tokens.issue(data.username)
        return Response(
            TokenResponse(access_token=issued.token, expires_in=issued.expires_in),
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


# Tasks --------------------------------------------------------------------------------

_TASK_EXAMPLE: Final = {
    "title": "Publish the Q3 roadmap",
    "description": "Copied from the Apollo board in Monday.com.",
    "status": "in_progress",
    "assignee": "ada@example.com",
    "due_date": "2025-09-30",
    "external_ref": "monday:5012345601:1122334455",
}
_TASK_BODY: Final = BodyKwarg(
    description="Every writable field; only `title` is required. Server fields (`id`, "
    "`version`, `created_at`, `updated_at`) and unknown fields are refused.",
    examples=[
        Example(summary="Every field", value=_TASK_EXAMPLE),
        Example(summary="Only a title", value={"title": "Call the printer"}),
    ],
)
_ETAG: Final = ResponseHeader(
    name="ETag", documentation_only=True, description='The task\'s version, quoted: `"3"`'
)


def _with_etag(task: Task, *, status_code: int = 200, **headers: str) -> Response[Task]:
    return Response(task, status_code=status_code, headers={"ETag": f'"{task.version}"', **headers})


def _expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` demands (None: ``*`` or no header); 422 when malformed."""
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip()
    if not _VERSION_RE.match(value):
        raise Problem(
            422,
            INVALID_DETAIL,
            errors=[FieldError(field="If-Match", message='must be a task version: 3 or "3"')],
        )
    return int(value.strip('"'))


class TaskController(Controller):
    """Create, read, list, replace and delete tasks."""

    path = "/tasks"
    tags = ("tasks",)

    @get(
        "/",
        summary="List tasks",
        description="In creation order (by id). Filters match exactly and combine; "
        "`total` counts every match, `limit` and `offset` choose the page.",
        responses={401: _PROBLEMS[401], 422: _PROBLEMS[422]},
    )
    async def list_tasks(
        self,
        *,
        store: NamedDependency[TaskStore],
        status: Annotated[
            TaskStatus | None, QueryParameter(description="Only tasks with this status")
        ] = None,
        external_ref: Annotated[
            str | None,
            QueryParameter(max_length=MAX_NAME, description="The task with this reference"),
        ] = None,
        assignee: Annotated[
            str | None, QueryParameter(max_length=MAX_NAME, description="Only this assignee's")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200, description="Page size")] = 50,
        offset: Annotated[int, QueryParameter(ge=0, description="Tasks to skip")] = 0,
    ) -> TaskList:
        page = await store.list_tasks(
            status=status,
            external_ref=external_ref,
            assignee=assignee,
            limit=limit,
            offset=offset,
        )
        return TaskList(tasks=page.tasks, total=page.total, limit=limit, offset=offset)

    @get(
        "/{task_id:str}",
        summary="A task",
        response_headers=[_ETAG],
        responses={401: _PROBLEMS[401], 404: _PROBLEMS[404]},
    )
    async def get_task(
        self, task_id: FromPath[str], store: NamedDependency[TaskStore]
    ) -> Response[Task]:
        return _with_etag(await store.get(task_id))

    @post(
        "/",
        summary="Create a task",
        description="The server sets `id` (`TT-<n>`), `version` (1), `created_at` and "
        "`updated_at`. An `external_ref` another task has is a 409.",
        status_code=201,
        before_request=check_body(TaskDraft, server_fields=SERVER_FIELDS),
        response_headers=[
            _ETAG,
            ResponseHeader(
                name="Location", documentation_only=True, description="`/api/tasks/<id>`"
            ),
        ],
        responses={k: _PROBLEMS[k] for k in (400, 401, 409, 422)},
    )
    async def create_task(
        self,
        data: Annotated[TaskDraft, _TASK_BODY],
        store: NamedDependency[TaskStore],
    ) -> Response[Task]:
        task = await store.create(data)
        return _with_etag(task, status_code=201, Location=f"/api/tasks/{task.id}")

    @put(
        "/{task_id:str}",
        summary="Replace a task",
        description="PUT replaces: the body is the task's new writable fields, `title` "
        "required, and every optional field left out goes back to its default "
        '(`description` "", `status` todo, the others null). Read, change, send the whole '
        "task. With `If-Match: <version>` the write happens only if the task is still at "
        "that version (else 412), so concurrent edits are not lost. `version` goes up by one.",
        before_request=check_body(TaskDraft, server_fields=SERVER_FIELDS),
        response_headers=[_ETAG],
        responses={k: _PROBLEMS[k] for k in (400, 401, 404, 409, 412, 422)},
    )
    async def replace_task(
        self,
        task_id: FromPath[str],
        data: Annotated[TaskDraft, _TASK_BODY],
        store: NamedDependency[TaskStore],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-Match",
                description='Replace only if the task is at this version (`3` or `"3"`; `*`: any)',
            ),
        ] = None,
    ) -> Response[Task]:
        task = await store.replace(task_id, data, expected_version=_expected_version(if_match))
        return _with_etag(task)

    @delete(
        "/{task_id:str}",
        summary="Delete a task",
        description="Its id is never reused; its `external_ref` becomes free.",
        status_code=204,
        responses={401: _PROBLEMS[401], 404: _PROBLEMS[404]},
    )
    async def delete_task(self, task_id: FromPath[str], store: NamedDependency[TaskStore]) -> None:
        await store.delete(task_id)


def _store_problem(exc: TaskStoreError) -> Problem:
    if isinstance(exc, ExternalRefTaken):
        return Problem(
            409,
            str(exc),
            errors=[FieldError(field="external_ref", message=f"is used by task {exc.owner_id}")],
            extra={"existing_task_id": exc.owner_id},
        )
    if isinstance(exc, VersionMismatch):
        return Problem(412, str(exc), extra={"current_version": exc.current})
    if isinstance(exc, TaskNotFound):
        return Problem(404, str(exc))
    raise exc  # a new kind of store error must get its own status here


def _handle_store_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, TaskStoreError)
    return problem_response(request, _store_problem(exc))


def tracker_api_router(*, account: Account, tokens: TokenAuthority, store: TaskStore) -> Router:
    """The ``/api`` router: login open to all, tasks behind :func:`bearer_guard`."""

    async def provide_account() -> Account:
        return account

    async def provide_tokens() -> TokenAuthority:
        return tokens

    async def provide_store() -> TaskStore:
        return store

    tasks = Router(
        path="/",
        route_handlers=[TaskController],
        guards=[bearer_guard(tokens)],
        dependencies={"store": Provide(provide_store)},
        security=[{SECURITY_SCHEME: []}],
    )
    return Router(
        path="/api",
        route_handlers=[AuthController, tasks],
        dependencies={"account": Provide(provide_account), "tokens": Provide(provide_tokens)},
        exception_handlers={
            ValidationException: validation_exception_handler({"status": TaskStatus}),
            TaskStoreError: _handle_store_error,
        },
    )
