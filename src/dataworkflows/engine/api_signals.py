"""``POST /v1/runs/{id}/signals/{name}``: what a run's ``wait.signal`` step waits for."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import BodyKwarg, FromPath

from dataworkflows.engine.api_bodies import SendSignal, SignalSent
from dataworkflows.engine.api_controllers import PROBLEM_RESPONSES as _PROBLEMS
from dataworkflows.engine.service import WorkflowService

__all__ = ["SignalController"]


class SignalController(Controller):
    """Signals to waiting runs."""

    path = "/runs"
    tags = ("runs",)

    @post(
        "/{run_id:uuid}/signals/{name:str}",
        summary="Send a run a signal",
        description="A `wait.signal` step waiting for `name` takes it (its output holds the "
        "payload) and the run goes on; a signal the run does not wait for yet is kept "
        "until a step waits for it. 409 when the run has ended.",
        status_code=202,
        responses={404: _PROBLEMS[404], 409: _PROBLEMS[409], 422: _PROBLEMS[422]},
    )
    async def signal(
        self,
        run_id: FromPath[UUID],
        name: FromPath[str],
        service: NamedDependency[WorkflowService],
        data: Annotated[
            SendSignal,
            BodyKwarg(
                examples=[Example(value={"payload": {"approved": True, "by": "U07MAYA001"}})]
            ),
        ],
    ) -> SignalSent:
        answer = await service.signal(run_id, name, data.payload)
        return SignalSent(run_id=run_id, signal=name, woke=answer.woke, status=answer.status)
