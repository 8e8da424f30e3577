"""Files beside the shipped workflows that declare more of them: ``schedules.yaml``
and ``hooks.yaml``, each a list under one key, declared entry by entry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from dataworkflows.engine.definitions import DefinitionError, load_yaml
from dataworkflows.engine.errors import EngineError, NotFound
from dataworkflows.engine.service import WorkflowService
from dataworkflows.runtime.logging import get_logger

__all__ = ["declare_file"]

_log = get_logger(__name__)


async def declare_file(
    path: Path,
    *,
    key: str,
    put: Callable[[Any], Awaitable[object]],
    workflows: WorkflowService,
) -> list[str]:
    """Declare each entry of the ``key`` list in ``path`` with ``put``; a line per entry
    not declared. An entry of a workflow this deployment did not register is skipped
    with a log line (as that workflow was)."""
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        document = await asyncio.to_thread(load_yaml, text)
    except (OSError, DefinitionError) as exc:
        _log.error(f"{key} not read", file=str(path), error=str(exc))
        return [f"{path.name}: {exc}"]
    entries = document.get(key) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        _log.error(f"{key} not read", file=str(path), error=f"needs a '{key}' list")
        return [f"{path.name}: needs a '{key}' list"]
    failed: list[str] = []
    for index, entry in enumerate(entries):
        label = str(entry.get("name")) if isinstance(entry, dict) else f"{key}[{index}]"
        workflow = entry.get("workflow") if isinstance(entry, dict) else None
        if isinstance(workflow, str):
            try:
                await workflows.latest(workflow)
            except NotFound:
                _log.info(
                    f"shipped {key} entry skipped: its workflow is not registered here",
                    entry=label,
                    workflow=workflow,
                )
                continue
        try:
            await put(entry)
        except EngineError as problem:
            details = "; ".join(f"{e.field}: {e.message}" for e in problem.errors)
            _log.error(f"shipped {key} entry not declared", entry=label, errors=details)
            failed.append(f"{path.name}: {label} ({details or problem.detail})")
    return failed
