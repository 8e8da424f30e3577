"""The Task Tracker connector's client against a real `dataworkflows serve tracker` process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import stamina

from dataworkflows.connectors.tasktracker.client import TaskTrackerClient
from dataworkflows.connectors.tasktracker.port import (
    TaskFields,
    TaskQuery,
    TrackerAuthError,
    TrackerConflict,
    TrackerInvalid,
    TrackerStale,
    TrackerUnavailable,
)
from dataworkflows.connectors.tasktracker.service import tasktracker_actions
from dataworkflows.contracts import ActionFailed, ActionRequest
from dataworkflows.runtime.resilience import CircuitBreaker
from tests.support.net import free_port
from tests.support.processes import CliProcess

USER, PASSWORD = "connector", "tracker-password-1234"


class Tracker:
    """A tracker process that a test can restart (a restart forgets tokens and tasks)."""

    def __init__(self, cwd: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._cwd = cwd
        self._process: CliProcess | None = None

    def start(self) -> None:
        env = {"TRACKER_USERNAME": USER, "TRACKER_PASSWORD": PASSWORD, "DW_PORT": str(self.port)}
        self._process = CliProcess("serve", "tracker", env=env, cwd=self._cwd).start()
        self._process.wait_http(f"{self.url}/healthz")

    def stop(self) -> None:
        if self._process is not None:
            assert self._process.stop() == 0
            self._process = None


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    running = Tracker(tmp_path_factory.mktemp("tracker"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_for(tracker: Tracker, http: httpx.AsyncClient, **kwargs: object) -> TaskTrackerClient:
    return TaskTrackerClient(
        base_url=tracker.url,
        username=USER,
        password=PASSWORD,
        http=http,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_crud_round_trip(tracker: Tracker, http: httpx.AsyncClient) -> None:
    """Create, read, replace and delete a task through the client."""
    client = client_for(tracker, http)
    task = await client.create_task(TaskFields(title="Write tests", due_date="2026-12-24"))
    assert task.id.startswith("TT-")
    assert (await client.get_task(task.id)) == task
    updated = await client.update_task(
        task.id, TaskFields(title="Write tests", status="done"), version=task.version
    )
    assert updated.status == "done"
    assert updated.due_date is None  # PUT replaces every writable field
    assert await client.delete_task(task.id) is True
    assert await client.get_task(task.id) is None
    assert await client.delete_task(task.id) is False


async def test_the_token_is_reused_until_shortly_before_it_expires(
    tracker: Tracker, http: httpx.AsyncClient
) -> None:
    """Many calls share one login; once the token is near its expiry the client logs in again."""
    clock = Clock()
    client = client_for(tracker, http, clock=clock)
    for _ in range(5):
        await client.list_tasks(TaskQuery(limit=1))
    assert client.logins == 1
    clock.now += 3600 - 29  # within the refresh margin of the hour-long token
    await client.list_tasks(TaskQuery(limit=1))
    assert client.logins == 2


async def test_a_refused_token_is_replaced_once(tracker: Tracker, http: httpx.AsyncClient) -> None:
    """After the tracker restarts (its old tokens are void) the client logs in again, once."""
    client = client_for(tracker, http)
    await client.list_tasks(TaskQuery(limit=1))
    tracker.stop()
    tracker.start()
    page = await client.list_tasks(TaskQuery(limit=1))
    assert page.total >= 0
    assert client.logins == 2


async def test_wrong_credentials_are_an_auth_error_without_the_password(
    tracker: Tracker, http: httpx.AsyncClient
) -> None:
    """A wrong password is auth_failed, not retried, and never echoed."""
    client = TaskTrackerClient(
        base_url=tracker.url, username=USER, password="wrong-password-xyz", http=http
    )
    with pytest.raises(ActionFailed) as caught:
        await tasktracker_actions(client).invoke("list_tasks", ActionRequest(input={}))
    assert caught.value.error.code == "auth_failed"
    assert not caught.value.error.retryable
    assert "wrong-password-xyz" not in caught.value.error.message
    with pytest.raises(TrackerAuthError, match="TRACKER_USERNAME/TRACKER_PASSWORD"):
        await client.get_task("TT-1")
    assert client.logins == 0


async def test_validation_conflict_and_stale_errors(
    tracker: Tracker, http: httpx.AsyncClient
) -> None:
    """422 names the field, 409 on a taken external_ref, 412 on a stale version."""
    client = client_for(tracker, http)
    with pytest.raises(TrackerInvalid) as invalid:
        await client.create_task(TaskFields(title="x", due_date="2026-02-30"))
    assert "due_date" in invalid.value.fields
    first = await client.create_task(TaskFields(title="one", external_ref="ref-contract-1"))
    with pytest.raises(TrackerConflict):
        await client.create_task(TaskFields(title="two", external_ref="ref-contract-1"))
    await client.update_task(first.id, TaskFields(title="one again", external_ref="ref-contract-1"))
    with pytest.raises(TrackerStale):
        await client.update_task(first.id, TaskFields(title="late"), version=first.version)


async def test_an_unreachable_tracker_is_retryable(http: httpx.AsyncClient) -> None:
    """Nobody listening: upstream_unavailable, marked retryable for the engine."""
    client = TaskTrackerClient(
        base_url=f"http://127.0.0.1:{free_port()}", username=USER, password=PASSWORD, http=http
    )
    with pytest.raises(TrackerUnavailable):
        await client.list_tasks(TaskQuery())
    with pytest.raises(ActionFailed) as caught:
        await tasktracker_actions(client).invoke("list_tasks", ActionRequest(input={}))
    assert caught.value.error.code == "upstream_unavailable"
    assert caught.value.error.retryable


async def test_concurrent_upserts_of_one_ref_make_one_task(
    tracker: Tracker, http: httpx.AsyncClient
) -> None:
    """Ten upserts racing on one external_ref leave exactly one task."""
    actions = tasktracker_actions(client_for(tracker, http))
    results = await asyncio.gather(
        *(
            actions.invoke(
                "upsert_task",
                ActionRequest(
                    input={"external_ref": "race-ref", "title": "Same", "status": "todo"}
                ),
            )
            for _ in range(10)
        )
    )
    outcomes = sorted(r["outcome"] for r in results)
    assert outcomes.count("created") == 1
    assert {r["task"]["id"] for r in results} == {results[0]["task"]["id"]}
    listed = await actions.invoke("list_tasks", ActionRequest(input={"external_ref": "race-ref"}))
    assert listed["count"] == 1


async def test_a_tracker_that_comes_back_is_reached_by_retrying(
    tracker: Tracker, http: httpx.AsyncClient
) -> None:
    """While the tracker is down the client backs off and retries; once it is back, the call works."""
    tracker.stop()
    stamina.set_testing(False)
    try:
        # Twenty attempts outlast the breaker's five consecutive failures: let it
        # tolerate them, so that this test is about the retries alone.
        breaker = CircuitBreaker("the task tracker", failure_threshold=100)
        client = client_for(tracker, http, attempts=20, breaker=breaker)
        call = asyncio.create_task(client.create_task(TaskFields(title="Written after the outage")))
        await asyncio.sleep(0.3)
        assert not call.done()  # still retrying against a closed port
        await asyncio.to_thread(tracker.start)
        created = await asyncio.wait_for(call, timeout=30)
    finally:
        stamina.set_testing(True)
        if not await _answers(http, tracker.url):  # leave it running for the other tests
            tracker.stop()
            tracker.start()
    assert created.title == "Written after the outage"
    assert client.logins == 1


async def _answers(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(f"{url}/healthz")).status_code == 200
    except httpx.TransportError:
        return False
