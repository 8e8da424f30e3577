"""The engine's HTTP connector adapter against a real connector process over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from dataworkflows.composition.engine import engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.connectors.core import core_actions
from dataworkflows.contracts import ActionContext, ActionFailed, ActionRequest
from dataworkflows.engine.connectors import (
    ConnectorUnavailable,
    HttpConnector,
    connector_session,
)
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.runtime.http1 import Http1Pool
from tests.support.engine import API_KEY
from tests.support.net import free_port
from tests.support.processes import CliProcess

TOKEN = "service-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def core_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dataworkflows serve connector core` running on 127.0.0.1."""
    port = free_port()
    cwd: Path = tmp_path_factory.mktemp("connector")
    env = {"DW_SERVICE_TOKEN": TOKEN, "DW_PORT": str(port)}
    with CliProcess("serve", "connector", "core", env=env, cwd=cwd) as process:
        process.wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
        assert process.stop() == 0


@pytest.fixture
async def client() -> AsyncIterator[Http1Pool]:
    """The engine's own kind of session (what build_connectors makes)."""
    session = connector_session(timeout_s=5.0)
    try:
        yield session
    finally:
        await session.close()


def connector(url: str, client: Http1Pool, token: str = TOKEN) -> HttpConnector:
    return HttpConnector("core", base_url=url, token=token, session=client)


async def test_catalog_over_http_matches_the_actions(core_url: str, client: Http1Pool) -> None:
    """GET /v1/actions returns exactly the catalog the connector declares."""
    assert await connector(core_url, client).catalog() == core_actions().catalog()


async def test_invoke_returns_the_output(core_url: str, client: Http1Pool) -> None:
    """A call's output comes back unchanged, with the context and key passed along."""
    request = ActionRequest(
        input={"nested": {"a": [1, 2]}},
        idempotency_key="run:step:-1",
        context=ActionContext(run_id="r", step_id="s", attempt=1),
    )
    assert await connector(core_url, client).invoke("core.echo", request) == {
        "nested": {"a": [1, 2]}
    }


async def test_typed_errors_cross_the_wire(core_url: str, client: Http1Pool) -> None:
    """invalid_input and rate_limited arrive as the same typed errors, hints included."""
    http = connector(core_url, client)
    with pytest.raises(ActionFailed) as invalid:
        await http.invoke("core.sleep", ActionRequest(input={"seconds": "later"}))
    assert invalid.value.error.code == "invalid_input"
    assert not invalid.value.error.retryable
    assert "seconds" in invalid.value.error.message
    with pytest.raises(ActionFailed) as limited:
        await http.invoke(
            "core.fail", ActionRequest(input={"code": "rate_limited", "retry_after_s": 3})
        )
    assert limited.value.error.code == "rate_limited"
    assert limited.value.error.retryable
    assert limited.value.error.retry_after_s == 3.0
    with pytest.raises(ActionFailed) as unknown:
        await http.invoke("core.nothing", ActionRequest(input={}))
    assert unknown.value.error.code == "not_found"


async def test_a_wrong_service_token_is_refused(core_url: str, client: Http1Pool) -> None:
    """Without the right token the connector answers nothing useful: auth_failed."""
    intruder = connector(core_url, client, token="not-the-service-token-xx")
    with pytest.raises(ActionFailed) as refused:
        await intruder.invoke("core.echo", ActionRequest(input={}))
    assert refused.value.error.code == "auth_failed"
    assert not refused.value.error.retryable
    with pytest.raises(ConnectorUnavailable, match="refused the service token"):
        await intruder.catalog()


