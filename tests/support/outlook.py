"""An Outlook (Microsoft Graph) sandbox process for tests, controlled over its test endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from dataworkflows.connectors.outlook.spec import OutlookSettings
from tests.support.net import free_port
from tests.support.processes import CliProcess

TENANT_ID = "8f1b6c3e-0d2a-4b7e-9c11-2f6a5e4d3c21"
CLIENT_ID = "3e7a9b10-5c4d-4f2e-8a6b-1d0c9e8f7a65"
CLIENT_SECRET = "outlook-sandbox-secret~for.tests-0123"
ANCHOR = "2026-11-02"
"""The date the tests pin the demo tenant to (a Monday)."""


class OutlookSandboxControl:
    """The sandbox's URLs and its fault, log and reset endpoints."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.api = f"{base}/v1.0"
        self.token_url = f"{base}/{{tenant}}/oauth2/v2.0/token"
        """The token endpoint as GRAPH_TOKEN_URL spells it (``{tenant}`` filled in later)."""

    def settings(self, **overrides: Any) -> OutlookSettings:
        """Connector settings pointing at this sandbox with its app registration."""
        values: dict[str, Any] = {
            "tenant_id": TENANT_ID,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "api_url": self.api,
            "token_url": self.token_url,
            "mailbox": "maya.patel@example.com",
        }
        values.update(overrides)
        return OutlookSettings(**values)

    def fault(self, kind: str, **fields: Any) -> None:
        response = httpx.post(f"{self.base}/sandbox/faults", json={"kind": kind, **fields})
        assert response.status_code == 204, response.text

    def clear_faults(self) -> None:
        assert httpx.delete(f"{self.base}/sandbox/faults").status_code == 204

    def reset(self, **settings: Any) -> None:
        body = {"anchor": ANCHOR, "seed": 7, "token_ttl_s": 3599, **settings}
        response = httpx.post(f"{self.base}/sandbox/reset", json=body)
        assert response.status_code in (200, 204), response.text

    def requests(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base}/sandbox/requests")
        assert response.status_code == 200
        return list(response.json())

    def api_requests(self) -> list[dict[str, Any]]:
        """The requests to ``/v1.0`` (not the token endpoint)."""
        return [r for r in self.requests() if r["path"].startswith("/v1.0/")]

    def token_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["path"].endswith("/oauth2/v2.0/token")]

    def sent(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base}/sandbox/sent")
        assert response.status_code == 200
        return list(response.json())


@contextmanager
def outlook_sandbox_process(cwd: Path) -> Iterator[OutlookSandboxControl]:
    """`dataworkflows serve sandbox outlook` on a free port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "GRAPH_TENANT_ID": TENANT_ID,
        "GRAPH_CLIENT_ID": CLIENT_ID,
        "GRAPH_CLIENT_SECRET": CLIENT_SECRET,
        "GRAPH_API_URL": f"{base}/v1.0",
        "DW_PORT": str(port),
    }
    with CliProcess("serve", "sandbox", "outlook", env=env, cwd=cwd) as process:
        process.wait_http(f"{base}/healthz")
        yield OutlookSandboxControl(base)
        process.stop()
