"""The engine's REST API (``/v1``): the router, its API key guard, and extensions.

Every route here needs ``Authorization: Bearer <key>`` with a key from ``DW_API_KEYS``.
The resources are the controllers of :mod:`.api_controllers` (their bodies are in
:mod:`.api_bodies`); other packages add theirs as an :class:`ApiExtension`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from litestar import Controller, Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler

from dataworkflows.engine.api_controllers import (
    ConnectorController,
    RunController,
    WorkflowController,
)
from dataworkflows.engine.api_hooks import HookController
from dataworkflows.engine.api_links import LinkController
from dataworkflows.engine.api_schedules import ScheduleController
from dataworkflows.engine.api_signals import SignalController
from dataworkflows.engine.errors import EngineError, as_problem
from dataworkflows.engine.hook_service import HookService
from dataworkflows.engine.schedule_service import ScheduleService
from dataworkflows.engine.service import WorkflowService
from dataworkflows.runtime.credentials import bearer_token
from dataworkflows.runtime.problems import Problem, problem_response

__all__ = ["api_router", "key_accepted"]

# Authentication -----------------------------------------------------------------------


def key_accepted(given: str, keys: Sequence[bytes]) -> bool:
    """Whether ``given`` is one of the (encoded) API ``keys``: compared with every key,
    in constant time each, so timing reveals nothing."""
    candidate = given.strip().encode()
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key)
    return matched


def api_key_guard(keys: Sequence[str]) -> Any:
    """A guard accepting ``Authorization: Bearer <key>`` for any of ``keys``."""
    encoded = [k.encode() for k in keys]

    # Async on purpose: Litestar hands a sync guard to a worker thread on every request.
    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if handler.opt.get("public"):
            return  # a webhook delivery: the hook verifies its sender itself
        token = bearer_token(connection.headers.get("authorization"))
        if token is None:
            raise Problem(
                401,
                "Send an API key as 'Authorization: Bearer <key>'.",
                headers={"WWW-Authenticate": 'Bearer realm="dataworkflows"'},
            )
        if not key_accepted(token, encoded):
            raise Problem(
                401,
                "The API key is not valid.",
                headers={"WWW-Authenticate": 'Bearer realm="dataworkflows", error="invalid_token"'},
            )

    return guard


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
    schedules: ScheduleService | None = None,
    hooks: HookService | None = None,
    extensions: Sequence[ApiExtension] = (),
) -> Router:
    """The ``/v1`` router, guarded by ``api_keys``, with the resources of ``extensions``
    (and ``/v1/schedules``, ``/v1/hooks`` when given ``schedules``, ``hooks``)."""

    async def provide_service() -> WorkflowService:
        return service

    async def provide_schedules() -> ScheduleService | None:
        return schedules

    async def provide_hooks() -> HookService | None:
        return hooks

    handlers: list[type[Controller]] = [
        WorkflowController,
        RunController,
        SignalController,
        ConnectorController,
        LinkController,
    ]
    dependencies = {"service": Provide(provide_service)}
    if schedules is not None:
        handlers.append(ScheduleController)
        dependencies["schedules"] = Provide(provide_schedules)
    if hooks is not None:
        handlers.append(HookController)
        dependencies["hooks"] = Provide(provide_hooks)
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
