"""The engine's use cases, behind the REST API: register, start, watch, cancel, retry.

Controllers call this; it calls the ports (store, connectors, executor). Errors are
the engine's domain errors (:mod:`dataworkflows.engine.errors`), with the field paths a
caller needs to fix the request; the API answers them as problem documents.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from typing import Any
from uuid import UUID

import msgspec
import yaml

from dataworkflows.contracts import ERROR_STATUS, ActionFailed, ActionRequest
from dataworkflows.engine.connectors import ConnectorRegistry
from dataworkflows.engine.definitions import (
    DefinitionError,
    WorkflowDefinition,
    canonical_checksum,
    parse_definition,
    type_problem,
)
from dataworkflows.engine.errors import (
    ConnectorFailed,
    Invalid,
    NotFound,
    StateConflict,
    Unavailable,
)
from dataworkflows.engine.executor import Executor
from dataworkflows.engine.intake import EngineStopping
from dataworkflows.engine.store import (
    EngineStore,
    Registration,
    RunFilter,
    RunHistory,
    RunRecord,
    SignalAnswer,
)
from dataworkflows.engine.subworkflows import recursion_problems
from dataworkflows.engine.validation import CompiledWorkflow, compile_workflow
from dataworkflows.engine.waiting import SIGNAL_NAME_PATTERN
from dataworkflows.runtime.limits import LimitExceeded, check_structure
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.problems import FieldError
from dataworkflows.runtime.redaction import Redactor
from dataworkflows.runtime.sealing import Sealer
from dataworkflows.runtime.struct_errors import did_you_mean

__all__ = ["WorkflowService", "validate_inputs", "yaml_source"]

_log = get_logger(__name__)
WAIT_POLL_S = 0.2


def validate_inputs(definition: WorkflowDefinition, inputs: dict[str, Any]) -> dict[str, Any]:
    """The run's inputs with defaults filled in; :class:`DefinitionError` naming each bad one."""
    problems: list[FieldError] = []
    resolved: dict[str, Any] = {}
    for name in inputs:
        if name not in definition.inputs:
            declared = ", ".join(definition.inputs) or "none"
            problems.append(
                FieldError(
                    field=f"inputs.{name}",
                    message=f"is not an input of {definition.name}"
                    f"{did_you_mean(name, definition.inputs)} (declared: {declared})",
                )
            )
    for name, spec in definition.inputs.items():
        if name in inputs:
            problem = type_problem(spec.type, inputs[name])
            if problem:
                problems.append(FieldError(field=f"inputs.{name}", message=problem))
            resolved[name] = inputs[name]
        elif spec.default is not msgspec.UNSET:
            resolved[name] = spec.default
        elif spec.is_required:
            problems.append(FieldError(field=f"inputs.{name}", message="is required"))
        else:
            resolved[name] = None
    if problems:
        raise DefinitionError(problems)
    return resolved


