"""The durable executor against a real PostgreSQL: what runs, when, how often, recorded how."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from dataworkflows.engine.executor import EngineConfig
from tests.support.engine import SECRET, ProbeLog, running_engine


async def test_three_steps_are_recorded_with_timings(database_url: str) -> None:
    """Each step of a 3-step run has one succeeded attempt with ordered timestamps."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: three-steps
inputs: {board: {type: string}}
steps:
  - {id: read, uses: probe.record, with: {key: "read-{{ inputs.board }}", payload: [1, 2, 3]}}
  - {id: count, uses: core.echo, with: {n: "{{ steps.read.output.payload | length }}"}}
  - {id: write, uses: probe.record, with: {key: "write-{{ inputs.board }}", payload: "{{ steps.count.output.n }}"}}
output: {written: "{{ steps.write.output.payload }}"}
"""
        )
        run = await engine.run("three-steps", {"board": "b1"})
        attempts = await engine.attempts(run.id)
    assert run.status == "succeeded"
    assert run.output == {"written": 3}
    assert run.started_at is not None
    assert run.finished_at is not None
    assert run.created_at <= run.started_at <= run.finished_at
    assert [(a.step_id, a.attempt, a.status) for a in attempts] == [
        ("read", 1, "succeeded"),
        ("count", 1, "succeeded"),
        ("write", 1, "succeeded"),
    ]
    assert [a.action for a in attempts] == ["probe.record", "core.echo", "probe.record"]
    for a in attempts:
        assert a.finished_at is not None
        assert a.queued_at <= a.started_at <= a.finished_at
    # Each step starts only after the previous one's result was recorded.
    for before, after in itertools.pairwise(attempts):
        assert before.finished_at is not None
        assert before.finished_at <= after.started_at
    assert attempts[1].input == {"n": 3}  # a native int, not the text "3"
    assert attempts[2].output["payload"] == 3


async def test_if_false_skips_the_step_and_the_run_goes_on(database_url: str) -> None:
    """A step whose `if` is false is recorded as skipped and is not called."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: conditional
inputs: {go: {type: boolean}}
steps:
  - {id: maybe, uses: probe.record, if: inputs.go, with: {key: maybe}}
  - {id: always, uses: probe.record, with: {key: always}}
output: {skipped: "{{ steps.maybe.status == 'skipped' }}"}
"""
        )
        run = await engine.run("conditional", {"go": False})
        attempts = await engine.attempts(run.id)
        assert engine.probe.count("maybe") == 0
        assert engine.probe.count("always") == 1
    assert run.status == "succeeded"
    assert run.output == {"skipped": True}
    assert [(a.step_id, a.status) for a in attempts] == [
        ("maybe", "skipped"),
        ("always", "succeeded"),
    ]


async def test_foreach_runs_each_item_once_within_concurrency(database_url: str) -> None:
    """foreach calls the action once per item and never more than `concurrency` at once."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: fan-out
inputs: {items: {type: list}}
steps:
  - id: each
    uses: probe.record
    foreach: "{{ inputs.items }}"
    concurrency: 3
    with: {key: "item-{{ index }}", group: fan, seconds: 0.02, payload: "{{ item * 10 }}"}
  - {id: total, uses: core.echo, with: {sum: "{{ steps.each.output | map(attribute='payload') | sum }}"}}
output: "{{ steps.total.output.sum }}"
"""
        )
        run = await engine.run("fan-out", {"items": list(range(12))})
        attempts = await engine.attempts(run.id)
        probe = engine.probe
    assert run.status == "succeeded"
    assert run.output == sum(i * 10 for i in range(12))
    assert sorted(c.key for c in probe.calls) == sorted(f"item-{i}" for i in range(12))
    assert probe.peak_by_group["fan"] == 3
    items = [a for a in attempts if a.step_id == "each" and a.iteration >= 0]
    assert sorted(a.iteration for a in items) == list(range(12))
    summary = [a for a in attempts if a.step_id == "each" and a.iteration == -1]
    assert len(summary) == 1
    assert summary[0].aggregate
    assert summary[0].output == [
        {"key": f"item-{i}", "payload": i * 10, "attempt": 1} for i in range(12)
    ]


async def test_retries_follow_the_policy_and_its_delays(database_url: str) -> None:
    """A retryable failure is retried `attempts` times with exponential, jittered delays."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: flaky
