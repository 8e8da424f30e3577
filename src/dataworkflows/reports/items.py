"""A project's work items: its Monday items and tracker tasks, as :class:`WorkItem`.

A tracker task synced from a Monday item (``external_ref`` ``monday:<item id>``) is
merged into that item; other tasks count when their ``external_ref`` starts with one
of the project's prefixes (see :mod:`.summary` for the whole story). Statuses go to
buckets through the options' ``status_map``; overdue items are found against ``today``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final

from dataworkflows.reports.lenient import (
    as_date,
    as_mapping,
    fill_link,
    find_column,
    text_or_none,
)
from dataworkflows.reports.model import STATUS_WORDS, UNASSIGNED, Bucket, WorkItem
from dataworkflows.reports.summary import ReportOptions

__all__ = ["work_items"]

_STATUS_TYPES: Final = frozenset({"status", "color"})
_DATE_TYPES: Final = frozenset({"date"})
_PEOPLE_TYPES: Final = frozenset({"people", "multiple-person", "person"})


def _bucket(label: str | None, status_map: Mapping[str, str]) -> Bucket | None:
    if label is None:
        return None
    word = status_map.get(label)
    if word is None:
        word = next((v for k, v in status_map.items() if k.casefold() == label.casefold()), None)
    return STATUS_WORDS.get(word) if word is not None else None


def _owners_of(column: Mapping[str, Any] | None) -> list[str]:
    if column is None:
        return []
    text = text_or_none(column.get("text"))
    if text is None:
        return []
    # monday joins the names of a people cell with ", ".
    return [name.strip() for name in text.split(",") if name.strip()]


def _due_of(column: Mapping[str, Any] | None) -> date | None:
    if column is None:
        return None
    value = column.get("value")
    if isinstance(value, Mapping):
        due = as_date(value.get("date"))
        if due is not None:
            return due
    return as_date(column.get("text"))


def _flatten_items(items: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Items, also when given per board (``[{board_id, items: [...]}]`` from a foreach)."""
    flat: list[Mapping[str, Any]] = []
    for entry in items:
        if not isinstance(entry, Mapping):
            continue
        nested = entry.get("items")
        if isinstance(nested, list) and "columns" not in entry:
            flat.extend(i for i in nested if isinstance(i, Mapping))
        else:
            flat.append(entry)
    return flat


def _overdue(bucket: Bucket, due: date | None, today: date) -> tuple[bool, int | None]:
    if bucket == "done" or due is None or due >= today:
        return False, None
    return True, (today - due).days


def work_items(
    items: Iterable[Any],
    tasks: Iterable[Any],
    *,
    today: date,
    options: ReportOptions | None = None,
    tracker_ref_prefixes: Sequence[str] = (),
    take_all_tasks: bool = False,
) -> list[WorkItem]:
    """The project's work items: its Monday items (each merged with the tracker task
    synced from it) and its own tracker tasks; see the module docstring for which tasks
    belong. ``take_all_tasks``: count every task not synced from a given item."""
    options = options or ReportOptions()
    tasks_by_item: dict[str, Mapping[str, Any]] = {}
    own_tasks: list[Mapping[str, Any]] = []
    monday = _flatten_items(items)
    item_ids = {str(i.get("id")) for i in monday if text_or_none(i.get("id"))}
    for task in tasks:
        if not isinstance(task, Mapping) or text_or_none(task.get("id")) is None:
            continue
        ref = text_or_none(task.get("external_ref")) or ""
        if ref.startswith("monday:") and ref[7:] in item_ids:
            tasks_by_item.setdefault(ref[7:], task)
        elif take_all_tasks or any(ref.startswith(p) for p in tracker_ref_prefixes):
            own_tasks.append(task)
    result: list[WorkItem] = []
    seen: set[str] = set()
    for item in monday:
        item_id = text_or_none(item.get("id"))
        if item_id is None or item_id in seen:
            continue
        seen.add(item_id)
        result.append(_monday_item(item, item_id, tasks_by_item.get(item_id), options, today))
    for task in own_tasks:
        task_id = str(task.get("id")).strip()
        if f"tasktracker:{task_id}" in seen:
            continue
        seen.add(f"tasktracker:{task_id}")
        result.append(_tracker_item(task, task_id, options, today))
    return result


def _monday_item(
    item: Mapping[str, Any],
    item_id: str,
    task: Mapping[str, Any] | None,
    options: ReportOptions,
    today: date,
) -> WorkItem:
    columns = as_mapping(item.get("columns"))
    status_column = find_column(columns, options.status_column, _STATUS_TYPES)
    label = text_or_none(status_column.get("text")) if status_column else None
    bucket = _bucket(label, options.status_map)
    task_status = text_or_none(task.get("status")) if task else None
    if bucket is None and task_status is not None and task_status in STATUS_WORDS:
        bucket = STATUS_WORDS[task_status]
        label = label or task_status
    owners = _owners_of(find_column(columns, options.people_column, _PEOPLE_TYPES))
    if not owners and task is not None and text_or_none(task.get("assignee")):
        owners = [str(task.get("assignee")).strip()]
    due = _due_of(find_column(columns, options.due_column, _DATE_TYPES))
    if due is None and task is not None:
        due = as_date(task.get("due_date"))
    final: Bucket = bucket or "not_started"
    overdue, late = _overdue(final, due, today)
    board_id = text_or_none(item.get("board_id"))
    return WorkItem(
        id=f"monday:{item_id}",
        source="monday",
        source_id=item_id,
        title=text_or_none(item.get("name")) or f"Item {item_id}",
        status=final,
        status_label=label or "No status",
        owners=owners,
        owner=", ".join(owners) or UNASSIGNED,
        due_date=due.isoformat() if due else None,
        overdue=overdue,
        days_late=late,
        group=text_or_none(as_mapping(item.get("group")).get("title")),
        board_id=board_id,
        task_id=text_or_none(task.get("id")) if task else None,
        url=fill_link(options.monday_item_url, id=item_id, board_id=board_id),
        updated_at=text_or_none(item.get("updated_at")),
    )


def _tracker_item(
    task: Mapping[str, Any], task_id: str, options: ReportOptions, today: date
) -> WorkItem:
    status = text_or_none(task.get("status")) or "todo"
    bucket = _bucket(status, options.status_map) or STATUS_WORDS.get(status, "not_started")
    owners = [str(task.get("assignee")).strip()] if text_or_none(task.get("assignee")) else []
    due = as_date(task.get("due_date"))
    overdue, late = _overdue(bucket, due, today)
    return WorkItem(
        id=f"tasktracker:{task_id}",
        source="tasktracker",
        source_id=task_id,
        title=text_or_none(task.get("title")) or f"Task {task_id}",
        status=bucket,
        status_label=status,
        owners=owners,
        owner=", ".join(owners) or UNASSIGNED,
        due_date=due.isoformat() if due else None,
        overdue=overdue,
        days_late=late,
        task_id=task_id,
        url=fill_link(options.tracker_task_url, id=task_id),
        updated_at=text_or_none(task.get("updated_at")),
    )
