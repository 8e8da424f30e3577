"""The engine's REST API over a real database: auth, definitions, runs, connectors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.engine import API_KEY, running_engine

FLOW = """\
name: api-demo
description: Echo twice.
inputs:
  who: {type: string}
  times: {type: integer, default: 2}
steps:
  - {id: hello, uses: core.echo, with: {text: "hello {{ inputs.who }}"}}
  - {id: again, uses: core.echo, with: {text: "{{ steps.hello.output.text }} x{{ inputs.times }}"}}
output: "{{ steps.again.output.text }}"
"""
YAML = {"Content-Type": "application/yaml"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/workflows"),
        ("PUT", "/v1/workflows/x"),
        ("POST", "/v1/workflows/x/runs"),
        ("GET", "/v1/runs"),
        ("GET", "/v1/runs/00000000-0000-0000-0000-000000000000"),
        ("POST", "/v1/runs/00000000-0000-0000-0000-000000000000/cancel"),
        ("POST", "/v1/runs/00000000-0000-0000-0000-000000000000/retry"),
        ("GET", "/v1/connectors"),
        ("POST", "/v1/connectors/core/actions/echo"),
    ],
)
async def test_every_v1_route_needs_a_valid_key(database_url: str, method: str, path: str) -> None:
    """Without a key, or with a wrong one, every /v1 route answers 401 and does nothing."""
    async with running_engine(database_url) as engine:
        client = engine.client
        missing = await client.request(method, path, headers={"Authorization": ""})
        wrong = await client.request(method, path, headers={"Authorization": "Bearer not-the-key"})
        basic = await client.request(method, path, headers={"Authorization": f"Basic {API_KEY}"})
    for response in (missing, wrong, basic):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert API_KEY not in response.text


async def test_probes_and_docs_need_no_key(database_url: str) -> None:
    """Health probes and the API docs are open; the docs describe the /v1 routes."""
    async with running_engine(database_url) as engine:
        client = engine.client
        client.headers.pop("Authorization")
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        document = (await client.get("/docs/openapi.json")).json()
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "executor": "ok",
        "workflows": "ok",
    }
    paths = document["paths"]
    for path in (
        "/v1/workflows/{name}",
        "/v1/workflows/{name}/runs",
        "/v1/runs/{run_id}",
        "/v1/connectors",
    ):
        assert path in paths
    put = paths["/v1/workflows/{name}"]["put"]
    assert "application/yaml" in put["requestBody"]["content"]
    assert put["requestBody"]["content"]["application/yaml"]["examples"]
    assert paths["/v1/runs"]["get"]["security"] == [{"apiKey": []}]
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


async def test_register_yaml_then_unchanged_then_changed(database_url: str) -> None:
    """A new definition is 201 v1; the same again is 200 v1; a change is 201 v2."""
    async with running_engine(database_url) as engine:
        client = engine.client
        first = await client.put("/v1/workflows/api-demo", content=FLOW, headers=YAML)
        same = await client.put(
            "/v1/workflows/api-demo", content="# a comment only\n" + FLOW, headers=YAML
        )
        changed = await client.put(
            "/v1/workflows/api-demo",
            content=FLOW.replace("Echo twice.", "Echo, twice."),
            headers=YAML,
        )
        detail = (await client.get("/v1/workflows/api-demo")).json()
        old = (await client.get("/v1/workflows/api-demo", params={"version": 1})).json()
        listed = (await client.get("/v1/workflows")).json()
    assert (first.status_code, first.json()["version"], first.json()["created"]) == (201, 1, True)
    assert (same.status_code, same.json()["version"], same.json()["created"]) == (200, 1, False)
    assert (changed.status_code, changed.json()["version"]) == (201, 2)
    assert first.headers["location"] == "/v1/workflows/api-demo"
    assert detail["latest_version"] == 2
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["description"] == "Echo, twice."
    assert detail["source"].startswith("name: api-demo")
    assert old["description"] == "Echo twice."
    assert "api-demo" in [w["name"] for w in listed["workflows"]]


async def test_register_json_body(database_url: str) -> None:
    """The same structure as JSON registers too, and its source is kept as YAML."""
    body = {
        "name": "json-demo",
        "steps": [{"id": "only", "uses": "core.echo", "with": {"x": 1}}],
    }
    async with running_engine(database_url) as engine:
        response = await engine.client.put("/v1/workflows/json-demo", json=body)
        detail = (await engine.client.get("/v1/workflows/json-demo")).json()
    assert response.status_code == 201
    assert detail["definition"]["steps"][0]["with"] == {"x": 1}
    assert "uses: core.echo" in detail["source"]


async def test_invalid_definition_lists_every_problem(database_url: str) -> None:
    """A bad definition is a 422 naming each problem by path; nothing is stored."""
    bad = """\
