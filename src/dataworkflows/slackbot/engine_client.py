"""How the bot reaches the engine: its public REST API with the bot's API key.

:class:`Engine` is the port the conversation logic uses; :class:`EngineClient` the
adapter over HTTP (httpx, injectable so tests can route it to an engine app in the
same event loop). Answers are decoded into the bot's own small structs: it reads only
what it shows. Failures become :class:`EngineRefused` (the engine answered no, with
its problem detail and field errors) or :class:`EngineUnavailable` (it did not answer
usefully); neither carries the API key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from dataworkflows.runtime import tracing
from dataworkflows.runtime.problems import ProblemField, read_problem

__all__ = [
    "Engine",
    "EngineClient",
    "EngineError",
    "EngineRefused",
    "EngineUnavailable",
    "FieldProblem",
    "RunInfo",
    "StartedRun",
    "WorkflowInfo",
]

_T = TypeVar("_T")
_TRANSIENT: Final = frozenset({502, 503, 504})


FieldProblem = ProblemField
"""One field error of the engine's problem document."""


class RunInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A run as the bot shows it."""

    id: str
    workflow: str
    status: str
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    output: Any = None
    error: dict[str, Any] | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None

    @property
    def finished(self) -> bool:
        """Whether the run has ended (successfully or not)."""
        return self.status in ("succeeded", "failed", "cancelled")


class _RunDetail(msgspec.Struct, frozen=True, kw_only=True):
    run: RunInfo


class _RunPage(msgspec.Struct, frozen=True, kw_only=True):
    runs: list[RunInfo]


class WorkflowInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow's latest definition (its declared inputs are what the bot needs)."""

    name: str
    description: str = ""
    definition: dict[str, Any] = msgspec.field(default_factory=dict)


class _WorkflowSummary(msgspec.Struct, frozen=True, kw_only=True):
    name: str


class _WorkflowList(msgspec.Struct, frozen=True, kw_only=True):
    workflows: list[_WorkflowSummary]


