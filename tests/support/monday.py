"""A Monday sandbox process for tests, controlled over its test endpoints."""

from __future__ import annotations

from collections.abc import Iterator
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

    def requests(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base}/sandbox/requests")
        assert response.status_code == 200
        body = response.json()
        return list(body["requests"] if isinstance(body, dict) else body)


@contextmanager
def monday_sandbox_process(cwd: Path) -> Iterator[SandboxControl]:
    """`dataworkflows serve sandbox monday` on a free port."""
    port = free_port()
    env = {"MONDAY_API_TOKEN": SANDBOX_TOKEN, "DW_PORT": str(port)}
    with CliProcess("serve", "sandbox", "monday", env=env, cwd=cwd) as process:
        process.wait_http(f"http://127.0.0.1:{port}/healthz")
        yield SandboxControl(f"http://127.0.0.1:{port}")
        process.stop()
