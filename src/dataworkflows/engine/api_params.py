"""Request parameters and answers that several engine resources share."""

from __future__ import annotations

from typing import Annotated, Final

from litestar import Response
from litestar.params import HeaderParameter, QueryParameter

from dataworkflows.engine.api_bodies import RunView, run_view
from dataworkflows.engine.store import RunRecord
from dataworkflows.runtime.redaction import Redactor

__all__ = ["MAX_WAIT_S", "IdempotencyKey", "WaitSeconds", "started_run"]

MAX_WAIT_S: Final = 300.0

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=255,
        description="Repeat a request safely: the same key returns the same run",
    ),
]
"""The ``Idempotency-Key`` header of a request that starts a run."""

WaitSeconds = Annotated[
    float,
    QueryParameter(ge=0, le=MAX_WAIT_S, description="Seconds to wait for the run to finish"),
]
"""``?wait=``: how long to hold the answer for the run to finish."""


def started_run(
    run: RunRecord, *, created: bool, waited: float, redact: Redactor
) -> Response[RunView]:
    """The answer to starting a run: where it is, whether the key replayed it, and the
    status: with ``?wait``, finished (200) or not yet (202); without, new (201) or
    repeated (200)."""
    headers = {"Location": f"/v1/runs/{run.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    status = (200 if run.finished else 202) if waited > 0 else (201 if created else 200)
    return Response(run_view(run, redact), status_code=status, headers=headers)