class StartedRun(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to starting a run."""

    run: RunInfo
    replayed: bool
    """True when the idempotency key had started this run before (another request did)."""


class _SignalSent(msgspec.Struct, frozen=True, kw_only=True):
    status: str


class EngineError(Exception):
    """The engine could not do what the bot asked."""


class EngineRefused(EngineError):
    """The engine answered with an error status (``status``, ``detail``, ``errors``)."""

    def __init__(self, status: int, detail: str, errors: list[FieldProblem]) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors


class EngineUnavailable(EngineError):
    """The engine did not answer, or answered something the bot cannot read."""


class Engine(Protocol):
    """Port: the engine operations the bot uses."""

    async def get_workflow(self, name: str) -> WorkflowInfo:
        """The workflow's latest definition; :class:`EngineRefused` 404 when unknown."""
        ...

    async def list_workflows(self) -> list[str]:
        """The names of the registered workflows."""
        ...

    async def start_run(
        self,
        workflow: str,
        inputs: Mapping[str, Any],
        *,
        idempotency_key: str,
        trigger: Mapping[str, str] | None = None,
    ) -> StartedRun:
        """Start a run; the same ``idempotency_key`` again returns the same run.

        ``trigger`` describes who started it where (recorded with the run as source
        ``slack``)."""
        ...

    async def get_run(self, run_id: str, *, wait_s: float = 0.0) -> RunInfo:
        """The run as it is now or, with ``wait_s``, once it has finished or after that
        many seconds, whichever comes first (the engine holds the request)."""
        ...

    async def list_runs(self, *, limit: int, workflow: str | None = None) -> list[RunInfo]:
        """Recent runs, newest first."""
        ...

    async def retry_run(self, run_id: str) -> RunInfo:
        """Queue a failed run again from its failed step (:class:`EngineRefused` 409 when
        the run has not failed)."""
        ...

    async def send_signal(self, run_id: str, name: str, payload: Any) -> str:
        """Send a waiting run a signal; the run's status after it (409 if it ended)."""
        ...

    async def check(self) -> str | None:
        """None when the engine answers and accepts the key, else what is wrong."""
        ...


_ANSWER_S: Final = 10.0
"""Beyond a long poll's wait, how long the engine may take to answer it."""


class EngineClient:
    """:class:`Engine` over the engine's REST API.

    Reads and run starts (which carry an idempotency key) are tried again, up to
    ``attempts`` times, when the engine is unreachable or answers 502/503/504.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        attempts: int = 3,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._attempts = max(1, attempts)
        self._sleep = sleep

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        attempts = self._attempts if retry else 1
        problem = "no attempt"
        for attempt in range(1, attempts + 1):
            try:
                sent = {
                    **self._headers,
                    **({"Content-Type": "application/json"} if json is not None else {}),
                    **(headers or {}),
                }
                if tracing.active():
                    tracing.inject(sent)  # the engine continues the command's trace
                response = await self._http.request(
                    method,
                    self._base + path,
                    params=params,
                    content=None if json is None else msgspec.json.encode(json),
                    headers=sent,
                    timeout=httpx.USE_CLIENT_DEFAULT
                    if timeout_s is None
                    else httpx.Timeout(timeout_s, connect=5.0),
                )
            except httpx.TransportError as exc:
                problem = f"the engine at {self._base} does not answer ({type(exc).__name__})"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in _TRANSIENT:
                    body = read_problem(response.content)
                    raise EngineRefused(response.status_code, body.detail, body.errors)
                problem = f"the engine at {self._base} answered HTTP {response.status_code}"
            if attempt < attempts:
                await self._sleep(0.5 * 2 ** (attempt - 1))
        raise EngineUnavailable(problem)

    async def get_workflow(self, name: str) -> WorkflowInfo:
        response = await self._request("GET", f"/v1/workflows/{quote(name, safe='')}")
        return _decode(response, WorkflowInfo)

    async def list_workflows(self) -> list[str]:
        response = await self._request("GET", "/v1/workflows")
        return sorted(w.name for w in _decode(response, _WorkflowList).workflows)

    async def start_run(
        self,
        workflow: str,
        inputs: Mapping[str, Any],
        *,
        idempotency_key: str,
        trigger: Mapping[str, str] | None = None,
    ) -> StartedRun:
        body: dict[str, Any] = {"inputs": dict(inputs)}
        if trigger is not None:
            body["trigger"] = {"source": "slack", "details": dict(trigger)}
        response = await self._request(
            "POST",
            f"/v1/workflows/{quote(workflow, safe='')}/runs",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
        return StartedRun(run=_decode(response, RunInfo), replayed=replayed)

    async def get_run(self, run_id: str, *, wait_s: float = 0.0) -> RunInfo:
        response = await self._request(
            "GET",
            f"/v1/runs/{quote(run_id, safe='')}",
            params={"wait": f"{wait_s:g}"} if wait_s > 0 else None,
            # The engine holds a waiting request that long: give it the time.
            timeout_s=wait_s + _ANSWER_S if wait_s > 0 else None,
        )
        return _decode(response, _RunDetail).run

    async def list_runs(self, *, limit: int, workflow: str | None = None) -> list[RunInfo]:
        params: dict[str, str | int] = {"limit": limit}
        if workflow is not None:
            params["workflow"] = workflow
        response = await self._request("GET", "/v1/runs", params=params)
        return _decode(response, _RunPage).runs

    async def retry_run(self, run_id: str) -> RunInfo:
        # Not repeated on its own: a second POST after a lost answer would be refused
        # (the run is queued again), which reads like a failure to the user.
        response = await self._request(
            "POST", f"/v1/runs/{quote(run_id, safe='')}/retry", retry=False
        )
        return _decode(response, RunInfo)

    async def send_signal(self, run_id: str, name: str, payload: Any) -> str:
        # Repeating it after a lost answer is harmless: a run takes one signal per wait.
        response = await self._request(
            "POST",
            f"/v1/runs/{quote(run_id, safe='')}/signals/{quote(name, safe='')}",
            json={"payload": payload},
        )
        return str(_decode(response, _SignalSent).status)

    async def check(self) -> str | None:
        try:
            await self._request("GET", "/v1/runs", params={"limit": 1}, retry=False)
        except EngineRefused as exc:
            if exc.status == 401:
                return "the engine refused DW_ENGINE_API_KEY"
            return f"the engine answered HTTP {exc.status}"
        except EngineUnavailable as exc:
            return str(exc)
        return None


def _decode(response: httpx.Response, kind: type[_T]) -> _T:
    try:
        return msgspec.json.decode(response.content, type=kind)
    except msgspec.DecodeError:
        raise EngineUnavailable(
            f"the engine answered {response.request.method} {response.request.url.path} "
            "with a body the bot cannot read"
        ) from None
