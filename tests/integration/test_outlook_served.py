"""`dataworkflows serve connector outlook` against `serve sandbox outlook`: the internal
connector API over HTTP, as the engine calls it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.net import free_port
from tests.support.outlook import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_ID,
    OutlookSandboxControl,
    outlook_sandbox_process,
)
from tests.support.processes import CliProcess, run_cli

SERVICE_TOKEN = "outlook-service-token-0123456789"


@dataclass
class Connector:
    """The connector process, its URL and the sandbox behind it."""

    process: CliProcess
    url: str
    sandbox: OutlookSandboxControl

    def call(self, action: str, data: dict[str, Any], key: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"input": data}
        if key is not None:
            body["idempotency_key"] = key
        return httpx.post(
            f"{self.url}/v1/actions/{action}",
            json=body,
            headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
            timeout=30,
        )


def graph_env(sandbox: OutlookSandboxControl) -> dict[str, str]:
    return {
        "GRAPH_TENANT_ID": TENANT_ID,
        "GRAPH_CLIENT_ID": CLIENT_ID,
        "GRAPH_CLIENT_SECRET": CLIENT_SECRET,
        "GRAPH_API_URL": sandbox.api,
        "GRAPH_TOKEN_URL": sandbox.token_url,
        "OUTLOOK_MAILBOX": "maya.patel@example.com",
    }


@pytest.fixture(scope="module")
def connector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connector]:
    cwd = tmp_path_factory.mktemp("outlook-served")
    with outlook_sandbox_process(cwd) as sandbox:
        sandbox.reset()
        port = free_port()
        env = {**graph_env(sandbox), "DW_SERVICE_TOKEN": SERVICE_TOKEN, "DW_PORT": str(port)}
        with CliProcess("serve", "connector", "outlook", env=env, cwd=cwd) as process:
            url = f"http://127.0.0.1:{port}"
            process.wait_http(f"{url}/readyz")
            yield Connector(process=process, url=url, sandbox=sandbox)
            process.stop()


def test_ready_once_a_token_was_obtained(connector: Connector) -> None:
    """/readyz is 200 with the graph check ok: the token endpoint accepted the app."""
    response = httpx.get(f"{connector.url}/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"graph": "ok"}
    assert connector.sandbox.token_requests()


def test_the_catalog_lists_the_three_actions(connector: Connector) -> None:
    """GET /v1/actions describes list_messages, list_events and send_mail with schemas."""
    response = httpx.get(
        f"{connector.url}/v1/actions", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}
    )
    assert response.status_code == 200
    actions = {a["name"]: a for a in response.json()["actions"]}
    assert set(actions) == {"outlook.list_messages", "outlook.list_events", "outlook.send_mail"}
    assert actions["outlook.send_mail"]["effect"] == "write"
    assert (
        "start"
        in actions["outlook.list_events"]["input_schema"]["$defs"]["ListEventsInput"]["required"]
    )


def test_events_and_mail_over_the_connector_api(connector: Connector) -> None:
    """list_events answers the window's meetings; a repeated send_mail key sends once."""
    connector.sandbox.reset()
    events = connector.call(
        "outlook.list_events", {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}
    )
    assert events.status_code == 200, events.text
    assert events.json()["output"]["count"] >= 3
    mail = {"to": ["jonas.berg@example.com"], "subject": "Status", "body": "Green."}
    first = connector.call("outlook.send_mail", mail, key="run-9:notify:0")
    again = connector.call("outlook.send_mail", mail, key="run-9:notify:0")
    assert first.json()["output"]["status"] == "sent"
    assert again.json()["output"]["status"] == "already_sent"
    assert len(connector.sandbox.sent()) == 1


def test_a_long_throttle_is_a_rate_limited_envelope(connector: Connector) -> None:
    """Throttled beyond the connector's wait: 429 with Retry-After and the typed error."""
    connector.sandbox.reset()
    connector.sandbox.fault("throttled", retry_after=90)
    response = connector.call("outlook.list_messages", {})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "90"
    error = response.json()["error"]
    assert (error["code"], error["retryable"], error["upstream_code"]) == (
        "rate_limited",
        True,
        "TooManyRequests",
    )


def test_the_logs_hold_no_secret_and_no_token(connector: Connector) -> None:
    """Neither the client secret nor an access token (a JWT) appears in the process's logs."""
    connector.call("outlook.list_messages", {"limit": 1})
    logs = connector.process.stderr + connector.process.stdout
    assert "request" in logs
    assert CLIENT_SECRET not in logs
    assert "eyJ" not in logs


def test_without_credentials_the_connector_names_what_to_set(tmp_path: Path) -> None:
    """`serve connector outlook` with no GRAPH_* variables exits 2 naming all three."""
    env = {
        "DW_SERVICE_TOKEN": SERVICE_TOKEN,
        "DW_PORT": str(free_port()),
        # Empty means unset, whatever the developer's shell exports.
        "GRAPH_TENANT_ID": "",
        "GRAPH_CLIENT_ID": "",
        "GRAPH_CLIENT_SECRET": "",
    }
    result = run_cli("serve", "connector", "outlook", env=env, cwd=tmp_path)
    assert result.returncode == 2
    for name in ("GRAPH_TENANT_ID", "GRAPH_CLIENT_ID", "GRAPH_CLIENT_SECRET"):
        assert name in result.stderr