steps:
  - id: call
    uses: core.fail
    with: {code: upstream_unavailable, times: 3}
    retry: {attempts: 4, initial_delay: 1s, max_delay: 3s, jitter: 200ms}
"""
        )
        run = await engine.run("flaky")
        attempts = await engine.attempts(run.id)
        sleeps = engine.sleeps
    assert run.status == "succeeded"
    assert [(a.attempt, a.status) for a in attempts] == [
        (1, "failed"),
        (2, "failed"),
        (3, "failed"),
        (4, "succeeded"),
    ]
    # jitter is fixed at 0.5 of 200 ms; backoff 1 s, 2 s, then capped at 3 s.
    assert sleeps == pytest.approx([1.1, 2.1, 3.1])
    assert attempts[0].error is not None
    assert attempts[0].error["code"] == "upstream_unavailable"


async def test_retry_after_is_the_minimum_delay(database_url: str) -> None:
    """A connector's retry_after_s wins over a shorter backoff."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: throttled
steps:
  - id: call
    uses: core.fail
    with: {code: rate_limited, times: 1, retry_after_s: 7}
    retry: {attempts: 2, initial_delay: 100ms, jitter: 0}
"""
        )
        run = await engine.run("throttled")
        assert engine.sleeps == [7.0]
    assert run.status == "succeeded"


async def test_errors_that_are_not_retryable_fail_at_once(database_url: str) -> None:
    """invalid_input is not retried, whatever the policy, and fails the run."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: refused
steps:
  - {id: call, uses: probe.refuse, retry: {attempts: 5}}
  - {id: never, uses: probe.record, with: {key: never}}
"""
        )
        run = await engine.run("refused")
        attempts = await engine.attempts(run.id)
        assert engine.sleeps == []
        assert engine.probe.count("never") == 0
    assert run.status == "failed"
    assert run.error is not None
    assert run.error["code"] == "invalid_input"
    assert run.error["step"] == "call"
    assert len(attempts) == 1


async def test_retries_exhausted_fail_the_run(database_url: str) -> None:
    """When every attempt fails, the run fails with the last error."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: hopeless
steps:
  - {id: call, uses: core.fail, with: {message: still down}, retry: {attempts: 3, jitter: 0}}
"""
        )
        run = await engine.run("hopeless")
        assert len(engine.sleeps) == 2
    assert run.status == "failed"
    assert run.error is not None
    assert run.error["message"] == "still down"


async def test_on_error_continue_records_the_failure_and_goes_on(database_url: str) -> None:
    """A failing step with on_error: continue does not stop the run; its error is visible."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: tolerant
steps:
  - {id: shaky, uses: probe.refuse, on_error: continue}
  - id: after
    uses: core.echo
    with: {status: "{{ steps.shaky.status }}", code: "{{ steps.shaky.error.code }}"}
"""
        )
        run = await engine.run("tolerant")
        attempts = await engine.attempts(run.id)
    assert run.status == "succeeded"
    assert attempts[-1].output == {"status": "failed", "code": "invalid_input"}


async def test_foreach_continue_collects_item_failures(database_url: str) -> None:
    """With on_error: continue, failed items are listed and the others still run."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: partial
steps:
  - id: each
    uses: core.fail
    foreach: [0, 2, 0, 2]
    on_error: continue
    retry: {attempts: 1}
    with: {code: invalid_input, times: "{{ item }}", retryable: false}
  - {id: report, uses: core.echo, with: {failed: "{{ steps.each.errors | map(attribute='index') | list }}"}}
"""
        )
        run = await engine.run("partial")
        attempts = await engine.attempts(run.id)
    assert run.status == "succeeded"
    assert attempts[-1].output == {"failed": [1, 3]}


async def test_step_timeout_is_enforced(database_url: str) -> None:
    """An attempt that outlives its timeout is abandoned and counts as a failure."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: slow