@pytest.mark.parametrize(
    "authorization",
    [None, f"Basic {TOKEN}", "Bearer not-the-service-token-xx", f"Bearer {TOKEN}x"],
)
async def test_a_request_without_the_service_token_gets_a_401_problem(
    core_url: str, authorization: str | None
) -> None:
    """A caller without ``Bearer <DW_SERVICE_TOKEN>`` gets a 401 problem document that
    names the variable and a WWW-Authenticate challenge, and no action runs."""
    headers = {"X-Request-Id": "req-401-check"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{core_url}/v1/actions/core.echo", json={"input": {"a": 1}}, headers=headers
        )
    body = answer.json()
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="dataworkflows-connector"'
    assert answer.headers["X-Request-Id"] == "req-401-check"
    assert body["status"] == 401
    assert "DW_SERVICE_TOKEN" in body["detail"]
    assert body["instance"] == "/v1/actions/core.echo"
    assert body["request_id"] == "req-401-check"
    assert "output" not in body
    assert TOKEN not in str(body)


async def test_a_connector_that_is_down_is_retryable(client: Http1Pool) -> None:
    """Calls to a connector nobody listens for are upstream_unavailable and retryable."""
    down = connector(f"http://127.0.0.1:{free_port()}", client)
    with pytest.raises(ActionFailed) as failed:
        await down.invoke("core.echo", ActionRequest(input={}))
    assert failed.value.error.code == "upstream_unavailable"
    assert failed.value.error.retryable
    with pytest.raises(ConnectorUnavailable, match="does not answer"):
        await down.catalog()


async def test_engine_runs_a_workflow_through_the_http_connector(
    core_url: str, database_url: str
) -> None:
    """With DW_CONNECTOR_URLS the engine calls the connector process, not in-process code."""
    settings = Settings(
        engine=EngineSettings(api_keys=(API_KEY,)),
        service_token=TOKEN,
        connector_urls={"core": core_url},
        db_pool_max=4,
    )
    async with engine_parts(settings, database_url=database_url) as (parts, _):
        run, _ = await parts.service.start_run(
            "hello-world", inputs={"names": ["Ada"]}, idempotency_key=None, trigger={}
        )
        final = await parts.service.wait(run, 10)
        registry = parts.service.connectors
    assert final.status == "succeeded"
    assert final.output == {"message": "Hello, Ada!", "paused": 1}
    assert type(registry.get("core")).__name__ == "HttpConnector"


async def test_every_call_gets_litestars_answer_whichever_path_serves_it(core_url: str) -> None:
    """A strictly well-formed call (answered by the direct path) and the same call in a
    laxer shape (handed on to the Litestar handler) get the same status, headers and
    body; malformed and oversized bodies still get Litestar's 400 and 413 problems."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    strict_context = '"context":{"run_id":"r","step_id":"s","attempt":2}'
    lax_context = '"context":{"run_id":"r","step_id":"s","attempt":"2"}'  # a string
    calls = [
        ("core.echo", '{"input":{"a":[1,2]},%s}'),
        ("core.fail", '{"input":{"code":"rate_limited","retry_after_s":3},%s}'),
        ("core.nothing", '{"input":{},%s}'),
    ]
    async with httpx.AsyncClient(base_url=core_url, headers=auth) as http:
        for action, body in calls:
            answers = [
                await http.post(f"/v1/actions/{action}", content=body % context)
                for context in (strict_context, lax_context)
            ]
            direct, handed_on = answers
            assert direct.status_code == handed_on.status_code, action
            assert direct.content == handed_on.content, action
            for header in ("content-type", "content-length", "retry-after"):
                assert direct.headers.get(header) == handed_on.headers.get(header), header
        assert direct.status_code == 404
        malformed = await http.post("/v1/actions/core.echo", content=b'{"input": nope}')
        assert malformed.status_code == 400
        assert "malformed" in malformed.json()["detail"]
        wrong_shape = await http.post("/v1/actions/core.echo", json={"input": [1]})
        assert wrong_shape.status_code == 400
        assert wrong_shape.headers["content-type"] == "application/problem+json"
        huge = await http.post(
            "/v1/actions/core.echo", content=b'{"input":{"a":"' + b"x" * 10_000_001 + b'"}}'
        )
        assert huge.status_code == 413
