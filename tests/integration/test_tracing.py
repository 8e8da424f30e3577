"""OpenTelemetry traces: a run and its step attempts continue the trace of the request
that started it, and the trace goes on (W3C traceparent) into a connector process and
its vendor's HTTP calls; with tracing off nothing is added."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar, Request, post
from litestar.params import FromPath
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dataworkflows.contracts import ActionContext, ActionRequest
from dataworkflows.engine.connectors import HttpConnector, connector_session
from dataworkflows.runtime import tracing
from dataworkflows.runtime.actions import ActionCall, ActionSet
from dataworkflows.runtime.connector_app import create_connector_app
from dataworkflows.runtime.tracing import traced_http_client
from dataworkflows.slackbot.engine_client import EngineClient
from tests.support.engine import running_engine
from tests.support.net import serve_in_process

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
FLOW = """
name: traced
steps:
  - {id: one, uses: core.echo, with: {n: 1}}
  - {id: two, uses: core.echo, needs: [one], with: {n: 2}}
"""
TOKEN = "service-token-for-tracing-tests"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure_tracing("tests", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.disable_tracing()


def by_name(exporter: InMemorySpanExporter) -> dict[str, Any]:
    return {s.name: s for s in exporter.get_finished_spans()}


async def test_a_run_and_its_steps_continue_the_caller_s_trace(
    database_url: str, spans: InMemorySpanExporter
) -> None:
    """POST .../runs with a traceparent: the request, the run and each step attempt
    are spans of that trace, the steps children of the run."""
    async with running_engine(database_url) as engine:
        await engine.register(FLOW)
        started = await engine.client.post(
            "/v1/workflows/traced/runs?wait=30", json={}, headers={"traceparent": TRACEPARENT}
        )
        assert started.status_code == 200, started.text
    found = by_name(spans)
    request = found["POST /v1/workflows/{name}/runs"]
    run = found["run traced"]
    steps = [found["step one"], found["step two"]]
    assert {format(s.context.trace_id, "032x") for s in [request, run, *steps]} == {TRACE_ID}
    assert run.parent.span_id == request.context.span_id
    assert all(s.parent.span_id == run.context.span_id for s in steps)
    assert run.attributes["dw.run_id"] == started.json()["id"]
    assert steps[0].attributes["dw.action"] == "core.echo"


async def test_the_trace_goes_on_into_a_connector_process_and_its_vendor(
    spans: InMemorySpanExporter,
) -> None:
    """The engine's call carries traceparent; the connector's server span is a child of
    the step's span, and its vendor call sends the same trace on."""
    seen: list[str | None] = []

    @post("/vendor", status_code=200, sync_to_thread=False)
    def vendor(request: Request[Any, Any, Any]) -> dict[str, bool]:
        seen.append(request.headers.get("traceparent"))
        return {"ok": True}

    async with serve_in_process(Litestar([vendor])) as vendor_url:
        actions = ActionSet("relay")

        @actions.action("forward", effect="write", description="Calls the vendor.")
        async def forward(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
            async with traced_http_client(timeout=5) as http:
                answer = await http.post(f"{vendor_url}/vendor", json=data)
            return {"status": answer.status_code}

        app = create_connector_app(actions, service_token=TOKEN)
        async with (
            serve_in_process(app) as connector_url,
            connector_session(timeout_s=10) as session,
        ):
            connector = HttpConnector("relay", base_url=connector_url, token=TOKEN, session=session)
            request = ActionRequest(
                input={"x": 1}, context=ActionContext(run_id="r", step_id="s", attempt=1)
            )
            with tracing.span("step s") as step:
                output = await connector.invoke("forward", request)
    assert output == {"status": 200}
    trace_id = format(step.get_span_context().trace_id, "032x")
    assert seen[0] is not None
    assert seen[0].split("-")[1] == trace_id
    found = by_name(spans)
    server = found["POST /v1/actions/{action}"]
    assert server.parent.span_id == step.get_span_context().span_id
    client = next(s for s in spans.get_finished_spans() if s.name.startswith("POST 127.0.0.1"))
    assert client.parent.span_id == server.context.span_id


async def test_nothing_is_traced_or_sent_while_tracing_is_off() -> None:
    """Off (no OTEL_* endpoint), vendor calls carry no traceparent."""
    assert not tracing.active()
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing.wanted(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert not tracing.wanted(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}
    )
    seen: list[str | None] = []

    @post("/vendor", status_code=200, sync_to_thread=False)
    def vendor(request: Request[Any, Any, Any]) -> dict[str, bool]:
        seen.append(request.headers.get("traceparent"))
        return {"ok": True}

    async with serve_in_process(Litestar([vendor])) as url, traced_http_client() as http:
        assert (await http.post(f"{url}/vendor", content=msgspec.json.encode({}))).is_success
    assert seen == [None]
    assert isinstance(http, httpx.AsyncClient)


async def test_the_bot_s_calls_to_the_engine_carry_its_trace(spans: InMemorySpanExporter) -> None:
    """A command's span goes on into the engine: the bot sends traceparent."""
    seen: list[str | None] = []

    @post("/v1/runs/{run_id:str}/signals/{name:str}", status_code=202, sync_to_thread=False)
    def signal(
        request: Request[Any, Any, Any], run_id: FromPath[str], name: FromPath[str]
    ) -> dict[str, str]:
        seen.append(request.headers.get("traceparent"))
        return {"status": "queued"}

    async with serve_in_process(Litestar([signal])) as url, httpx.AsyncClient() as http:
        engine = EngineClient(http, base_url=url, api_key="k" * 20)
        with tracing.span("slack command") as command:
            assert await engine.send_signal("r1", "approval", {"decision": "approved"}) == "queued"
    assert seen[0] is not None
    assert seen[0].split("-")[1] == format(command.get_span_context().trace_id, "032x")
