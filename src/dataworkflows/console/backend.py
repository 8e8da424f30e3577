"""The console's port: what its pages read and do, whoever answers.

Inside the engine process (``serve engine``, ``dev``) :class:`~.local.EngineBackend`
answers from the engine's own services; as a component of its own (``serve console``)
:class:`~.remote.ApiBackend` asks an engine over its REST API. Either way the pages get
the REST API's documents (``RunPage``, ``RunDetail``, ``WorkflowDetail``...) as plain
JSON values, so a page cannot tell which one it is talking to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol
from uuid import UUID

from prometheus_client.metrics_core import Metric

__all__ = ["Backend", "BackendError", "Refused", "RunQuery", "Stats", "Unreachable", "stats_of"]

BREAKER_STATES: Final = {0.0: "closed", 1.0: "half-open", 2.0: "open"}

Json = dict[str, Any]


class BackendError(Exception):
    """The backend could not do what a page asked."""


class Refused(BackendError):
    """The engine answered no: ``status`` as the REST API would say it, the detail and,
    for bad inputs, a problem per field (``nights`` → ``must be a whole number``)."""

    def __init__(self, status: int, detail: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.fields = dict(fields or {})


class Unreachable(BackendError):
    """The engine did not answer (a standalone console whose engine is down)."""


@dataclass(frozen=True, kw_only=True)
class RunQuery:
    """A page of the runs list: its filters and where it starts."""

    workflow: str | None = None
    status: str | None = None
    trigger: str | None = None
    text: str | None = None
    created_after: datetime | None = None
    """Inclusive."""
    created_before: datetime | None = None
    """Exclusive."""
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class Stats:
    """What the answering engine has seen of its connectors since it started."""

    calls: Mapping[str, int] = field(default_factory=dict)
    failed: Mapping[str, int] = field(default_factory=dict)
    breakers: list[dict[str, str]] = field(default_factory=list)
    """``{"upstream": ..., "state": "closed" | "half-open" | "open"}``"""


def stats_of(families: Iterable[Metric]) -> Stats:
    """:class:`Stats` from the metric families ``dw_connector_calls`` and
    ``dw_circuit_breaker_state`` (collected here, or parsed from an engine's /metrics)."""
    calls: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    breakers = []
    for family in families:
        for sample in family.samples:
            if sample.name == "dw_connector_calls_total":
                connector = sample.labels.get("connector", "")
                calls[connector] += int(sample.value)
                if sample.labels.get("outcome") != "ok":
                    failed[connector] += int(sample.value)
            elif sample.name == "dw_circuit_breaker_state":
                state = BREAKER_STATES.get(sample.value, str(sample.value))
                breakers.append({"upstream": sample.labels.get("upstream", ""), "state": state})
    return Stats(calls, failed, sorted(breakers, key=lambda b: b["upstream"]))


class Backend(Protocol):
    """Port: the engine as the console sees it. Documents are the REST API's, decoded;
    a missing thing is None; a refusal is :class:`Refused`, no answer :class:`Unreachable`."""

    async def runs(self, query: RunQuery) -> Json:
        """A ``RunPage``: ``runs``, ``next_cursor``, ``history_since``."""
        ...

    async def run(self, run_id: UUID) -> Json | None:
        """A ``RunDetail``: ``run``, ``steps``, ``events``, ``children``, ``links``."""
        ...

    async def retry(self, run_id: UUID) -> None:
        """Run a failed or cancelled run again from where it stopped."""
        ...

    async def cancel(self, run_id: UUID) -> None:
        """Cancel a run that has not ended."""
        ...

    async def workflows(self) -> list[Json]:
        """Every workflow (``WorkflowSummary``), by name."""
        ...

    async def workflow(self, name: str, version: int | None = None) -> Json | None:
        """A ``WorkflowDetail`` (``version``: that one's definition and source)."""
        ...

    async def schedules(self, workflow: str) -> list[Json]:
        """The workflow's schedules (``ScheduleView``); empty without a scheduler."""
        ...

    async def start(self, workflow: str, inputs: Json) -> str:
        """Start a run from the console; its id. Bad inputs: :class:`Refused` 422."""
        ...

    async def connectors(self) -> list[Json]:
        """Every connector (``ConnectorView``), asked afresh whether it answers."""
        ...

    async def stats(self) -> Stats:
        """Calls, failures and circuit breakers, as the engine's metrics count them."""
        ...

    async def projects(self) -> list[Json] | None:
        """Every project (``Project``); None when this engine serves no reports."""
        ...

    async def reports(self, project: str | None, cursor: str | None) -> Json | None:
        """A ``ReportPage`` of ``project`` (all projects when None); None: no reports."""
        ...

    async def report(self, report_id: UUID) -> Json | None:
        """A ``ReportDetail``; None when there is no such report."""
        ...
