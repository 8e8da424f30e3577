"""A Confluence sandbox process for tests, controlled over its test endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.net import free_port
from tests.support.processes import CliProcess

SANDBOX_TOKEN = "confluence-sandbox-token-for-tests"
SANDBOX_EMAIL = "maya.patel@example.com"


class ConfluenceSandboxControl:
    """The sandbox's URLs and its fault, request-log and page-editing endpoints."""

    def __init__(self, base: str) -> None:
        self.base = base
        """The site URL (what CONFLUENCE_URL is for Basic auth)."""
        self._http = httpx.Client(base_url=base, timeout=10.0, trust_env=False)

    def close(self) -> None:
        self._http.close()

    @property
    def cloud_id(self) -> str:
        response = self._http.get("/_edge/tenant_info")
        assert response.status_code == 200, response.text
        return str(response.json()["cloudId"])

    @property
    def gateway(self) -> str:
        """The api.atlassian.com form of the base (what CONFLUENCE_URL is for bearer tokens)."""
        return f"{self.base}/ex/confluence/{self.cloud_id}"

    def fault(self, kind: str, **fields: Any) -> None:
        response = self._http.post("/sandbox/faults", json={"kind": kind, **fields})
        assert response.status_code == 204, response.text

    def clear_faults(self) -> None:
        assert self._http.delete("/sandbox/faults").status_code == 204

    def reset(self) -> None:
        assert self._http.post("/sandbox/reset").status_code == 204

    def requests(self) -> list[dict[str, Any]]:
        response = self._http.get("/sandbox/requests")
        assert response.status_code == 200
        return list(response.json())

    def statuses(self) -> list[int]:
        return [int(r["status"]) for r in self.requests()]

    def touch(self, page_id: str, **changes: str) -> dict[str, Any]:
        """Someone edits the page in the browser; the page as it is now."""
        response = self._http.post(f"/sandbox/pages/{page_id}/touch", json=changes)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page

    def site(self) -> dict[str, Any]:
        response = self._http.get("/sandbox/site")
        assert response.status_code == 200
        site: dict[str, Any] = response.json()
        return site

    def space(self, key: str) -> dict[str, str]:
        return next(s for s in self.site()["spaces"] if s["key"] == key)


@contextmanager
def confluence_sandbox_process(
    cwd: Path, *, email: str | None = SANDBOX_EMAIL
) -> Iterator[ConfluenceSandboxControl]:
    """`dataworkflows serve sandbox confluence` on a free port of 127.0.0.1."""
    port = free_port()
    # Empty values override whatever the developer's environment holds.
    env = {
        "CONFLUENCE_API_TOKEN": SANDBOX_TOKEN,
        "CONFLUENCE_EMAIL": email or "",
        "CONFLUENCE_URL": "",
        "DW_PORT": str(port),
    }
    with CliProcess("serve", "sandbox", "confluence", env=env, cwd=cwd) as process:
        process.wait_http(f"http://127.0.0.1:{port}/healthz")
        control = ConfluenceSandboxControl(f"http://127.0.0.1:{port}")
        try:
            yield control
        finally:
            control.close()
            process.stop()
