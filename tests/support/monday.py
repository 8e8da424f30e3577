"""A Monday sandbox process for tests, controlled over its test endpoints."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import free_port
from tests.support.processes import CliProcess

SANDBOX_TOKEN = "monday-sandbox-token-for-tests"


class SandboxControl:
    """The sandbox's URL and its fault and request-log endpoints."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.graphql = f"{base}/v2"

    def fault(self, kind: str, **fields: Any) -> None:
        response = httpx.post(f"{self.base}/sandbox/faults", json={"kind": kind, **fields})
        assert response.status_code == 204, response.text

    def reset(self) -> None:
        assert httpx.post(f"{self.base}/sandbox/reset").status_code in (200, 204)

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt."""
        response = httpx.get(f"{self.base}/sandbox/deliveries")
        assert response.status_code == 200
        return list(response.json())

    def graphql_call(self, query: str, **variables: Any) -> dict[str, Any]:
        """A GraphQL call as a monday user's client makes it; its data."""
        response = httpx.post(
            self.graphql,
            json={"query": query, "variables": variables},
            headers={"Authorization": SANDBOX_TOKEN, "API-Version": "2025-07"},
        )
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def requests(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base}/sandbox/requests")
        assert response.status_code == 200
        body = response.json()
        return list(body["requests"] if isinstance(body, dict) else body)


@contextmanager
def monday_sandbox_process(
    cwd: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[SandboxControl]:
    """`dataworkflows serve sandbox monday` on a free port (``extra_env`` on top)."""
    port = free_port()
    env = {"MONDAY_API_TOKEN": SANDBOX_TOKEN, "DW_PORT": str(port), **(extra_env or {})}
    with CliProcess("serve", "sandbox", "monday", env=env, cwd=cwd) as process:
        process.wait_http(f"http://127.0.0.1:{port}/healthz")
        yield SandboxControl(f"http://127.0.0.1:{port}")
        process.stop()