steps:
  - {id: call, uses: core.sleep, with: {seconds: 5}, timeout: 50ms, retry: {attempts: 2, jitter: 0}}
"""
        )
        run = await engine.run("slow")
        attempts = await engine.attempts(run.id)
    assert run.status == "failed"
    assert [a.status for a in attempts] == ["failed", "failed"]
    assert attempts[0].error is not None
    assert "timeout" in attempts[0].error["message"]


async def test_run_deadline_stops_the_run(database_url: str) -> None:
    """A run still going at its deadline fails with deadline_exceeded, mid-step."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: overdue
timeout: 200ms
steps:
  - {id: long, uses: core.sleep, with: {seconds: 10}}
"""
        )
        run = await engine.run("overdue", wait=5)
        attempts = await engine.attempts(run.id)
    assert run.status == "failed"
    assert run.error is not None
    assert run.error["code"] == "deadline_exceeded"
    assert [(a.step_id, a.status) for a in attempts] == [("long", "failed")]


async def test_cancel_stops_between_steps_and_marks_in_flight_cancelled(database_url: str) -> None:
    """Cancelling a running run ends it as cancelled; the step in flight is marked cancelled."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: cancellable
steps:
  - {id: first, uses: probe.record, with: {key: first}}
  - {id: blocked, uses: probe.record, with: {key: blocked, wait_for: never-opened}}
  - {id: last, uses: probe.record, with: {key: last}}
"""
        )
        run, _ = await engine.service.start_run(
            "cancellable", inputs={}, idempotency_key=None, trigger={}
        )
        while engine.probe.count("blocked") == 0:
            await asyncio.sleep(0.01)
        await engine.service.cancel(run.id)
        final = await engine.service.wait(run, 5)
        attempts = await engine.attempts(run.id)
        assert engine.probe.count("last") == 0
    assert final.status == "cancelled"
    assert [(a.step_id, a.status) for a in attempts] == [
        ("first", "succeeded"),
        ("blocked", "cancelled"),
    ]


async def test_retry_resumes_at_the_failed_step_reusing_results(database_url: str) -> None:
    """Retrying a failed run skips the steps that succeeded and re-runs the failed one."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: resumable
steps:
  - {id: done, uses: probe.record, with: {key: done-once, payload: kept}}
  - {id: flaky, uses: core.fail, with: {times: 1}, retry: {attempts: 1}}
  - {id: after, uses: core.echo, with: {from_first: "{{ steps.done.output.payload }}"}}
"""
        )
        run = await engine.run("resumable")
        assert run.status == "failed"
        queued = await engine.service.retry(run.id)
        assert queued.status == "queued"
        retried = await engine.service.wait(queued, 10)
        attempts = await engine.attempts(run.id)
        assert engine.probe.count("done-once") == 1
    assert retried.status == "succeeded"
    assert [(a.step_id, a.attempt, a.status) for a in attempts] == [
        ("done", 1, "succeeded"),
        ("flaky", 1, "failed"),
        ("flaky", 2, "succeeded"),
        ("after", 1, "succeeded"),
    ]
    assert attempts[-1].output == {"from_first": "kept"}


async def test_write_steps_get_a_stable_idempotency_key(database_url: str) -> None:
    """Every attempt of a step gets the same key, derived from run, step and iteration."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: keyed
steps:
  - {id: w, uses: probe.record, foreach: [a, b], with: {key: "w-{{ item }}"}}
"""
        )
        run = await engine.run("keyed")
        keys = sorted(c.idempotency_key or "" for c in engine.probe.calls)
    assert keys == [f"{run.id}:w:0", f"{run.id}:w:1"]


async def test_secrets_are_masked_in_recorded_inputs_and_outputs(database_url: str) -> None:
    """Secret-named fields and configured secret values are recorded as ***."""
    async with running_engine(database_url) as engine:
        await engine.register(
            f"""
name: secretive
steps:
  - id: call
    uses: core.echo
    with:
      api_token: abc123
      headers: {{Authorization: "Bearer xyz"}}
      note: "uses {SECRET} inside"
      board: "42"
