"""Sub-workflows: a step runs another workflow, durably, visible both ways, cancelled
with its parent, and recursion stopped."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import psycopg

from tests.support.engine import running_engine

CHILD = """
name: child-sum
inputs: {a: {type: integer}, b: {type: integer}}
steps:
  - {id: add, uses: core.echo, with: {sum: "{{ inputs.a + inputs.b }}"}}
output: {sum: "{{ steps.add.output.sum }}"}
"""
CHILD_V2 = CHILD.replace("inputs.a + inputs.b", "inputs.a * inputs.b")
PARENT = """
name: parent-sum
inputs: {version: {type: integer, default: 0}}
steps:
  - id: latest
    uses: workflows.run
    with: {workflow: child-sum, inputs: {a: 2, b: 3}}
  - id: pinned
    uses: workflows.run
    with: {workflow: child-sum, version: 1, inputs: {a: 2, b: 3}}
output:
  latest: "{{ steps.latest.output.output.sum }}"
  pinned: "{{ steps.pinned.output.output.sum }}"
  child: "{{ steps.latest.output.run_id }}"
"""


async def test_a_step_runs_a_workflow_and_gets_its_output(database_url: str) -> None:
    """The child runs as a run of its own (latest or pinned version) and both sides link."""
    async with running_engine(database_url) as engine:
        await engine.register(CHILD)
        await engine.register(CHILD_V2)
        await engine.register(PARENT)
        parent = await engine.run("parent-sum")
        assert parent.status == "succeeded", parent.error
        assert parent.output["latest"] == 6
        assert parent.output["pinned"] == 5
        detail = (await engine.client.get(f"/v1/runs/{parent.id}")).json()
        children = detail["children"]
        assert [(c["workflow"], c["version"]) for c in children] == [
            ("child-sum", 2),
            ("child-sum", 1),
        ]
        assert children[0]["id"] == parent.output["child"]
        child = (await engine.client.get(f"/v1/runs/{children[0]['id']}")).json()["run"]
        assert child["trigger"] == {
            "source": "workflow",
            "parent_run": str(parent.id),
            "parent_step": "latest",
            "depth": 1,
        }
        assert child["links"]["parent"] == f"/v1/runs/{parent.id}"
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            cursor = await conn.execute(
                "SELECT source, parent_run FROM dw.run_triggers WHERE run_id = %s",
                (UUID(child["id"]),),
            )
            assert await cursor.fetchall() == [("workflow", str(parent.id))]


FAILING_CHILD = """
name: child-fails
steps:
  - {id: boom, uses: core.fail, retry: {attempts: 1}, with: {times: 1, retryable: false}}
"""
PARENT_OF_FAILING = """
name: parent-of-failing
steps:
  - {id: call, uses: workflows.run, with: {workflow: child-fails}}
"""


async def test_a_failed_child_fails_the_step_and_is_retried_with_the_parent(
    database_url: str,
) -> None:
    """The parent's step says which child failed where; retrying the parent retries that
    same child (whose step passes the second time), not a new one."""
    async with running_engine(database_url) as engine:
        await engine.register(FAILING_CHILD)
        await engine.register(PARENT_OF_FAILING)
        parent = await engine.run("parent-of-failing")
        assert parent.status == "failed"
        assert "child-fails" in parent.error["message"]
        assert "'boom'" in parent.error["message"]
        children = await engine.service.store.get_child_runs(parent.id)
        assert len(children) == 1
        await engine.service.retry(parent.id)
        again = await engine.service.wait(await engine.service.run(parent.id), 10)
        assert again.status == "succeeded", again.error  # the child's second attempt passes
        after = await engine.service.store.get_child_runs(parent.id)
        assert [c.id for c in after] == [children[0].id]
        events = await engine.service.store.get_run_events(children[0].id)
        assert "retried" in [e.kind for e in events]


SLOW_CHILD = """
name: child-slow
steps:
  - {id: wait, uses: core.sleep, with: {seconds: 30}}
"""
PARENT_OF_SLOW = """
name: parent-of-slow
steps:
  - {id: call, uses: workflows.run, timeout: 2m, with: {workflow: child-slow}}
"""


async def wait_for_child(engine: Any, parent_id: UUID) -> Any:
    for _ in range(200):
        children = await engine.service.store.get_child_runs(parent_id)
        if children and children[0].status == "running":
            return children[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the child did not start")


async def test_cancelling_the_parent_cancels_the_child(database_url: str) -> None:
    """A cancel of the parent reaches the child it is waiting for."""
    async with running_engine(database_url) as engine:
        await engine.register(SLOW_CHILD)
        await engine.register(PARENT_OF_SLOW)
        parent, _ = await engine.service.start_run(
            "parent-of-slow", inputs={}, idempotency_key=None, trigger={"source": "test"}
        )
        child = await wait_for_child(engine, parent.id)
        await engine.service.cancel(parent.id)
        parent = await engine.service.wait(parent, 10)
        child = await engine.service.wait(await engine.service.run(child.id), 10)
    assert parent.status == "cancelled"
    assert child.status == "cancelled"


SELF = """
name: self-caller
steps:
  - {id: again, uses: workflows.run, with: {workflow: self-caller}}
"""
DYNAMIC = """
name: dynamic-caller
inputs: {next: {type: string, default: dynamic-caller}}
steps:
  - {id: again, uses: workflows.run, timeout: 1m, with: {workflow: "{{ inputs.next }}"}}
"""


async def test_recursion_is_refused_at_registration_or_stopped_at_run_time(
    database_url: str,
) -> None:
    """A workflow that visibly starts itself is a 422; one that does it through an
    expression fails at the depth limit with a clear error."""
    async with running_engine(database_url) as engine:
        answer = await engine.client.put(
            "/v1/workflows/self-caller",
            content=SELF,
            headers={"Content-Type": "application/yaml"},
        )
        assert answer.status_code == 422, answer.text
        errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
        assert "recursion would not end" in errors["steps[0].with.workflow"]

        await engine.register(DYNAMIC)
        top = await engine.run("dynamic-caller", wait=60)
        assert top.status == "failed"
        assert "sub-workflow 'dynamic-caller'" in top.error["message"]
        depth = 0
        run_id = top.id
        while True:
            children = await engine.service.store.get_child_runs(run_id)
            if not children:
                break
            depth += 1
            run_id = children[0].id
        last = await engine.service.run(run_id)
    assert depth == 8
    assert "nest at most 8 deep" in last.error["message"]


async def test_callers_cannot_pose_as_a_parent(database_url: str) -> None:
    """A run started over the API cannot claim the engine's sub-workflow trigger."""
    async with running_engine(database_url) as engine:
        answer = await engine.client.post(
            "/v1/workflows/hello-world/runs",
            json={"trigger": {"source": "workflow", "details": {"parent_run": "x"}}},
        )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "trigger.source"