name: broken
inputs: {n: {type: integer, default: many}}
steps:
  - {id: a, uses: core.slep}
  - {id: a, uses: core.sleep, with: {seconds: soon}}
  - {id: c, uses: nope.thing, with: {x: "{{ steps.later.output }}"}}
  - {id: later, uses: core.echo, with: {y: "{{ inputs.missing }}", z: "{{ oops( }}"}}
"""
    async with running_engine(database_url) as engine:
        response = await engine.client.put("/v1/workflows/broken", content=bad, headers=YAML)
        assert response.status_code == 422
        first = {e["field"] for e in response.json()["errors"]}
        fixed_inputs = bad.replace("default: many", "default: 3")
        response = await engine.client.put(
            "/v1/workflows/broken", content=fixed_inputs, headers=YAML
        )
        errors = {(e["field"], e["message"]) for e in response.json()["errors"]}
        stored = await engine.client.get("/v1/workflows/broken")
    assert first == {"inputs.n"}
    fields = {f for f, _ in errors}
    assert fields == {
        "steps[0].uses",
        "steps[1].id",
        "steps[1].with.seconds",
        "steps[2].uses",
        "steps[2].with.x",
        "steps[3].with.y",
        "steps[3].with.z",
    }
    assert ("steps[2].with.x", "refers to step 'later', which runs later") in errors
    assert ("steps[3].with.y", "refers to undeclared input 'missing'") in errors
    assert stored.status_code == 404


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        ("name: other\nsteps: [{id: a, uses: core.echo}]", "application/yaml", 422, "name"),
        ("name: x\nsteps: [\n", "application/yaml", 422, "line 3, column 1"),
        ("{not json", "application/json", 400, None),
        ("name: x", "application/xml", 415, None),
    ],
)
async def test_malformed_bodies_are_refused_clearly(
    database_url: str, body: str, content_type: str, status: int, field: str | None
) -> None:
    """Wrong name, broken YAML or JSON, and unknown media types each get a clear answer."""
    async with running_engine(database_url) as engine:
        response = await engine.client.put(
            "/v1/workflows/x", content=body, headers={"Content-Type": content_type}
        )
    assert response.status_code == status
    if field is not None:
        assert response.json()["errors"][0]["field"] == field


async def test_start_run_with_wait_and_read_it_back(database_url: str) -> None:
    """POST ?wait returns the finished run; GET shows every step attempt with timings."""
    async with running_engine(database_url) as engine:
        client = engine.client
        await client.put("/v1/workflows/api-demo", content=FLOW, headers=YAML)
        started = await client.post(
            "/v1/workflows/api-demo/runs", params={"wait": 10}, json={"inputs": {"who": "Ada"}}
        )
        run = started.json()
        detail = (await client.get(f"/v1/runs/{run['id']}")).json()
    assert started.status_code == 200
    assert started.headers["location"] == f"/v1/runs/{run['id']}"
    assert run["status"] == "succeeded"
    assert run["output"] == "hello Ada x2"
    assert run["inputs"] == {"who": "Ada", "times": 2}
    assert run["duration_ms"] >= 0
    steps = detail["steps"]
    assert [s["step_id"] for s in steps] == ["hello", "again"]
    assert all(s["duration_ms"] is not None and s["status"] == "succeeded" for s in steps)
    assert [e["kind"] for e in detail["events"]] == ["created", "claimed", "finished"]


async def test_start_run_without_wait_is_201_and_a_short_wait_is_202(database_url: str) -> None:
    """Without wait the answer is 201 at once; a run outlasting `wait` gives 202."""
    slow = "name: slow-demo\nsteps: [{id: s, uses: core.sleep, with: {seconds: 0.5}}]\n"
    async with running_engine(database_url) as engine:
        await engine.client.put("/v1/workflows/slow-demo", content=slow, headers=YAML)
        created = await engine.client.post("/v1/workflows/slow-demo/runs", json={})
        waited = await engine.client.post(
            "/v1/workflows/slow-demo/runs", params={"wait": 0.05}, json={}
        )
    assert created.status_code == 201
    assert created.json()["status"] in ("running", "queued", "succeeded")
    assert waited.status_code == 202
    assert waited.json()["status"] == "running"


@pytest.mark.parametrize(
    ("inputs", "errors"),
    [
        ({}, {("inputs.who", "is required")}),
        ({"who": 3}, {("inputs.who", "must be a string, got integer")}),
        (
            {"who": "x", "times": "2", "extra": True},
            {
                ("inputs.times", "must be an integer, got string"),
                ("inputs.extra", "is not an input of api-demo (declared: who, times)"),
            },
        ),
    ],
)
async def test_bad_inputs_are_422_naming_each(
    database_url: str, inputs: dict[str, Any], errors: set[tuple[str, str]]
) -> None:
    """Inputs are checked against the declared ones before anything starts."""
    async with running_engine(database_url) as engine:
        await engine.client.put("/v1/workflows/api-demo", content=FLOW, headers=YAML)
        response = await engine.client.post("/v1/workflows/api-demo/runs", json={"inputs": inputs})
        runs = (await engine.client.get("/v1/runs", params={"workflow": "api-demo"})).json()
    assert response.status_code == 422
    assert {(e["field"], e["message"]) for e in response.json()["errors"]} == errors
    before = {r["id"] for r in runs["runs"]}
    assert all(r["inputs"] != inputs for r in runs["runs"]) or not before


async def test_unknown_workflow_and_run_are_404(database_url: str) -> None:
    """Starting an unknown workflow or reading an unknown run is a 404 problem."""
    async with running_engine(database_url) as engine:
        start = await engine.client.post("/v1/workflows/nope/runs", json={})
        run = await engine.client.get("/v1/runs/00000000-0000-0000-0000-000000000000")
        bad_id = await engine.client.get("/v1/runs/not-a-uuid")
    assert start.status_code == 404
    assert run.status_code == 404
    assert bad_id.status_code in (400, 404)


async def test_concurrent_posts_with_one_idempotency_key_start_one_run(database_url: str) -> None:
    """Ten simultaneous POSTs with the same Idempotency-Key create exactly one run."""
    async with running_engine(database_url) as engine:
        await engine.client.put("/v1/workflows/api-demo", content=FLOW, headers=YAML)
        responses = await asyncio.gather(
            *(
                engine.client.post(
                    "/v1/workflows/api-demo/runs",
                    json={"inputs": {"who": "once"}},
                    headers={"Idempotency-Key": "order-1234"},
                )
                for _ in range(10)
            )
        )
        listed = (
            await engine.client.get("/v1/runs", params={"workflow": "api-demo", "limit": 200})
        ).json()
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert sum(1 for r in responses if r.headers.get("idempotent-replayed") == "true") == 9
    assert sum(1 for r in listed["runs"] if r["inputs"].get("who") == "once") == 1


async def test_list_runs_filters_and_pages(database_url: str) -> None:
    """Runs list newest first, filter by workflow and status, and page with the cursor."""
    async with running_engine(database_url) as engine:
        client = engine.client
        await client.put("/v1/workflows/api-demo", content=FLOW, headers=YAML)
        ids = []
        for n in range(5):
            response = await client.post(
                "/v1/workflows/api-demo/runs",
                params={"wait": 10},
                json={"inputs": {"who": f"p{n}"}},
            )
            ids.append(response.json()["id"])
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"workflow": "api-demo", "status": "succeeded", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/runs", params=params)).json()
            seen.extend(r["id"] for r in page["runs"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        failed = (
            await client.get("/v1/runs", params={"workflow": "api-demo", "status": "failed"})
        ).json()
        bad_cursor = await client.get("/v1/runs", params={"cursor": "garbage"})
        bad_status = await client.get("/v1/runs", params={"status": "sleeping"})
    assert [i for i in seen if i in ids] == list(reversed(ids))
    assert failed["runs"] == []
    assert bad_cursor.status_code == 400
    assert bad_status.status_code == 400


async def test_cancel_and_retry_answer_409_when_not_possible(database_url: str) -> None:
    """A finished run cannot be cancelled; a succeeded one cannot be retried."""
    async with running_engine(database_url) as engine:
        client = engine.client
        await client.put("/v1/workflows/api-demo", content=FLOW, headers=YAML)
        run = (
            await client.post(
                "/v1/workflows/api-demo/runs", params={"wait": 10}, json={"inputs": {"who": "x"}}
            )
        ).json()
        cancel = await client.post(f"/v1/runs/{run['id']}/cancel")
        retry = await client.post(f"/v1/runs/{run['id']}/retry")
    assert cancel.status_code == 409
    assert retry.status_code == 409


async def test_cancel_a_running_run_over_http(database_url: str) -> None:
    """POST /cancel on a running run answers 202 and the run ends cancelled."""
    gated = "name: gated\nsteps: [{id: g, uses: probe.record, with: {key: g, wait_for: shut}}]\n"
    async with running_engine(database_url) as engine:
        client = engine.client
        await client.put("/v1/workflows/gated", content=gated, headers=YAML)
        run = (await client.post("/v1/workflows/gated/runs", json={})).json()
        while engine.probe.count("g") == 0:
            await asyncio.sleep(0.01)
        cancelled = await client.post(f"/v1/runs/{run['id']}/cancel")
        for _ in range(200):
            current = (await client.get(f"/v1/runs/{run['id']}")).json()
            if current["run"]["status"] == "cancelled":
                break
            await asyncio.sleep(0.02)
    assert cancelled.status_code == 202
    assert current["run"]["status"] == "cancelled"
    assert current["steps"][0]["status"] == "cancelled"
    assert "cancel_requested" in [e["kind"] for e in current["events"]]


async def test_connectors_are_listed_and_callable_once(database_url: str) -> None:
    """GET /v1/connectors shows actions with schemas; an action can be called directly."""
    async with running_engine(database_url) as engine:
        client = engine.client
        listed = (await client.get("/v1/connectors")).json()
        echoed = await client.post(
            "/v1/connectors/core/actions/echo", json={"input": {"password": "p", "a": 1}}
        )
        failed = await client.post(
            "/v1/connectors/core/actions/fail",
            json={"input": {"code": "rate_limited", "retry_after_s": 3}},
        )
        bad_input = await client.post(
            "/v1/connectors/core/actions/sleep", json={"input": {"seconds": "x"}}
        )
        unknown = await client.post("/v1/connectors/jira/actions/x", json={"input": {}})
    core = next(c for c in listed["connectors"] if c["name"] == "core")
    assert core["available"]
    assert {a["name"] for a in core["actions"]} == {
        "core.echo",
        "core.sleep",
        "core.fail",
        "core.tally",
        "core.render",
    }
    sleep = next(a for a in core["actions"] if a["name"] == "core.sleep")
    assert sleep["input_schema"]["$defs"]["SleepInput"]["properties"]["seconds"]["maximum"] == 3600
    assert echoed.json() == {"output": {"password": "***", "a": 1}}
    assert failed.status_code == 429
    assert failed.headers["retry-after"] == "3"
    assert failed.json()["code"] == "rate_limited"
    assert failed.json()["retryable"] is True
    assert bad_input.status_code == 422
    assert "seconds" in bad_input.json()["detail"]
    assert unknown.status_code == 404


async def test_start_run_body_mistakes_name_the_field(database_url: str) -> None:
    """An unknown field is named with the fields known (and the one probably meant); a
    wrong type names its field; a value outside a closed set lists the set; a NUL in a
    name is a malformed request (400)."""
    async with running_engine(database_url) as engine:
        client = engine.client
        unknown = await client.post(
            "/v1/workflows/hello-world/runs", json={"inputs": {}, "colour": 1}
        )
        typo = await client.post("/v1/workflows/hello-world/runs", json={"input": {}})
        nested = await client.post(
            "/v1/workflows/hello-world/runs", json={"trigger": {"sorce": "cron"}}
        )
        wrong = await client.post("/v1/workflows/hello-world/runs", json={"inputs": []})
        status = await client.get("/v1/runs", params={"status": "done"})
        nul = await client.get("/v1/workflows/bad%00name")
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [
        {"field": "colour", "message": "is not a known field (known fields: inputs, trigger)"}
    ]
    assert typo.json()["errors"] == [
        {
            "field": "input",
            "message": "is not a known field; did you mean 'inputs'? "
            "(known fields: inputs, trigger)",
        }
    ]
    assert nested.json()["errors"][0]["field"] == "trigger.sorce"
    assert "did you mean 'source'?" in nested.json()["errors"][0]["message"]
    assert wrong.json()["errors"][0]["field"] == "inputs"
    assert status.status_code == 400
    assert status.json()["errors"] == [
        {
            "field": "status",
            "message": "must be one of 'cancelled', 'failed', 'queued', 'running', "
            "'succeeded', 'waiting'; got 'done'",
        }
    ]
    assert nul.status_code == 400


async def test_a_body_that_is_not_json_is_told_to_be_sent_as_json(database_url: str) -> None:
    """YAML (or anything else) sent to an endpoint that takes JSON is a 415 saying so and
    naming the media type it came as; malformed JSON sent as JSON stays a 400, and JSON
    sent without saying so (curl -d) is still read."""
    async with running_engine(database_url) as engine:
        client = engine.client
        yaml = await client.post(
            "/v1/workflows/hello-world/runs",
            content=b"inputs: {}",
            headers={"Content-Type": "application/yaml"},
        )
        broken = await client.post(
            "/v1/workflows/hello-world/runs",
            content=b"{inputs",
            headers={"Content-Type": "application/json"},
        )
        form = await client.post(
            "/v1/workflows/hello-world/runs",
            content=b'{"inputs": {}}',
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        documented = (await client.get("/docs/openapi.json")).json()
    assert yaml.status_code == 415
    assert yaml.headers["content-type"] == "application/problem+json"
    assert yaml.json()["detail"] == (
        "Send the body as application/json (it was sent as application/yaml)."
    )
    assert broken.status_code == 400
    assert broken.json()["detail"].startswith("JSON is malformed")
    assert form.status_code == 201, form.text
    operation = documented["paths"]["/v1/workflows/{name}/runs"]["post"]
    assert "415" in operation["responses"]
    assert "415" not in documented["paths"]["/v1/runs"]["get"]["responses"]


async def test_a_run_records_what_started_it(database_url: str) -> None:
    """A caller may say what started a run (source and details); it is kept for audit,
    a plain start is `api`, and a malformed trigger is refused naming the field."""
    async with running_engine(database_url) as engine:
        client = engine.client
        plain = await client.post("/v1/workflows/hello-world/runs", json={})
        described = await client.post(
            "/v1/workflows/hello-world/runs",
            json={"trigger": {"source": "slack", "details": {"user": "U07MAYA001"}}},
        )
        bad = await client.post(
            "/v1/workflows/hello-world/runs", json={"trigger": {"source": "Not A Source"}}
        )
        read_back = (await client.get(f"/v1/runs/{described.json()['id']}")).json()
    assert plain.json()["trigger"] == {"source": "api"}
    assert read_back["run"]["trigger"] == {"source": "slack", "user": "U07MAYA001"}
    assert bad.status_code in (400, 422)
    assert bad.json()["errors"][0]["field"] == "trigger.source"


async def test_a_burst_of_starts_shares_one_lookup_of_the_latest_version(
    database_url: str,
) -> None:
    """When the cached latest version was dropped (another engine registered one), a
    burst of run starts reads it once, not once per start, and all start."""
    async with running_engine(database_url) as engine:
        service = engine.service
        store = service.store
        lookups: list[str] = []
        real = store.get_workflow_version

        async def counted(name: str, version: int | None = None) -> Any:
            if version is None:
                lookups.append(name)
            return await real(name, version)

        store.get_workflow_version = counted
        try:
            service._forget_latest(None)
            started = await asyncio.gather(
                *(
                    service.start_run(
                        "hello-world", inputs={}, idempotency_key=None, trigger={"source": "t"}
                    )
                    for _ in range(50)
                )
            )
            service._forget_latest("hello-world")
            after = await service.start_run(
                "hello-world", inputs={}, idempotency_key=None, trigger={"source": "t"}
            )
        finally:
            del store.get_workflow_version
    assert lookups == ["hello-world", "hello-world"]
    assert len({run.id for run, _ in started}) == 50
    assert after[0].workflow_version == started[0][0].workflow_version


async def test_the_openapi_document_states_every_shared_answer(database_url: str) -> None:
    """Every /v1 operation documents 401 and 503 as problem documents, those taking input
    document 400, bodies that refuse unknown fields say so, and OPTIONS lists every
    method of a path."""
    async with running_engine(database_url) as engine:
        document = (await engine.client.get("/docs/openapi.json")).json()
        allow = (await engine.client.options("/v1/workflows/x")).headers["allow"]
    assert allow == "GET, OPTIONS, PUT"
    problem = "application/problem+json"
    for path, item in document["paths"].items():
        if not path.startswith("/v1"):
            continue
        for method, operation in item.items():
            responses = operation["responses"]
            for status in ("401", "503"):
                assert problem in responses[status]["content"], (method, path, status)
            if operation.get("parameters") or operation.get("requestBody"):
                assert problem in responses["400"]["content"], (method, path)
            for status, response in responses.items():
                if int(status) >= 400:
                    assert list(response["content"]) == [problem], (method, path, status)
    schemas = document["components"]["schemas"]
    assert schemas["StartRun"]["additionalProperties"] is False
    assert schemas["RunTrigger"]["properties"]["details"]["propertyNames"]["pattern"]


NAPPING = """\
name: napping
inputs:
  seconds: {type: number}
