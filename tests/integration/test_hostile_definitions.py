"""Definitions, templates and bodies from an attacker with a valid API key cannot stall
or crash the engine: each attack fails fast with a clear problem, and while a hostile
expression burns its worker process the engine's other runs, probes and cancels go on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.support.engine import Harness, running_engine

YAML = {"Content-Type": "application/yaml"}
TEXT = {"Content-Type": "text/plain"}
# A billion turns of a loop that writes nothing: all time, no memory.
NESTED_LOOPS = (
    "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
ALIAS_BOMB = 'a0: &a0 ["lol"]\n' + "".join(
    f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 8)
)


def workflow(name: str, value: str, *, timeout: str = "2s") -> str:
    """A one-step workflow whose step's `with:` holds ``value``."""
    return (
        f"name: {name}\n"
        "steps:\n"
        "  - id: hostile\n"
        "    uses: core.echo\n"
        f"    timeout: {timeout}\n"
        f"    with: {{text: {value!r}}}\n"
    )


async def register(engine: Harness, source: str, name: str) -> httpx.Response:
    return await engine.client.put(f"/v1/workflows/{name}", content=source, headers=YAML)


async def start(engine: Harness, name: str, inputs: dict[str, Any] | None = None) -> str:
    started = await engine.client.post(f"/v1/workflows/{name}/runs", json={"inputs": inputs or {}})
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


