"""The engine process, composed: its store, connectors, reports, executor and app.

The one place that picks the engine's adapters and plugs the reports into it (their
actions, templates and API), so that the engine package itself knows neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar

from dataworkflows.composition.settings import Settings, connector_specs
from dataworkflows.connectors.core import core_actions
from dataworkflows.console.local import EngineBackend
from dataworkflows.console.routes import console_router
from dataworkflows.engine.api import api_router
from dataworkflows.engine.app import create_engine_app
from dataworkflows.engine.connectors import (
    Connector,
    ConnectorRegistry,
    HttpConnector,
    InProcessConnector,
    connector_session,
)
from dataworkflows.engine.evaluation import Evaluator
from dataworkflows.engine.executor import EngineConfig, Executor
from dataworkflows.engine.expressions import EVALUATION_TASKS as EXPRESSION_TASKS
from dataworkflows.engine.hook_service import HOOKS_FILE, HookService
from dataworkflows.engine.hook_store import PostgresHookStore
from dataworkflows.engine.links import links_actions
from dataworkflows.engine.metrics import RunCounter
from dataworkflows.engine.postgres_store import PostgresEngineStore
from dataworkflows.engine.retention import Pruner
from dataworkflows.engine.schedule_service import SCHEDULES_FILE, ScheduleService
from dataworkflows.engine.schedule_store import PostgresScheduleStore
from dataworkflows.engine.scheduler import Scheduler
from dataworkflows.engine.service import WorkflowService
from dataworkflows.engine.shipped import ShippedWorkflows, Unregistered
from dataworkflows.engine.subworkflows import subworkflow_actions
from dataworkflows.engine.validation import CompiledWorkflow
from dataworkflows.engine.waiting import Waker, wait_actions
from dataworkflows.reports import (
    PostgresReportStore,
    StoredTemplateSource,
    register_shipped,
    reports_actions,
    reports_api,
)
from dataworkflows.reports.render import EVALUATION_TASKS as RENDER_TASKS
from dataworkflows.runtime.actions import ActionSet
from dataworkflows.runtime.app import ReadinessCheck
from dataworkflows.runtime.connector_app import ConnectorNotConfigured, ConnectorParts
from dataworkflows.runtime.database import Pool, open_pool
from dataworkflows.runtime.evaluation_pool import EvaluationPool
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.migrations import discover_migrations, readiness_checks
from dataworkflows.runtime.redaction import Redactor
from dataworkflows.runtime.resources import bundled_dir
from dataworkflows.runtime.sealing import Sealer, parse_key

__all__ = ["ENGINE_DEFAULT_PORT", "EngineParts", "engine_component", "engine_parts"]

_log = get_logger(__name__)

ENGINE_DEFAULT_PORT = 8080
JOURNAL_FLUSHERS = 2
"""Batches written at once: one fills while the other commits."""
EVALUATION_WORKERS = 2
"""Worker processes for jinja in definitions and templates (see evaluation_pool)."""


class EngineConfigurationError(ValueError):
    """The engine's configuration is incomplete; the message says what to set."""


async def build_connectors(
    settings: Settings,
    store: PostgresEngineStore,
    stack: AsyncExitStack,
    *,
    extra_actions: Sequence[ActionSet] = (),
) -> ConnectorRegistry:
    """In-process connectors, except those configured as separate processes.

    A connector none of whose settings are set is left out: workflows that use it
    are refused at registration, naming the connector. One configured only in part
    stops the engine with the connector's own message. Their clients live on
    ``stack``.
    """
    available = [links_actions(store)]
    for name, spec in connector_specs().items():
        section = settings.connector(spec)
        if name in settings.connector_urls or not spec.wanted(section):
            continue
        try:
            parts: ConnectorParts = await stack.enter_async_context(spec.open(section))
        except ConnectorNotConfigured as exc:
            raise EngineConfigurationError(str(exc)) from None
        available.append(parts.actions)
    available.extend(extra_actions)
    in_process = {actions.connector: actions for actions in available}
    connectors: list[Connector] = []
    if settings.connector_urls and not settings.service_token:
        raise EngineConfigurationError(
            "DW_CONNECTOR_URLS is set but DW_SERVICE_TOKEN is not: connector processes "
            "need the shared service token"
        )
    if settings.connector_urls:
        assert settings.service_token is not None
        # No overall timeout: the step's own timeout cancels a call that takes too long.
        session = connector_session(timeout_s=None)
        stack.push_async_callback(session.close)
        for name, url in settings.connector_urls.items():
            connectors.append(
                HttpConnector(name, base_url=url, token=settings.service_token, session=session)
            )
    for name, actions in in_process.items():
        if name not in settings.connector_urls:
            connectors.append(InProcessConnector(actions))
    return ConnectorRegistry(connectors)


class EngineParts:
    """The engine's running parts, for the app and for benchmarks and tests."""

    def __init__(
        self, service: WorkflowService, executor: Executor, schedules: ScheduleService
    ) -> None:
        self.service = service
        self.executor = executor
        self.schedules = schedules