steps:
  - {id: nap, uses: core.sleep, with: {seconds: "{{ inputs.seconds }}"}}
"""


async def test_reading_a_run_can_wait_for_it_to_finish(database_url: str) -> None:
    """GET /v1/runs/{id}?wait= answers once the run has finished, or after the wait with
    the run as it is: a follower waits on the engine instead of polling."""
    async with running_engine(database_url) as engine:
        client = engine.client
        assert (await client.put("/v1/workflows/napping", content=NAPPING, headers=YAML)).is_success
        short = await client.post("/v1/workflows/napping/runs", json={"inputs": {"seconds": 0.5}})
        long = await client.post("/v1/workflows/napping/runs", json={"inputs": {"seconds": 30}})
        started = asyncio.get_running_loop().time()
        finished = await client.get(f"/v1/runs/{short.json()['id']}", params={"wait": 20})
        took = asyncio.get_running_loop().time() - started
        started = asyncio.get_running_loop().time()
        still = await client.get(f"/v1/runs/{long.json()['id']}", params={"wait": 0.3})
        waited = asyncio.get_running_loop().time() - started
        refused = await client.get(f"/v1/runs/{long.json()['id']}", params={"wait": 301})
        await client.post(f"/v1/runs/{long.json()['id']}/cancel")
    assert finished.status_code == 200
    assert finished.json()["run"]["status"] == "succeeded"
    assert took < 15, "answered when the run finished, not at the end of the wait"
    assert still.status_code == 200
    assert still.json()["run"]["status"] == "running"
    assert waited >= 0.3
    assert refused.status_code == 400
    assert "wait" in refused.text