output: "{{{{ steps.call.output }}}}"
"""
        )
        run = await engine.run("secretive")
        attempts = await engine.attempts(run.id)
    recorded = attempts[0]
    expected = {
        "api_token": "***",
        "headers": {"Authorization": "***"},
        "note": "uses *** inside",
        "board": "42",
    }
    assert recorded.input == expected
    assert recorded.output == expected
    assert run.output == expected


async def test_many_runs_at_once_in_one_engine(database_url: str) -> None:
    """One engine runs 1,000 runs concurrently (each waits on a gate) and finishes them all."""
    probe = ProbeLog()
    config = EngineConfig(max_runs=1000, lease_seconds=10.0, claim_interval_s=0.05)
    async with running_engine(database_url, config=config, probe=probe) as engine:
        await engine.register(
            """
name: crowd
inputs: {n: {type: integer}}
steps:
  - {id: hold, uses: probe.record, with: {key: "hold-{{ inputs.n }}", group: crowd, wait_for: crowd}}
"""
        )
        runs = []
        for n in range(1000):
            run, _ = await engine.service.start_run(
                "crowd", inputs={"n": n}, idempotency_key=None, trigger={}
            )
            runs.append(run)
        while probe.running["group:crowd"] < 1000:
            await asyncio.sleep(0.05)
        assert engine.executor.running == 1000
        probe.gates["crowd"].set()
        finished = [await engine.service.wait(r, 30) for r in runs]
    assert {r.status for r in finished} == {"succeeded"}
    assert probe.peak_by_group["crowd"] == 1000


async def test_an_expression_failing_at_run_time_fails_the_step_clearly(database_url: str) -> None:
    """An expression that cannot be evaluated fails its step with expression_error, no call made."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: bad-data
inputs: {record: {type: object}}
steps:
  - {id: use, uses: probe.record, with: {key: "{{ inputs.record.missing_field }}"}}
"""
        )
        run = await engine.run("bad-data", {"record": {"present": 1}})
        attempts = await engine.attempts(run.id)
        assert engine.probe.calls == []
    assert run.status == "failed"
    assert run.error is not None
    assert run.error["code"] == "expression_error"
    assert "missing_field" in run.error["message"]
    assert [(a.step_id, a.status) for a in attempts] == [("use", "failed")]


async def test_foreach_items_stop_when_the_run_is_taken_over(database_url: str) -> None:
    """Once another engine owns the run, items not yet started are never called."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: many-items
steps:
  - id: each
    uses: probe.record
    foreach: "{{ range(20) | list }}"
    concurrency: 2
    with: {key: "item-{{ index }}", wait_for: "gate-{{ index }}"}
"""
        )
        run, _ = await engine.service.start_run(
            "many-items", inputs={}, idempotency_key=None, trigger={}
        )
        while len(engine.probe.calls) < 2:
            await asyncio.sleep(0.01)
        # Another engine took the run over (as after a lease expiry).
        async with engine.service.store._pool.connection() as conn:
            await conn.execute("SELECT * FROM dw.heartbeat_engine_v1('usurper', 60, 'h', 1, 'v')")
            await conn.execute("UPDATE dw.runs SET owner = 'usurper' WHERE id = %s", (run.id,))
        for n in range(2):
            engine.probe.gates.setdefault(f"gate-{n}", asyncio.Event()).set()
        while engine.executor.is_local(run.id):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        calls = len(engine.probe.calls)
    assert calls == 2, f"{calls} items were called after the run was lost"


async def test_a_step_whose_output_was_masked_runs_again_on_retry(database_url: str) -> None:
    """Masked output cannot stand in for the real one: a retried run re-executes that step."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: token-passing
steps:
  - {id: login, uses: probe.record, with: {key: login, payload: {access_token: real-token-value}}}
  - {id: flaky, uses: core.fail, with: {times: 1}, retry: {attempts: 1}}
  - {id: use, uses: probe.record, with: {key: use, payload: "{{ steps.login.output.payload.access_token }}"}}