async def finished(engine: Harness, run_id: str, *, within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        run: dict[str, Any] = (await engine.client.get(f"/v1/runs/{run_id}")).json()["run"]
        if run["status"] not in ("queued", "running"):
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish within {within} s")


async def test_a_runaway_expression_fails_its_step_while_the_engine_stays_responsive(
    database_url: str,
) -> None:
    """Three nested loops in `with:` fail the step at its 2 s timeout with a
    non-retryable expression_limit naming the step; meanwhile /healthz answers within
    100 ms and another run completes."""
    async with running_engine(database_url) as engine:
        assert (await register(engine, workflow("loops", NESTED_LOOPS), "loops")).status_code == 201
        simple = workflow("simple", "{{ 'quick' | upper }}")
        assert (await register(engine, simple, "simple")).status_code == 201
        started = time.monotonic()
        hostile = await start(engine, "loops")
        await asyncio.sleep(0.3)  # the worker is busy with the loops now
        probes = []
        for _ in range(5):
            asked = time.perf_counter()
            assert (await engine.client.get("/healthz")).status_code == 200
            probes.append(time.perf_counter() - asked)
        other = await finished(engine, await start(engine, "simple"), within=10)
        run = await finished(engine, hostile, within=15)
        took = time.monotonic() - started
    assert max(probes) < 0.1, probes
    assert other["status"] == "succeeded"
    assert other["output"] is None or other["status"] == "succeeded"
    assert run["status"] == "failed"
    assert run["error"]["code"] == "expression_limit"
    assert run["error"]["step"] == "hostile"
    assert "took longer than 2 s" in run["error"]["message"]
    assert took < 10, "the step's timeout bounds the evaluation"


async def test_a_memory_bomb_in_an_expression_fails_its_step(database_url: str) -> None:
    """`'x' | center(10**9)` asks for a gigabyte: the step fails naming the memory limit,
    and the engine goes on."""
    async with running_engine(database_url) as engine:
        bomb = workflow("bomb", "{{ 'x' | center(1000000000) }}", timeout="30s")
        assert (await register(engine, bomb, "bomb")).status_code == 201
        run = await finished(engine, await start(engine, "bomb"), within=30)
        assert (await engine.client.get("/healthz")).status_code == 200
    assert run["status"] == "failed"
    assert run["error"]["code"] == "expression_limit"
    assert "memory" in run["error"]["message"]


async def test_cancel_stops_a_run_evaluating_a_runaway_expression(database_url: str) -> None:
    """A cancel takes effect while the expression runs: the run is cancelled at once,
    not when the evaluation would have ended."""
    async with running_engine(database_url) as engine:
        loops = workflow("long-loops", NESTED_LOOPS, timeout="60s")
        assert (await register(engine, loops, "long-loops")).status_code == 201
        run_id = await start(engine, "long-loops")
        await asyncio.sleep(0.5)
        asked = time.monotonic()
        cancelled = await engine.client.post(f"/v1/runs/{run_id}/cancel")
        assert cancelled.status_code in (200, 202), cancelled.text
        run = await finished(engine, run_id, within=10)
        took = time.monotonic() - asked
    assert run["status"] == "cancelled"
    assert took < 5


async def test_a_yaml_alias_bomb_is_refused_fast(database_url: str) -> None:
    """A 400-byte document whose aliases expand to millions of values is a 422 naming
    the limit, answered in well under a second, and nothing is stored."""
    async with running_engine(database_url) as engine:
        asked = time.perf_counter()
        response = await register(
            engine, "name: alias-bomb\nsteps: []\n" + ALIAS_BOMB, "alias-bomb"
        )
        took = time.perf_counter() - asked
        listed = (await engine.client.get("/v1/workflows")).json()["workflows"]
    assert response.status_code == 422, response.text
    assert "expands to more than 50,000 values" in response.text
    assert took < 0.5, took
    assert "alias-bomb" not in [w["name"] for w in listed]


async def test_aliases_to_themselves_and_deep_documents_are_refused(database_url: str) -> None:
    """A recursive alias and a document nested 100 deep are 422s naming the problem."""
    async with running_engine(database_url) as engine:
        recursive = await register(engine, "name: loop\nsteps: &s [*s]\n", "loop")
        deep = await register(engine, "name: deep\nsteps: " + "[" * 100 + "]" * 100 + "\n", "deep")
        deep_json = await engine.client.put(
            "/v1/workflows/deep",
            content='{"name": "deep", "steps": ' + "[" * 3000 + "]" * 3000 + "}",
            headers={"Content-Type": "application/json"},
        )
    assert recursive.status_code == 422
    assert "refers to a value that contains it" in recursive.text
    assert deep.status_code == 422
    assert "nests deeper than 32 levels" in deep.text
    assert deep_json.status_code in (400, 422), deep_json.text


async def test_deeply_nested_expressions_are_a_422_naming_the_field(database_url: str) -> None:
    """`((((1))))` 70 deep, `[[...]]` 100 deep and a thousand `+` are refused at
    registration with the step's field, never a 500."""
    cases = {
        "parens": "{{ " + "(" * 70 + "1" + ")" * 70 + " }}",
        "brackets": "{{ " + "[" * 100 + "]" * 100 + " }}",
        "sum": "{{ " + "+".join(["1"] * 1000) + " }}",
    }
    async with running_engine(database_url) as engine:
        answers = {
            name: await register(engine, workflow(name, value), name)
            for name, value in cases.items()
        }
    for name, response in answers.items():
        assert response.status_code == 422, (name, response.text)
        fields = [e["field"] for e in response.json()["errors"]]
        assert fields == ["steps[0].with.text"], (name, fields)
        assert "too complex" in response.text, name


async def test_hostile_templates_are_refused_or_bounded(database_url: str) -> None:
    """Templates: an empty body and deep nesting are 422s; a runaway template is a 422
    from the preview within the time limit, and the engine answers meanwhile."""
    async with running_engine(database_url) as engine:
        client = engine.client
        empty = await client.put("/v1/templates/empty.md", content=b"", headers=TEXT)
        deep = await client.put(
            "/v1/templates/deep.md", content="{{ " + "(" * 70 + "1" + ")" * 70 + " }}", headers=TEXT
        )
        blocks = await client.put(
            "/v1/templates/blocks.md",
            content="{% if a %}" * 40 + "x" + "{% endif %}" * 40,
            headers=TEXT,
        )
        loops = await client.put("/v1/templates/loops.md", content=NESTED_LOOPS, headers=TEXT)
        assert loops.status_code == 201, loops.text
        asked = time.monotonic()
        preview = asyncio.ensure_future(client.post("/v1/templates/loops.md/render", json={}))
        await asyncio.sleep(0.3)
        health = time.perf_counter()
        assert (await client.get("/healthz")).status_code == 200
        health = time.perf_counter() - health
        rendered = await preview
        took = time.monotonic() - asked
    assert empty.status_code == 422
    assert empty.json()["errors"] == [{"field": "source", "message": "is empty"}]
    assert deep.status_code == 422
    assert "too complex" in deep.text
    assert blocks.status_code == 422
    assert "blocks nest deeper than 16 levels" in blocks.text
    assert rendered.status_code == 422, rendered.text
    assert "took longer than" in rendered.text
    assert took < 10
    assert health < 0.1


async def test_deeply_nested_run_inputs_are_a_422(database_url: str) -> None:
    """Inputs nested deeper than 32 levels (or thousands deep) are refused with a 422."""
    async with running_engine(database_url) as engine:
        source = (
            "name: takes-list\ninputs: {x: {type: list}}\nsteps:\n  - {id: a, uses: core.echo}\n"
        )
        assert (await register(engine, source, "takes-list")).status_code == 201
        nested: Any = []
        for _ in range(40):
            nested = [nested]
        deep = await engine.client.post(
            "/v1/workflows/takes-list/runs", json={"inputs": {"x": nested}}
        )
        abyss = await engine.client.post(
            "/v1/workflows/takes-list/runs",
            content='{"inputs": {"x": ' + "[" * 5000 + "]" * 5000 + "}}",
            headers={"Content-Type": "application/json"},
        )
    assert deep.status_code == 422
    assert deep.json()["errors"][0]["field"] == "inputs"
    assert "nests deeper than 32 levels" in deep.text
    assert abyss.status_code in (400, 422), abyss.text
