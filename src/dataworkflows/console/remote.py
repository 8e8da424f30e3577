"""The console as a component of its own (``serve console``): its pages answered by an
engine's REST API, with an API key of the console's (``DW_ENGINE_API_KEY``).

Every answer is the API's own document, so the pages read the same as inside the
engine. A refusal becomes :class:`~.backend.Refused` with the problem's detail and
field errors; no answer (or an engine that is unavailable) :class:`~.backend.Unreachable`.
The API key never appears in what this module logs or raises.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote
from uuid import UUID

import httpx
from prometheus_client.parser import text_string_to_metric_families

from dataworkflows.console.backend import Json, Refused, RunQuery, Stats, Unreachable, stats_of
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.problems import read_problem

__all__ = ["ApiBackend"]

_log = get_logger(__name__)

TIMEOUT_S: Final = 10.0
MAX_METRICS_CHARS: Final = 4_000_000
REPORTS_PER_PAGE: Final = 20


def _q(segment: str) -> str:
    return quote(segment, safe="")


class ApiBackend:
    """:class:`~.backend.Backend` over the engine at ``base_url``."""

    def __init__(
        self, base_url: str, api_key: str, *, client: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT_S)
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> httpx.Response:
        try:
            answer = await self._client.request(
                method,
                f"{self.base_url}{path}",
                params={k: v for k, v in (params or {}).items() if v is not None},
                json=json,
                headers=self._headers,
            )
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"The engine at {self.base_url} did not answer ({type(exc).__name__})."
            ) from None
        if answer.status_code == 401:
            _log.error("console: the engine refused DW_ENGINE_API_KEY", engine=self.base_url)
            raise Unreachable(
                f"The engine at {self.base_url} refused the console's key: set "
                "DW_ENGINE_API_KEY to one of the engine's DW_API_KEYS."
            )
        if answer.status_code >= 500:
            raise Unreachable(
                f"The engine at {self.base_url} is unavailable ({answer.status_code})."
            )
        return answer

    @staticmethod
    def _refused(answer: httpx.Response) -> Refused:
        problem = read_problem(answer.content)
        fields = {e.field.removeprefix("inputs."): e.message for e in problem.errors}
        detail = problem.detail or f"The engine answered {answer.status_code}."
        return Refused(answer.status_code, detail, fields)

    async def _get(self, path: str, **params: Any) -> Json | None:
        answer = await self._call("GET", path, params=params)
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise self._refused(answer)
        found: Json = answer.json()
        return found

    async def _page(self, path: str, params: dict[str, Any], cursor: str | None) -> Json | None:
        """A page of a list from ``cursor``; a cursor the engine refuses (400) starts from
        the newest, as the engine's own console does. None when there is no such list."""
        answer = await self._call("GET", path, params={**params, "cursor": cursor})
        if answer.status_code == 400 and cursor:
            answer = await self._call("GET", path, params=params)
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise self._refused(answer)
        page: Json = answer.json()
        return page

    async def runs(self, query: RunQuery) -> Json:
        params = {
            "workflow": query.workflow,
            "status": query.status,
            "trigger": query.trigger,
            "q": query.text,
            "created_after": query.created_after.isoformat() if query.created_after else None,
            "created_before": query.created_before.isoformat() if query.created_before else None,
            "limit": query.limit,
        }
        page = await self._page("/v1/runs", params, query.cursor)
        if page is None:  # the engine always has /v1/runs
            raise Refused(404, f"The engine at {self.base_url} has no run history.")
        return page

    async def run(self, run_id: UUID) -> Json | None:
        return await self._get(f"/v1/runs/{run_id}")

    async def _act(self, run_id: UUID, what: str) -> None:
        answer = await self._call("POST", f"/v1/runs/{run_id}/{what}")
        if answer.status_code >= 300:
            raise self._refused(answer)

    async def retry(self, run_id: UUID) -> None:
        await self._act(run_id, "retry")

    async def cancel(self, run_id: UUID) -> None:
        await self._act(run_id, "cancel")

    async def workflows(self) -> list[Json]:
        found = await self._get("/v1/workflows")
        return list((found or {}).get("workflows", []))

    async def workflow(self, name: str, version: int | None = None) -> Json | None:
        return await self._get(f"/v1/workflows/{_q(name)}", version=version)

    async def schedules(self, workflow: str) -> list[Json]:
        found = await self._get("/v1/schedules", workflow=workflow)
        return list((found or {}).get("schedules", []))

    async def start(self, workflow: str, inputs: Json) -> str:
        answer = await self._call(
            "POST",
            f"/v1/workflows/{_q(workflow)}/runs",
            json={"inputs": inputs, "trigger": {"source": "console"}},
        )
        if answer.status_code not in (200, 201, 202):
            raise self._refused(answer)
        return str(answer.json()["id"])

    async def connectors(self) -> list[Json]:
        found = await self._get("/v1/connectors")
        return list((found or {}).get("connectors", []))

    async def stats(self) -> Stats:
        answer = await self._call("GET", "/metrics")
        if answer.status_code != 200 or len(answer.text) > MAX_METRICS_CHARS:
            return Stats()
        try:
            return stats_of(text_string_to_metric_families(answer.text))
        except ValueError:
            _log.warning("console: the engine's /metrics could not be read", engine=self.base_url)
            return Stats()

    async def projects(self) -> list[Json] | None:
        found = await self._get("/v1/projects")
        return None if found is None else list(found.get("projects", []))

    async def reports(self, project: str | None, cursor: str | None) -> Json | None:
        params = {"project": project, "limit": REPORTS_PER_PAGE}
        return await self._page("/v1/reports", params, cursor)

    async def report(self, report_id: UUID) -> Json | None:
        return await self._get(f"/v1/reports/{report_id}")