@asynccontextmanager
async def engine_parts(
    settings: Settings,
    *,
    database_url: str,
    config: EngineConfig | None = None,
    extra_actions: Sequence[ActionSet] = (),
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    jitter: Callable[[], float] = random.random,
    evaluations: EvaluationPool | None = None,
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[tuple[EngineParts, Litestar]]:
    """Open the pool, start the executor, register shipped workflows; stop all on exit.

    ``extra_actions`` adds in-process connectors; ``sleep`` and ``jitter`` replace the
    retry clock (tests pass instant ones); ``evaluations`` shares a pool of evaluation
    workers (default: one of its own, closed on exit). ``environ`` is where hooks.yaml's
    ``secret_env`` are read (default ``os.environ``; ``dev`` adds its stand-ins').
    """
    pool = await open_pool(database_url, max_size=settings.db_pool_max, name="engine")
    journal_pool = await open_pool(
        database_url,
        min_size=JOURNAL_FLUSHERS,
        max_size=JOURNAL_FLUSHERS,
        name="journal",
        # The hot path: no test round trip per batch; the journal retries a batch whose
        # connection broke, and a broken connection is replaced when it comes back.
        check=False,
    )
    stack = AsyncExitStack()
    try:
        store = PostgresEngineStore(pool, journal_pool=journal_pool)
        report_store = PostgresReportStore(pool)
        if evaluations is None:
            # Jinja in definitions and templates runs in worker processes with limits.
            evaluations = EvaluationPool(
                tasks={**EXPRESSION_TASKS, **RENDER_TASKS}, workers=EVALUATION_WORKERS
            )
            stack.push_async_callback(evaluations.close)
        # Reports live in the engine's database, so their actions (and core.render,
        # which renders stored templates) run in the engine. A later ActionSet of the
        # same connector replaces an earlier one: tests' extra_actions come last.
        connectors = await build_connectors(
            settings,
            store,
            stack,
            extra_actions=[
                core_actions(StoredTemplateSource(report_store, evaluations)),
                reports_actions(report_store, console_url=settings.engine.public_url),
                wait_actions(),
                *extra_actions,
            ],
        )
        redactor = Redactor(settings.secrets())
        sealer = Sealer(
            parse_key(settings.engine.secrets_key) if settings.engine.secrets_key else None,
            own_secrets=settings.secrets(),
        )
        service: WorkflowService | None = None

        async def load(name: str, version: int) -> CompiledWorkflow:
            assert service is not None
            return await service.compiled(name, version)

        evaluator = Evaluator(evaluations)
        executor = Executor(
            store=store,
            connectors=connectors,
            load_workflow=load,
            redactor=redactor,
            evaluator=evaluator,
            sealer=sealer,
            sleep=sleep,
            jitter=jitter,
            journal_flushers=JOURNAL_FLUSHERS,
            config=config
            or EngineConfig(
                max_runs=settings.engine.max_runs,
                lease_seconds=settings.engine.lease_seconds,
                step_timeout_s=settings.engine.step_timeout,
            ),
        )
        service = WorkflowService(
            store=store, connectors=connectors, executor=executor, redactor=redactor, sealer=sealer
        )
        # Sub-workflows start runs through the service, so they join the connectors last.
        connectors.add(InProcessConnector(subworkflow_actions(service)))
        schedules, hooks = _triggers(
            pool,
            service,
            sealer,
            redactor,
            evaluator,
            environ=os.environ if environ is None else environ,
        )
        unregistered, schedule_files = await _register_shipped(
            (bundled_dir("workflows"), settings.engine.workflows_dir),
            report_store,
            service,
            schedules,
            hooks,
        )
        await executor.start()
        background = _Background(
            executor,
            store,
            schedules,
            _register_until_done(service, unregistered, schedules, schedule_files),
            retention_days=settings.engine.run_retention_days,
        )
        try:
            checks = readiness_checks(pool, discover_migrations(bundled_dir("migrations")))
            checks.update(connector_checks(connectors))

            async def workflows_check() -> str | None:
                if not unregistered:
                    return None
                return "not registered: " + "; ".join(
                    f"{entry.path.name} ({entry.reason})" for entry in unregistered
                )

            async def executor_check() -> str | None:
                late = time.monotonic() - executor.lease_valid_until
                if late > 0:
                    return f"no heartbeat recorded for {late:.0f} s beyond the lease margin"
                return None

            checks["executor"] = executor_check
            checks["workflows"] = workflows_check
            reports = reports_api(report_store, evaluations)
            app = create_engine_app(
                readiness=checks,
                api=api_router(
                    service=service,
                    api_keys=settings.engine.api_keys,
                    schedules=schedules,
                    hooks=hooks,
                    extensions=[reports],
                ),
                extra_tags=reports.tags,
                console=console_router(
                    EngineBackend(service, schedules=schedules, reports=report_store),
                    settings.engine.api_keys,
                )
                if settings.engine.api_keys
                else None,
            )
            yield EngineParts(service, executor, schedules), app
        finally:
            await background.stop()
            await executor.stop()
    finally:
        await stack.aclose()
        await journal_pool.close()
        await pool.close()


class _Background:
    """The engine's loops beside the executor: shipped workflows registered again,
    schedules fired, waiting runs woken, unfinished runs counted (metrics), old run
    history pruned (when DW_RUN_RETENTION_DAYS is set)."""

    def __init__(
        self,
        executor: Executor,
        store: PostgresEngineStore,
        schedules: ScheduleService,
        register_again: Coroutine[Any, Any, None],
        *,
        retention_days: int,
    ) -> None:
        self.scheduler = Scheduler(schedules, on_changes_from=executor)
        self.waker = Waker(store)
        self.counter = RunCounter(store)
        self.pruner = Pruner(store, days=retention_days) if retention_days else None
        executor.watchers["waiting"] = self.waker.changed
        self.tasks = [
            asyncio.create_task(register_again, name="register-shipped-workflows"),
            asyncio.create_task(self.scheduler.run(), name="engine-scheduler"),
            asyncio.create_task(self.waker.run(), name="engine-waker"),
            asyncio.create_task(self.counter.run(), name="engine-run-counter"),
        ]
        if self.pruner is not None:
            self.tasks.append(asyncio.create_task(self.pruner.run(), name="engine-pruner"))

    async def stop(self) -> None:
        """Stop every loop (a stop flag too: a database call may swallow a cancel)."""
        self.scheduler.stop()
        self.waker.stop()
        self.counter.stop()
        if self.pruner is not None:
            self.pruner.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _triggers(
    pool: Pool,
    service: WorkflowService,
    sealer: Sealer,
    redactor: Redactor,
    evaluator: Evaluator,
    *,
    environ: Mapping[str, str],
) -> tuple[ScheduleService, HookService]:
    """What starts runs besides the API: schedules and webhooks."""
    schedules = ScheduleService(
        store=PostgresScheduleStore(pool), workflows=service, sealer=sealer, redactor=redactor
    )
    hooks = HookService(
        store=PostgresHookStore(pool),
        workflows=service,
        sealer=sealer,
        evaluator=evaluator,
        environ=environ,
    )
    return schedules, hooks


async def _register_shipped(
    directories: Sequence[Path | None],
    report_store: PostgresReportStore,
    service: WorkflowService,
    schedules: ScheduleService,
    hooks: HookService,
) -> tuple[list[Unregistered], list[Path]]:
    """Register the projects, workflows, schedules and hooks of the workflow
    directories; (the workflows not registered, the schedule files)."""
    unregistered: list[Unregistered] = []
    schedule_files: list[Path] = []
    for directory in directories:
        if directory is not None and directory.is_dir():
            await register_shipped(report_store, directory)
            unregistered.extend(await ShippedWorkflows(service).register_directory(directory))
            if (directory / SCHEDULES_FILE).is_file():
                schedule_files.append(directory / SCHEDULES_FILE)
    for path in schedule_files:
        await schedules.register_file(path)
    for directory in directories:
        if directory is not None and (directory / HOOKS_FILE).is_file():
            await hooks.register_file(directory / HOOKS_FILE)
    return unregistered, schedule_files


REGISTER_RETRY_FIRST_S = 1.0
REGISTER_RETRY_MAX_S = 30.0


async def _register_until_done(
    service: WorkflowService,
    unregistered: list[Unregistered],
    schedules: ScheduleService,
    schedule_files: Sequence[Path],
) -> None:
    """Register again, with backoff, the shipped definitions whose connectors did not
    answer on start (a split deployment may start the engine first), then declare the
    schedules of those that now are; ``unregistered`` is updated in place, so
    ``/readyz`` names what is still missing."""
    delay = REGISTER_RETRY_FIRST_S
    while any(entry.retry for entry in unregistered):
        await asyncio.sleep(delay)
        try:
            before = len(unregistered)
            unregistered[:] = await ShippedWorkflows(service).register_again(unregistered)
            if len(unregistered) < before:
                for path in schedule_files:
                    await schedules.register_file(path)
        except Exception as exc:  # the database, say: try again later, never give up
            _log.warning(
                "registering shipped workflows failed", error=f"{type(exc).__name__}: {exc}"
            )
        delay = min(delay * 2, REGISTER_RETRY_MAX_S)


def connector_checks(connectors: ConnectorRegistry) -> dict[str, ReadinessCheck]:
    """A ``/readyz`` check per connector reached over HTTP: it answers, and takes our token."""
    checks: dict[str, ReadinessCheck] = {}
    for name in connectors.names:
        connector = connectors.get(name)
        if isinstance(connector, HttpConnector):
            checks[f"connector:{name}"] = connector.probe
    return checks


@asynccontextmanager
async def engine_component(
    settings: Settings, *, database_url: str, environ: Mapping[str, str] | None = None
) -> AsyncIterator[Litestar]:
    """The engine app with everything behind it running (``environ``: see engine_parts)."""
    async with engine_parts(settings, database_url=database_url, environ=environ) as (_, app):
        yield app
