"""The Task Tracker connector's actions over a fake port: upsert, updates, errors."""

from __future__ import annotations

from typing import Any

import pytest

from dataworkflows.connectors.tasktracker.fake import FakeTaskTracker
from dataworkflows.connectors.tasktracker.port import (
    TaskFields,
    TrackerAuthError,
    TrackerConflict,
    TrackerError,
    TrackerInvalid,
    TrackerUnavailable,
)
from dataworkflows.connectors.tasktracker.service import tasktracker_actions
from dataworkflows.contracts import ActionFailed, ActionRequest


async def call(tracker: FakeTaskTracker, action: str, **payload: Any) -> dict[str, Any]:
    return await tasktracker_actions(tracker).invoke(action, ActionRequest(input=payload))


async def test_upsert_creates_then_leaves_unchanged_then_updates() -> None:
    """The same external_ref gives one task: created, unchanged when equal, updated on change."""
    tracker = FakeTaskTracker()
    first = await call(tracker, "upsert_task", external_ref="monday:1", title="A", status="todo")
    again = await call(tracker, "upsert_task", external_ref="monday:1", title="A", status="todo")
    changed = await call(tracker, "upsert_task", external_ref="monday:1", title="A", status="done")
    assert [first["outcome"], again["outcome"], changed["outcome"]] == [
        "created",
        "unchanged",
        "updated",
    ]
    assert len(tracker.tasks) == 1
    assert changed["task"]["status"] == "done"


async def test_upsert_keeps_fields_it_was_not_given() -> None:
    """Fields an upsert leaves unset keep their values in the tracker."""
    tracker = FakeTaskTracker()
    await call(
        tracker, "upsert_task", external_ref="r", title="A", assignee="Ada", due_date="2026-12-01"
    )
    out = await call(tracker, "upsert_task", external_ref="r", title="B")
    assert out["task"]["assignee"] == "Ada"
    assert out["task"]["due_date"] == "2026-12-01"
    assert out["task"]["title"] == "B"


async def test_upsert_racing_another_creator_updates_instead() -> None:
    """If another writer created the task a moment before, the upsert updates that one."""
    tracker = FakeTaskTracker()
    await tracker.create_task(TaskFields(title="theirs", external_ref="r"))
    original = tracker.list_tasks
    looked = 0

    async def blind_once(query: Any) -> Any:
        nonlocal looked
        looked += 1
        page = await original(query)
        return page if looked > 1 else type(page)(tasks=[], total=0)

    tracker.list_tasks = blind_once  # type: ignore[method-assign]
    out = await call(tracker, "upsert_task", external_ref="r", title="ours")
    assert out["outcome"] == "updated"
    assert len(tracker.tasks) == 1


async def test_update_changes_only_given_fields_and_retries_a_stale_write() -> None:
    """update_task merges the given fields; a concurrent change is re-read and kept."""
    tracker = FakeTaskTracker()
    task = await tracker.create_task(TaskFields(title="A", assignee="Ada"))
    original = tracker.update_task
    raced = False

    async def racing(task_id: str, fields: TaskFields, *, version: int | None = None) -> Any:
        nonlocal raced
        if not raced:
            raced = True
            # Another writer changes the assignee between our read and our write.
            await original(task_id, TaskFields(title="A", assignee="Grace"))
        return await original(task_id, fields, version=version)

    tracker.update_task = racing  # type: ignore[method-assign]
    out = await call(tracker, "update_task", id=task.id, status="blocked")
    assert out["task"]["status"] == "blocked"
    assert out["task"]["assignee"] == "Grace"
    assert tracker.calls.count("get_task") == 2


async def test_list_tasks_reads_every_page() -> None:
    """Without a limit, every matching task comes back."""
    tracker = FakeTaskTracker()
    for n in range(450):
        await tracker.create_task(
            TaskFields(title=f"t{n}", status="done" if n % 3 == 0 else "todo")
        )
    everything = await call(tracker, "list_tasks")
    done = await call(tracker, "list_tasks", status="done", limit=10)
    assert everything["count"] == 450
    assert done["count"] == 10


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (TrackerAuthError("nope"), "auth_failed", False),
        (TrackerInvalid("title: too long"), "invalid_input", False),
        (TrackerConflict("taken"), "invalid_input", False),
        (TrackerUnavailable("down"), "upstream_unavailable", True),
        (TrackerError("odd"), "upstream_error", False),
    ],
)
async def test_tracker_errors_become_typed_action_errors(
    error: TrackerError, code: str, retryable: bool
) -> None:
    """Each tracker failure maps to the connector API's code and retryability."""
    tracker = FakeTaskTracker()
    tracker.fail_next = [error]
    with pytest.raises(ActionFailed) as caught:
        await call(tracker, "list_tasks")
    assert (caught.value.error.code, caught.value.error.retryable) == (code, retryable)


@pytest.mark.parametrize(
    "payload",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"title": "ok", "status": "finished"},
        {"title": "ok", "due_date": "next week"},
        {"title": "ok", "colour": "red"},
    ],
)
async def test_invalid_tasks_are_refused_before_calling_the_tracker(
    payload: dict[str, Any],
) -> None:
    """Bad titles, statuses, dates and unknown fields never reach the tracker."""
    tracker = FakeTaskTracker()
    with pytest.raises(ActionFailed) as caught:
        await call(tracker, "create_task", **payload)
    assert caught.value.error.code == "invalid_input"
    assert tracker.calls == []


async def test_delete_is_quiet_when_the_task_is_gone() -> None:
    """Deleting twice: deleted, then not (no error)."""
    tracker = FakeTaskTracker()
    task = await tracker.create_task(TaskFields(title="A"))
    assert (await call(tracker, "delete_task", id=task.id))["deleted"] is True
    assert (await call(tracker, "delete_task", id=task.id))["deleted"] is False