class WorkflowService:
    """What the engine's API does, over its ports."""

    def __init__(
        self,
        *,
        store: EngineStore,
        connectors: ConnectorRegistry,
        executor: Executor,
        redactor: Redactor,
        sealer: Sealer,
    ) -> None:
        self.store = store
        self._sealer = sealer
        self.connectors = connectors
        self.executor = executor
        self.redact = redactor
        """Masks secrets in what the API shows."""
        self._redact = redactor
        self._compiled: dict[tuple[str, int], CompiledWorkflow] = {}
        # Latest version per workflow: starting a run then needs no extra query.
        # Other engines' registrations arrive as notifications and clear an entry.
        self._latest: dict[str, int] = {}
        # One lookup per workflow at a time: after a notification cleared the cache,
        # a burst of starts shares one query instead of each making its own.
        self._lookups: dict[str, asyncio.Future[int | None]] = {}
        self._generation = 0
        executor.on_workflow_changed = self._forget_latest

    def _forget_latest(self, name: str | None) -> None:
        # A lookup already under way may read what was just replaced: it must not
        # cache its answer (the generation tells), and later starts look again.
        self._generation += 1
        if name is None:
            self._latest.clear()
            self._lookups.clear()
        else:
            self._latest.pop(name, None)
            self._lookups.pop(name, None)

    async def _latest_version(self, name: str) -> int | None:
        """The latest version of ``name`` (None: no such workflow), from the cache or
        from one shared lookup."""
        version = self._latest.get(name)
        if version is not None:
            return version
        lookup = self._lookups.get(name)
        if lookup is None:
            lookup = asyncio.ensure_future(self._look_up_latest(name, self._generation))
            self._lookups[name] = lookup

            def done(finished: asyncio.Future[int | None]) -> None:
                if self._lookups.get(name) is finished:
                    del self._lookups[name]
                if not finished.cancelled():
                    finished.exception()  # retrieved here; each waiter gets it too

            lookup.add_done_callback(done)
        # Shielded: one waiter giving up does not cancel the others' lookup.
        return await asyncio.shield(lookup)

    async def _look_up_latest(self, name: str, generation: int) -> int | None:
        stored = await self.store.get_workflow_version(name)
        if stored is None:
            return None
        if generation == self._generation:
            self._latest[name] = max(stored.version, self._latest.get(name, 0))
        return stored.version

    # Definitions ------------------------------------------------------------------------

    async def register(
        self, document: Any, *, source: str, name: str | None = None
    ) -> tuple[str, Registration]:
        """Validate and store a definition; (its name, the version it has now).

        Raises :class:`Invalid` listing every problem, or :class:`Unavailable` when a connector it
        uses cannot be asked for its catalog.
        """
        try:
            # Parsing and compiling untrusted text is bounded work (size, nesting, alias
            # and operator limits), but CPU work: off the event loop.
            definition = await asyncio.to_thread(parse_definition, document)
        except DefinitionError as exc:
            raise Invalid("The workflow definition is invalid.", errors=exc.problems) from None
        if name is not None and definition.name != name:
            raise Invalid(
                "The workflow definition is invalid.",
                errors=[
                    FieldError(
                        field="name",
                        message=f"is {definition.name!r} but the URL says {name!r}",
                    )
                ],
            )
        descriptors, unavailable = await self.connectors.descriptors()
        if any(s.uses not in descriptors for s in definition.steps):
            descriptors, unavailable = await self.connectors.descriptors(refresh=True)
        down = sorted({s.connector for s in definition.steps if s.connector in unavailable})
        if down:
            raise Unavailable(
                "Cannot check the definition now: " + "; ".join(unavailable[name] for name in down),
                retry_after_s=5,
            )
        try:
            compiled = await asyncio.to_thread(compile_workflow, definition, catalog=descriptors)
        except DefinitionError as exc:
            raise Invalid("The workflow definition is invalid.", errors=exc.problems) from None
        recursion = await recursion_problems(definition, self._stored_definition)
        if recursion:
            raise Invalid("The workflow definition is invalid.", errors=recursion)
        registration = await self.store.put_workflow_version(
            name=definition.name,
            description=definition.description,
            definition=msgspec.to_builtins(definition),
            source=source,
            checksum=canonical_checksum(definition),
        )
        self._latest[definition.name] = max(
            registration.version, self._latest.get(definition.name, 0)
        )
        self._compiled[(definition.name, registration.version)] = dataclasses.replace(
            compiled, version=registration.version
        )
        if registration.created:
            _log.info("workflow registered", workflow=definition.name, version=registration.version)
        return definition.name, registration

    async def _stored_definition(self, name: str) -> WorkflowDefinition | None:
        """The latest stored definition of ``name`` (None: none, or unreadable now)."""
        stored = await self.store.get_workflow_version(name)
        if stored is None:
            return None
        try:
            return parse_definition(stored.definition)
        except DefinitionError:
            return None

    async def compiled(self, name: str, version: int) -> CompiledWorkflow:
        """The compiled definition of a stored version (cached)."""
        key = (name, version)
        cached = self._compiled.get(key)
        if cached is not None:
            return cached
        stored = await self.store.get_workflow_version(name, version)
        if stored is None:
            raise LookupError(f"workflow {name} has no version {version}")
        definition = parse_definition(stored.definition)
        compiled = compile_workflow(definition, catalog=None, version=version)
        self._compiled[key] = compiled
        return compiled

    async def latest(self, name: str, version: int | None = None) -> CompiledWorkflow:
        """The latest version of ``name`` (or ``version`` of it), compiled;
        :class:`NotFound` when there is none."""
        if version is not None:
            try:
                return await self.compiled(name, version)
            except LookupError:
                raise NotFound(f"The workflow {name!r} has no version {version}.") from None
        latest = await self._latest_version(name)
        if latest is None:
            raise NotFound(f"There is no workflow called {name!r}.")
        return await self.compiled(name, latest)

    # Runs -------------------------------------------------------------------------------

    async def start_run(
        self,
        name: str,
        *,
        inputs: dict[str, Any],
        idempotency_key: str | None,
        trigger: dict[str, Any],
        version: int | None = None,
    ) -> tuple[RunRecord, bool]:
        """Start a run of the latest version of ``name`` (or of ``version``); (the run,
        whether it is new)."""
        workflow = await self.latest(name, version)
        try:
            check_structure(inputs, what="the inputs")
        except LimitExceeded as exc:
            raise Invalid(
                "The run's inputs are invalid.",
                errors=[FieldError(field="inputs", message=str(exc))],
            ) from None
        try:
            resolved = validate_inputs(workflow.definition, inputs)
        except DefinitionError as exc:
            raise Invalid("The run's inputs are invalid.", errors=exc.problems) from None
        unstorable = self._sealer.problems(resolved)
        if unstorable:
            raise Invalid(
                "The run's inputs cannot be stored safely.",
                errors=[FieldError(field=path, message=message) for path, message in unstorable],
            )
        # The request as it matters: a repeat with the same Idempotency-Key must match it.
        request_hash = self._sealer.fingerprint({"inputs": resolved, "trigger": trigger})
        try:
            run, created = await self.executor.create_run(
                workflow,
                inputs=resolved,
                trigger=trigger,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
            )
        except EngineStopping:
            raise Unavailable("This engine is shutting down; try again.", retry_after_s=2) from None
        if not created and run.request_hash is not None and run.request_hash != request_hash:
            raise StateConflict(
                f"The Idempotency-Key {idempotency_key!r} was used for a different request "
                f"(run {run.id}, other inputs or trigger): send the same request to get that "
                "run again, or use a new key for a new run.",
                extra={"run_id": str(run.id)},
            )
        return run, created

    async def wait(self, run: RunRecord, seconds: float) -> RunRecord:
        """The run once finished, or as it is after ``seconds``."""
        if run.finished or seconds <= 0:
            return run
        deadline = time.monotonic() + seconds
        if self.executor.is_local(run.id):
            await self.executor.wait_for(run.id, seconds)
        while True:
            current = await self.store.get_run(run.id)
            assert current is not None
            remaining = deadline - time.monotonic()
            if current.finished or remaining <= 0:
                return current
            await asyncio.sleep(min(WAIT_POLL_S, remaining))

    async def run(self, run_id: UUID) -> RunRecord:
        """The run as it is now; :class:`NotFound` when unknown."""
        run = await self.store.get_run(run_id)
        if run is None:
            raise NotFound(f"There is no run {run_id}.")
        return run

    async def run_detail(self, run_id: UUID) -> RunHistory:
        """A run with every step attempt, its event log, the runs it started and the
        records it linked; 404 when unknown."""
        run = await self.run(run_id)
        attempts, events, children, links = await asyncio.gather(
            self.store.get_step_attempts(run_id),
            self.store.get_run_events(run_id),
            self.store.get_child_runs(run_id),
            self.store.get_run_links(run_id),
        )
        return RunHistory(run, attempts, events, children, links)

    async def cancel(self, run_id: UUID) -> RunRecord:
        """Cancel a run (at once when queued, between steps when running) and the runs
        it started; 409 when over."""
        before = await self.run(run_id)
        if before.finished:
            raise StateConflict(f"The run already ended ({before.status}); nothing to cancel.")
        run = await self.store.request_cancel(run_id)
        assert run is not None
        self.executor.cancel_local(run_id)
        return run

    async def signal(self, run_id: UUID, name: str, payload: Any) -> SignalAnswer:
        """Send a run a signal; 404 unknown run, 409 ended, 422 bad name or payload."""
        problems = []
        if not re.fullmatch(SIGNAL_NAME_PATTERN, name):
            problems.append(
                FieldError(
                    field="name",
                    message="must be 1-64 letters, digits, '_', '.', ':' or '-', starting "
                    "with a letter or digit",
                )
            )
        try:
            check_structure(payload, what="the payload")
        except LimitExceeded as exc:
            problems.append(FieldError(field="payload", message=str(exc)))
        if problems:
            raise Invalid("The signal is invalid.", errors=problems)
        answer = await self.store.signal_run(run_id, name, self._redact(payload))
        if answer is None:
            raise NotFound(f"There is no run {run_id}.")
        if not answer.accepted:
            raise StateConflict(f"The run already ended ({answer.status}); it takes no signals.")
        return answer

    async def retry(self, run_id: UUID) -> RunRecord:
        """Queue a failed or cancelled run again, resuming at the step that did not finish."""
        before = await self.run(run_id)
        if before.status not in ("failed", "cancelled"):
            raise StateConflict(
                f"Only failed or cancelled runs can be retried; this one is {before.status}."
            )
        run = await self.store.retry_run(run_id)
        assert run is not None
        return run

    async def list_runs(self, query: RunFilter) -> list[RunRecord]:
        """The runs ``query`` selects, newest first."""
        return await self.store.list_runs(query)

    # Connectors -------------------------------------------------------------------------

    async def invoke_once(
        self, connector: str, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Call one action outside any workflow (to try a connection); the redacted output."""
        if self.connectors.get(connector) is None:
            raise NotFound(
                f"There is no connector {connector!r}; known: {', '.join(self.connectors.names)}.",
            )
        try:
            output = await self.connectors.invoke(
                f"{connector}.{action}", ActionRequest(input=payload)
            )
        except ActionFailed as failed:
            error = failed.error
            raise ConnectorFailed(
                str(self._redact(error.message)),
                status=ERROR_STATUS[error.code],
                retry_after_s=error.retry_after_s,
                extra={
                    "code": error.code,
                    "retryable": error.retryable,
                    "retry_after_s": error.retry_after_s,
                },
            ) from None
        result: dict[str, Any] = self._redact(output)
        return result


def yaml_source(document: Any) -> str:
    """A readable YAML rendering of a definition given as JSON, to store as its source."""
    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
