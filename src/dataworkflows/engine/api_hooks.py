"""``/v1/hooks``: declare webhooks (API key), and receive their deliveries (verified
by the hook's own secret, not an API key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import BodyKwarg, FromPath

from dataworkflows.engine.api_bodies import RunView, run_view, strictly
from dataworkflows.engine.hook_service import HookService
from dataworkflows.engine.hook_store import HookRecord
from dataworkflows.runtime.problems import PROBLEM_MEDIA_TYPE, ProblemDocument

__all__ = ["HookBody", "HookController", "HookList", "HookView"]

MAX_DELIVERY_BYTES: Final = 256 * 1024

_PROBLEMS = {
    status: ResponseSpec(
        data_container=ProblemDocument, description=description, media_type=PROBLEM_MEDIA_TYPE
    )
    for status, description in {
        401: "The delivery is not verified (signature, timestamp or token)",
        404: "No such hook",
        409: "The delivery id was used for a different body",
        413: "The delivery is too large",
        422: "Invalid; `errors` lists each field and problem",
    }.items()
}


class VerifyBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the sender proves itself."""

    kind: Literal["hmac", "bearer", "monday"]
    """``hmac``: X-DW-Timestamp and X-DW-Signature; ``bearer``: Authorization: Bearer;
    ``monday``: a JWT in Authorization, signed with the monday app's signing secret."""
    secret: Annotated[str, msgspec.Meta(min_length=16, max_length=512)]
    """The shared secret (hmac), the token (bearer) or the app signing secret (monday);
    stored encrypted, never shown."""
    tolerance: float | str = 300.0
    """hmac: how far X-DW-Timestamp may be from now (seconds, or '5m')."""


class HookBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /v1/hooks/{name}``."""

    workflow: str
    verify: VerifyBody
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    """The run's inputs: values, or ``{{ }}`` over body, headers and query."""
    delivery: str | None = None
    """Where the delivery's id is (default: the X-DW-Delivery header); a repeated id
    starts no second run."""
    description: str = ""


class HookView(msgspec.Struct, frozen=True, kw_only=True):
    """A hook (its secret is never shown)."""

    name: str
    workflow: str
    url: str
    """Where senders POST their deliveries."""
    verify: str
    tolerance_s: float
    inputs: dict[str, Any]
    delivery: str
    description: str
    source: str
    created_at: datetime
    updated_at: datetime


class HookList(msgspec.Struct, frozen=True):
    """Every hook, by name."""

    hooks: list[HookView]


class ChallengeAnswer(msgspec.Struct, kw_only=True):
    """monday's URL challenge, echoed back."""

    challenge: str


def hook_view(record: HookRecord) -> HookView:
    """The API's view of a hook."""
    return HookView(
        name=record.name,
        workflow=record.workflow_name,
        url=f"/v1/hooks/{record.name}",
        verify=record.verify_kind,
        tolerance_s=record.tolerance_s,
        inputs=record.inputs,
        delivery=record.delivery,
        description=record.description,
        source=record.source,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


class HookController(Controller):
    """Webhooks: another system's event starts a workflow."""

    path = "/hooks"
    tags = ("hooks",)

    @get("/", summary="List hooks")
    async def list_hooks(self, hooks: NamedDependency[HookService]) -> HookList:
        return HookList([hook_view(r) for r in await hooks.list_hooks()])

    @get("/{name:str}", summary="Show a hook", responses={404: _PROBLEMS[404]})
    async def get_hook(self, name: FromPath[str], hooks: NamedDependency[HookService]) -> HookView:
        return hook_view(await hooks.get(name))

    @put(
        "/{name:str}",
        summary="Create or replace a hook",
        description="The workflow must exist; the inputs' expressions may read `body`, "
        "`headers` and `query`. The secret is stored encrypted and never shown again.",
        status_code=200,
        responses={201: ResponseSpec(HookView, description="Created"), 422: _PROBLEMS[422]},
    )
    async def put_hook(
        self,
        name: FromPath[str],
        request: Request[Any, Any, Any],
        hooks: NamedDependency[HookService],
        data: Annotated[
            HookBody,
            BodyKwarg(
                examples=[
                    Example(
                        summary="A task tracker's 'item changed' event",
                        value={
                            "workflow": "monday-to-tracker",
                            "verify": {"kind": "hmac", "secret": "a-long-random-shared-secret"},
                            "inputs": {"board_id": "{{ body.board_id }}"},
                            "delivery": "{{ headers['x-dw-delivery'] | default('') }}",
                        },
                    )
                ]
            ),
        ],
    ) -> Response[HookView]:
        await strictly(request, HookBody)
        document = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None}
        record, created = await hooks.put(document, source="api", name=name)
        return Response(
            hook_view(record),
            status_code=201 if created else 200,
            headers={"Location": f"/v1/hooks/{record.name}"},
        )

    @delete(
        "/{name:str}",
        summary="Delete a hook",
        description="Its runs stay; deliveries to it are 404 from now on.",
        status_code=204,
        responses={404: _PROBLEMS[404]},
    )
    async def delete_hook(self, name: FromPath[str], hooks: NamedDependency[HookService]) -> None:
        await hooks.delete(name)

    @post(
        "/{name:str}",
        summary="Deliver an event",
        description="For the sending system: no API key, the hook's own verification "
        "instead. `hmac`: `X-DW-Timestamp: <unix seconds>` and `X-DW-Signature: "
        "v1=<hex HMAC-SHA256(secret, '<timestamp>.' + body)>`, within the hook's "
        "tolerance; `bearer`: `Authorization: Bearer <token>`; `monday`: `Authorization: "
        "<JWT>` signed with the monday app's signing secret (such a hook also answers "
        'monday\'s `{"challenge": ...}` with the same body, starting nothing). A delivery '
        "that is not verified is a 401 and starts nothing; a repeated delivery id answers "
        "the run the first started (200, `Idempotent-Replayed: true`).",
        status_code=202,
        opt={"public": True},
        security=[],
        request_max_body_size=MAX_DELIVERY_BYTES,
        responses={
            200: ResponseSpec(
                RunView | ChallengeAnswer,
                description="A repeated delivery, or the answer to monday's challenge",
            ),
            **_PROBLEMS,
        },
    )
    async def deliver(
        self,
        name: FromPath[str],
        request: Request[Any, Any, Any],
        hooks: NamedDependency[HookService],
    ) -> Response[RunView | ChallengeAnswer]:
        body = await request.body()
        challenge = await hooks.challenge(name, body)
        if challenge is not None:
            return Response(ChallengeAnswer(challenge=challenge), status_code=200)
        headers = {k.lower(): v for k, v in request.headers.items()}
        run, created = await hooks.deliver(
            name, body=body, headers=headers, query=dict(request.query_params)
        )
        answer = {"Location": f"/v1/runs/{run.id}"}
        if not created:
            answer["Idempotent-Replayed"] = "true"
        return Response(
            run_view(run, hooks.workflows.redact),
            status_code=202 if created else 200,
            headers=answer,
        )
