"""A real engine (executor, store, API) on a test database, with a probe connector.

The probe connector records every call it gets, so tests can prove what ran, how
often, and how many at a time; an instant ``sleep`` records retry delays instead of
waiting them.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import msgspec

from dataworkflows.composition.engine import EngineParts, engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.contracts import ActionFailed
from dataworkflows.engine.executor import EngineConfig
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.engine.store import RunRecord
from dataworkflows.runtime.actions import ActionCall, ActionSet
from tests.support.net import free_port

API_KEY = "test-api-key-0123456789abcdef"
SECRET = "configured-secret-value-42"
SECRETS_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
"""The harness engine's DW_SECRETS_KEY (hex)."""


@dataclass
class Call:
    """One call the probe received."""

    key: str
    attempt: int
    idempotency_key: str | None
    started: float
    ended: float = 0.0


@dataclass
class ProbeLog:
    """Every call of the probe connector, and the most calls that overlapped."""

    calls: list[Call] = field(default_factory=list)
    running: Counter[str] = field(default_factory=Counter)
    peak_by_group: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    overlaps: list[str] = field(default_factory=list)
    """Keys that were being executed twice at the same moment."""
    gates: dict[str, asyncio.Event] = field(default_factory=dict)

    def count(self, key: str) -> int:
        return sum(1 for c in self.calls if c.key == key)


class RecordInput(msgspec.Struct, kw_only=True):
    """probe.record's input."""

    key: str
    group: str = ""
    seconds: float = 0.0
    wait_for: str | None = None
    """Block until the test opens the gate of this name."""
    payload: Any = None


def probe_actions(log: ProbeLog) -> ActionSet:
    """The ``probe`` connector, recording into ``log``."""
    probe = ActionSet("probe")

    @probe.action("record", effect="write", description="Records the call, then answers.")
    async def record(data: RecordInput, call: ActionCall) -> dict[str, Any]:
        entry = Call(
            key=data.key,
            attempt=call.attempt,
            idempotency_key=call.idempotency_key,
            started=time.monotonic(),
        )
        log.calls.append(entry)
        if log.running[data.key]:
            log.overlaps.append(data.key)
        log.running[data.key] += 1
        group = data.group or data.key
        log.running[f"group:{group}"] += 1
        log.peak_by_group[group] = max(log.peak_by_group[group], log.running[f"group:{group}"])
        try:
            if data.wait_for is not None:
                await log.gates.setdefault(data.wait_for, asyncio.Event()).wait()
            if data.seconds:
                await asyncio.sleep(data.seconds)
        finally:
            log.running[data.key] -= 1
            log.running[f"group:{group}"] -= 1
            entry.ended = time.monotonic()
        return {"key": data.key, "payload": data.payload, "attempt": call.attempt}

    @probe.action("refuse", effect="read", description="Fails with invalid_input.")
    async def refuse(data: dict[str, Any], call: ActionCall) -> dict[str, Any]:
        raise ActionFailed.of("invalid_input", "refused on purpose")

    return probe


@dataclass
class Harness:
    """A running engine and handles on its parts."""

    parts: EngineParts
    client: httpx.AsyncClient
    probe: ProbeLog
    sleeps: list[float]

    def browser(self) -> httpx.AsyncClient:
        """A client as a browser is: no API key, cookies kept."""
        return httpx.AsyncClient(transport=self.client._transport, base_url="http://engine.test")

    @property
    def service(self) -> Any:
        return self.parts.service

    @property
    def executor(self) -> Any:
        return self.parts.executor

    async def register(self, source: str) -> int:
        """Register a YAML definition; its version."""
        _, registration = await self.parts.service.register(source, source=source)
        return registration.version

    async def run(
        self, name: str, inputs: dict[str, Any] | None = None, *, wait: float = 10.0
    ) -> RunRecord:
        """Start a run and wait for it to end."""
        run, _ = await self.parts.service.start_run(
            name, inputs=inputs or {}, idempotency_key=None, trigger={"source": "test"}
        )
        return await self.parts.service.wait(run, wait)

    async def attempts(self, run_id: UUID) -> list[Any]:
        return await self.parts.service.store.get_step_attempts(run_id)


@asynccontextmanager
async def running_engine(
    database_url: str,
    *,
    config: EngineConfig | None = None,
    probe: ProbeLog | None = None,
    secrets_key: str | None = SECRETS_KEY,
) -> AsyncIterator[Harness]:
    """An engine on ``database_url`` with the probe connector and an instant retry clock
    (``secrets_key`` None: one without DW_SECRETS_KEY)."""
    log = probe or ProbeLog()
    sleeps: list[float] = []

    async def instant_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)

    settings = Settings(
        service_token=SECRET,
        db_pool_max=6,
        engine=EngineSettings(api_keys=(API_KEY,), secrets_key=secrets_key),
    )
    async with engine_parts(
        settings,
        database_url=database_url,
        config=config
        or EngineConfig(lease_seconds=5.0, claim_interval_s=0.05, shutdown_grace_s=2.0),
        extra_actions=[probe_actions(log)],
        sleep=instant_sleep,
        jitter=lambda: 0.5,
    ) as (parts, app):
        # httpx's ASGI transport calls the app in this event loop, where the executor
        # runs (Litestar's test clients run the app in a thread of their own).
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://engine.test", headers=headers
        ) as client:
            yield Harness(parts=parts, client=client, probe=log, sleeps=sleeps)


def engine_process_env(
    database_url: str, directory: Path, definitions: Mapping[str, str], **extra: str
) -> tuple[str, dict[str, str]]:
    """For a ``serve engine`` process: ``definitions`` (file name -> YAML) written to a
    workflows directory under ``directory``, a free port; (its base URL, the
    environment, with ``extra`` variables on top)."""
    workflows = directory / "workflows"
    workflows.mkdir(exist_ok=True)
    for name, text in definitions.items():
        (workflows / name).write_text(text)
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "DW_API_KEYS": API_KEY,
        "DW_WORKFLOWS_DIR": str(workflows),
        "DW_PORT": str(port),
        **extra,
    }
    return f"http://127.0.0.1:{port}", env
