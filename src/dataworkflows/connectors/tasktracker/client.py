"""The real Task Tracker adapter: its REST API over httpx, with login and token cache.

The client logs in with the configured account, keeps the token until shortly
before it expires, and logs in again once when a request answers 401 (the tracker
restarted, or the token was revoked). Transient failures (network, timeouts, 5xx,
429) are retried with exponential backoff and jitter (stamina).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx
import msgspec

from dataworkflows.connectors.tasktracker.port import (
    Task,
    TaskFields,
    TaskPage,
    TaskQuery,
    TrackerAuthError,
    TrackerConflict,
    TrackerError,
    TrackerInvalid,
    TrackerNotFound,
    TrackerStale,
    TrackerUnavailable,
)
from dataworkflows.connectors.toolkit.transport import Upstream
from dataworkflows.runtime.resilience import CircuitBreaker

__all__ = ["TaskTrackerClient"]

REFRESH_MARGIN_S: Final = 30.0
"""Log in again this long before the token expires (clocks and latency drift)."""

_task = msgspec.json.Decoder(Task)
_page = msgspec.json.Decoder(TaskPage)
_fields = msgspec.json.Encoder()


class TaskTrackerClient:
    """:class:`~dataworkflows.connectors.tasktracker.port.TaskTrackerPort` over HTTP."""

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        http: httpx.AsyncClient,
        attempts: int = 4,
        clock: Callable[[], float] = time.monotonic,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._http = http
        self._upstream = Upstream(
            "the task tracker",
            unavailable=TrackerUnavailable,
            attempts=attempts,
            wait_max=5.0,
            breaker=breaker,
        )
        self.breaker = self._upstream.breaker
        self._clock = clock
        self._token: str | None = None
        self._token_valid_until = 0.0
        self._login_lock = asyncio.Lock()
        self.logins = 0
        """How many times the client logged in (for tests and metrics)."""

    # The port -----------------------------------------------------------------------

    async def list_tasks(self, query: TaskQuery) -> TaskPage:
        params = {k: v for k, v in msgspec.structs.asdict(query).items() if v is not None}
        response = await self._request("GET", "/api/tasks", params=params)
        return _page.decode(response.content)

    async def get_task(self, task_id: str) -> Task | None:
        try:
            response = await self._request("GET", f"/api/tasks/{task_id}")
        except TrackerNotFound:
            return None
        return _task.decode(response.content)

    async def create_task(self, fields: TaskFields) -> Task:
        response = await self._request("POST", "/api/tasks", body=fields)
        return _task.decode(response.content)

    async def update_task(
        self, task_id: str, fields: TaskFields, *, version: int | None = None
    ) -> Task:
        headers = {"If-Match": str(version)} if version is not None else {}
        response = await self._request("PUT", f"/api/tasks/{task_id}", body=fields, headers=headers)
        return _task.decode(response.content)

    async def delete_task(self, task_id: str) -> bool:
        try:
            await self._request("DELETE", f"/api/tasks/{task_id}")
        except TrackerNotFound:
            return False
        return True

    # Transport ----------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: TaskFields | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self._upstream.call(
            lambda: self._authorized(method, path, params, body, headers)
        )

    async def _authorized(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: TaskFields | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        token = await self._current_token()
        response = await self._send(method, path, params, body, headers=headers, token=token)
        if response.status_code == 401:
            # Once: the token may have been refused because the tracker restarted.
            token = await self._current_token(refresh=True)
            response = await self._send(method, path, params, body, headers=headers, token=token)
            if response.status_code == 401:
                raise TrackerAuthError("the tracker refused a fresh token")
        _raise_for(response)
        return response

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: TaskFields | None,
        *,
        headers: Mapping[str, str] | None,
        token: str,
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        content = None
        if body is not None:
            content = _fields.encode(body)
            all_headers["Content-Type"] = "application/json"
        try:
            return await self._http.request(
                method,
                f"{self.base_url}{path}",
                params=dict(params) if params else None,
                content=content,
                headers=all_headers,
            )
        except httpx.TimeoutException:
            raise TrackerUnavailable("the tracker did not answer in time") from None
        except httpx.TransportError as exc:
            raise TrackerUnavailable(f"the tracker is unreachable ({type(exc).__name__})") from None

    async def _current_token(self, *, refresh: bool = False) -> str:
        async with self._login_lock:
            if not refresh and self._token and self._clock() < self._token_valid_until:
                return self._token
            self._token = None
            try:
                response = await self._http.post(
                    f"{self.base_url}/api/auth/login",
                    json={"username": self._username, "password": self._password},
                )
            except httpx.TimeoutException:
                raise TrackerUnavailable("the tracker did not answer the login in time") from None
            except httpx.TransportError as exc:
                raise TrackerUnavailable(
                    f"the tracker is unreachable ({type(exc).__name__})"
                ) from None
            if response.status_code == 401:
                # Never repeat the credentials in the message.
                raise TrackerAuthError(
                    "the tracker refused the configured TRACKER_USERNAME/TRACKER_PASSWORD"
                )
            _raise_for(response)
            body = response.json()
            self.logins += 1
            lifetime = float(body.get("expires_in") or 60)
            self._token = str(body["access_token"])
            self._token_valid_until = self._clock() + max(lifetime - REFRESH_MARGIN_S, lifetime / 2)
            return self._token


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    detail = str(problem.get("detail") or f"HTTP {status}")
    fields = {
        str(e.get("field")): str(e.get("message"))
        for e in problem.get("errors") or []
        if isinstance(e, dict)
    }
    if status >= 500 or status in (408, 429):
        raise TrackerUnavailable(f"the tracker answered HTTP {status}: {detail}")
    if status in (401, 403):
        raise TrackerAuthError(detail)
    if status == 404:
        raise TrackerNotFound(detail)
    if status == 409:
        raise TrackerConflict(detail, fields=fields)
    if status == 412:
        raise TrackerStale(detail)
    if status in (400, 422):
        summary = "; ".join(f"{k}: {v}" for k, v in fields.items()) or detail
        raise TrackerInvalid(summary, fields=fields)
    raise TrackerError(f"the tracker answered HTTP {status}: {detail}")
