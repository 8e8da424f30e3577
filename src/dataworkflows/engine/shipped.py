"""The workflows shipped in a directory (``workflows/``, ``DW_WORKFLOWS_DIR``),
registered when the engine starts, and again while a connector they use is not up."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any, Final

import yaml

from dataworkflows.engine.errors import EngineError, Unavailable
from dataworkflows.engine.service import WorkflowService
from dataworkflows.runtime.logging import get_logger

__all__ = ["NOT_DEFINITIONS", "ShippedWorkflows", "Unregistered"]

_log = get_logger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Unregistered:
    """A shipped definition that could not be registered, and why."""

    path: Path
    source: str
    reason: str
    retry: bool
    """Whether registering it again may succeed (a connector it uses did not answer)."""


class ShippedWorkflows:
    """Registers the definitions of workflow directories through the service."""

    def __init__(self, service: WorkflowService) -> None:
        self._service = service

    async def register_directory(self, directory: Path) -> list[Unregistered]:
        """Register every ``*.yaml`` definition in ``directory``; those that failed.

        A definition that uses a connector this deployment does not configure is
        skipped with a log line (a Monday-only deployment has no use for the status
        report). One whose connector did not answer is returned with ``retry`` set:
        registering it again later may succeed (see :meth:`register_again`).
        """
        failed: list[Unregistered] = []
        for path, source in await asyncio.to_thread(_read_definitions, directory):
            outcome = await self._register_shipped(path, source)
            if outcome is not None:
                failed.append(outcome)
        return failed

    async def register_again(self, failed: list[Unregistered]) -> list[Unregistered]:
        """Register the retryable ones of ``failed`` again; those that still fail."""
        still: list[Unregistered] = []
        for entry in failed:
            outcome = (
                await self._register_shipped(entry.path, entry.source) if entry.retry else entry
            )
            if outcome is not None:
                still.append(outcome)
            else:
                _log.info("shipped workflow registered after a retry", file=str(entry.path))
        return still

    async def _register_shipped(self, path: Path, source: str) -> Unregistered | None:
        try:
            unconfigured = self._unconfigured_connectors(yaml.safe_load(source))
        except yaml.YAMLError:
            unconfigured = []  # register() says what is wrong with it
        if unconfigured:
            _log.info(
                "shipped workflow skipped: it uses connectors this deployment does not configure",
                file=str(path),
                connectors=", ".join(unconfigured),
            )
            return None
        try:
            await self._service.register(source, source=source)
        except EngineError as problem:
            details = "; ".join(f"{e.field}: {e.message}" for e in problem.errors)
            _log.error(
                "shipped workflow not registered",
                file=str(path),
                problem=problem.detail,
                errors=details,
            )
            reason = f"{problem.detail} {details}".strip() if details else str(problem.detail)
            return Unregistered(
                path=path, source=source, reason=reason, retry=isinstance(problem, Unavailable)
            )
        return None

    def _unconfigured_connectors(self, document: Any) -> list[str]:
        """Connectors the steps of ``document`` name that this engine does not have."""
        if not isinstance(document, dict) or not isinstance(document.get("steps"), list):
            return []
        named = {
            step["uses"].split(".", 1)[0]
            for step in document["steps"]
            if isinstance(step, dict) and isinstance(step.get("uses"), str) and "." in step["uses"]
        }
        return sorted(named - set(self._service.connectors.names))


# Files in the workflows directory that are not workflow definitions: the project
# registry of the status reports (dataworkflows.reports.registry), the schedules
# (engine.schedule_service) and the webhooks (engine.hook_service) live beside them.
NOT_DEFINITIONS: Final = frozenset({"projects.yaml", "schedules.yaml", "hooks.yaml"})


def _read_definitions(directory: Path) -> list[tuple[Path, str]]:
    return [
        (p, p.read_text(encoding="utf-8"))
        for p in sorted(directory.glob("*.y*ml"))
        if p.name not in NOT_DEFINITIONS
    ]