"""
        )
        run = await engine.run("token-passing")
        assert run.status == "failed"
        attempts = await engine.attempts(run.id)
        assert attempts[0].output["payload"] == {"access_token": "***"}
        assert attempts[0].redacted
        retried = await engine.service.wait(await engine.service.retry(run.id), 10)
        used = [c for c in engine.probe.calls if c.key == "use"]
        assert engine.probe.count("login") == 2
    assert retried.status == "succeeded"
    assert len(used) == 1


async def test_an_engine_recorded_failure_is_not_reused_on_retry(database_url: str) -> None:
    """A step cut off by the deadline is run again on retry, even with on_error: continue."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: cut-off
timeout: 300ms
steps:
  - {id: slow, uses: probe.record, on_error: continue, with: {key: slow, wait_for: never}}
"""
        )
        run = await engine.run("cut-off", wait=5)
        assert run.status == "failed"
        engine.probe.gates.setdefault("never", asyncio.Event()).set()
        retried = await engine.service.wait(await engine.service.retry(run.id), 10)
        slow_calls = engine.probe.count("slow")
    assert slow_calls == 2
    assert retried.status == "succeeded"


async def test_nul_characters_in_data_do_not_break_a_run(database_url: str) -> None:
    """Inputs and outputs holding NUL characters are recorded (as U+FFFD) and the run succeeds."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: nul-data
inputs: {text: {type: string}}
steps:
  - {id: echo, uses: core.echo, with: {text: "{{ inputs.text }}"}}
output: "{{ steps.echo.output.text }}"
"""
        )
        run = await engine.run("nul-data", {"text": "a\x00b"})
        attempts = await engine.attempts(run.id)
    assert run.status == "succeeded"
    assert attempts[0].output == {"text": "a\ufffdb"}


async def test_steps_that_do_not_need_each_other_run_at_the_same_time(database_url: str) -> None:
    """Independent steps overlap; a step with needs starts only after all of them ended."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: gather
steps:
  - {id: monday, uses: probe.record, needs: [], with: {key: monday, group: g, wait_for: go}}
  - {id: tracker, uses: probe.record, needs: [], with: {key: tracker, group: g, wait_for: go}}
  - {id: slack, uses: probe.record, needs: [], with: {key: slack, group: g, wait_for: go}}
  - id: report
    uses: core.echo
    needs: [monday, tracker, slack]
    with: {keys: "{{ [steps.monday.output.key, steps.tracker.output.key, steps.slack.output.key] }}"}
output: "{{ steps.report.output['keys'] }}"
"""
        )
        run_task = asyncio.create_task(engine.run("gather"))
        # All three are in flight together before any is let go.
        for _ in range(200):
            if engine.probe.peak_by_group["g"] == 3:
                break
            await asyncio.sleep(0.01)
        assert engine.probe.peak_by_group["g"] == 3
        engine.probe.gates.setdefault("go", asyncio.Event()).set()
        run = await run_task
        attempts = {a.step_id: a for a in await engine.attempts(run.id)}
    assert run.status == "succeeded"
    assert run.output == ["monday", "tracker", "slack"]
    last_gathered = max(attempts[s].finished_at for s in ("monday", "tracker", "slack"))
    assert attempts["report"].started_at >= last_gathered


async def test_a_failed_step_in_a_graph_fails_the_run_and_retry_reuses_the_rest(
    database_url: str,
) -> None:
    """A failing branch fails the run, a running sibling still finishes, and retry resumes."""
    async with running_engine(database_url) as engine:
        await engine.register(
            """
name: branches
steps:
  - {id: slow, uses: probe.record, needs: [], with: {key: slow, seconds: 0.2}}
  - {id: broken, uses: core.fail, needs: [], retry: {attempts: 1}, with: {times: 1, retryable: false}}
  - {id: after, uses: probe.record, needs: [slow, broken], with: {key: after}}
"""
        )
        run = await engine.run("branches")
        assert run.status == "failed"
        assert run.error is not None
        assert run.error["step"] == "broken"
        assert engine.probe.count("slow") == 1
        assert engine.probe.count("after") == 0
        retried = await engine.parts.service.retry(run.id)
        finished = await engine.parts.service.wait(retried, 10)
        assert finished.status == "succeeded"
        assert engine.probe.count("slow") == 1, "the finished sibling is reused, not re-run"
        assert engine.probe.count("after") == 1
