"""The webhooks' use cases: declare them, and turn a verified delivery into a run."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from uuid import UUID, uuid5

import msgspec

from dataworkflows.engine.declarations import declare_file
from dataworkflows.engine.definitions import DefinitionError
from dataworkflows.engine.errors import Invalid, NotFound, Unauthorized
from dataworkflows.engine.evaluation import Evaluator
from dataworkflows.engine.expressions import ExpressionError
from dataworkflows.engine.hook_store import HookRecord, HookStore, StoredHook
from dataworkflows.engine.hooks import (
    HOOK_NAME_RE,
    CompiledHook,
    HookSpec,
    Verify,
    VerifyFailed,
    compile_hook,
    monday_challenge,
    parse_hook,
    secret_from_environment,
    verify_request,
)
from dataworkflows.engine.service import WorkflowService
from dataworkflows.engine.store import RunRecord
from dataworkflows.runtime.limits import LimitExceeded, check_structure
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.problems import FieldError
from dataworkflows.runtime.sealing import Sealer
from dataworkflows.runtime.settings import SettingsError

__all__ = ["HOOKS_FILE", "HookService"]

_log = get_logger(__name__)

HOOKS_FILE: Final = "hooks.yaml"
"""The file beside the shipped workflows that declares webhooks."""
EVALUATION_S: Final = 5.0
MAX_DELIVERY_ID_CHARS: Final = 200
_HIDDEN_HEADERS: Final = frozenset({"authorization", "cookie", "x-dw-signature"})
"""Headers a hook's expressions cannot read: they carry the sender's credentials."""
_HOOKS_NS: Final = UUID("2b7e1516-28ae-4d2a-a6f7-15880932c8f1")


def _sealing_id(name: str) -> UUID:
    return uuid5(_HOOKS_NS, name)


class HookService:
    """Declare, list and delete hooks; start the run of a verified delivery."""

    def __init__(
        self,
        *,
        store: HookStore,
        workflows: WorkflowService,
        sealer: Sealer,
        evaluator: Evaluator,
        environ: Mapping[str, str],
    ) -> None:
        self.store = store
        self.workflows = workflows
        self._sealer = sealer
        self._evaluator = evaluator
        self._environ = environ
        self._compiled: dict[tuple[str, Any], CompiledHook] = {}

    async def put(
        self, document: Any, *, source: str, name: str | None = None
    ) -> tuple[HookRecord, bool]:
        """Create or replace a hook; (it as stored, whether it is new). :class:`Invalid`
        names each bad field."""
        environ = self._environ if source == "file" else None
        try:
            spec, tolerance = await asyncio.to_thread(
                parse_hook, document, name=name, environ=environ
            )
        except DefinitionError as exc:
            raise Invalid("The hook is invalid.", errors=exc.problems) from None
        try:
            await self.workflows.latest(spec.workflow)
        except NotFound:
            raise Invalid(
                "The hook is invalid.",
                errors=[
                    FieldError(
                        field="workflow", message=f"there is no workflow called {spec.workflow!r}"
                    )
                ],
            ) from None
        if not self._sealer.has_key:
            raise Invalid(
                "The hook's secret cannot be stored safely.",
                errors=[
                    FieldError(
                        field="verify.secret",
                        message="this engine has no DW_SECRETS_KEY to store it encrypted "
                        "(secrets are never stored in clear)",
                    )
                ],
            )
        assert spec.verify.secret is not None
        created = await self.store.put_hook(
            StoredHook(
                name=spec.name,
                workflow_name=spec.workflow,
                inputs=spec.inputs,
                delivery=spec.delivery,
                verify_kind=spec.verify.kind,
                secret=self._sealer.seal({"secret": spec.verify.secret}, _sealing_id(spec.name)),
                tolerance_s=tolerance,
                description=spec.description,
                source=source,
            )
        )
        if created:
            _log.info("hook created", hook=spec.name, workflow=spec.workflow)
        return await self.get(spec.name), created

    async def register_file(self, path: Path) -> list[str]:
        """Declare the hooks of a ``hooks.yaml``; a line per one not declared. A hook
        whose ``secret_env`` is not set is skipped with a log line: it is how a
        deployment leaves out a shipped hook it does not use (monday-items)."""

        async def put(entry: Any) -> object:
            verify = entry.get("verify") if isinstance(entry, dict) else None
            variable = verify.get("secret_env") if isinstance(verify, dict) else None
            if isinstance(variable, str) and not _secret_is_set(variable, self._environ):
                _log.info(
                    "hook skipped: its secret is not set",
                    hook=str(entry.get("name")),
                    variable=variable,
                )
                return None
            return await self.put(entry, source="file")

        return await declare_file(path, key="hooks", put=put, workflows=self.workflows)

    async def list_hooks(self) -> list[HookRecord]:
        """Every hook, by name."""
        return await self.store.list_hooks()

    async def get(self, name: str) -> HookRecord:
        """One hook; :class:`NotFound` when there is none."""
        record = await self.store.get_hook(name) if HOOK_NAME_RE.fullmatch(name) else None
        if record is None:
            raise NotFound(f"There is no hook called {name!r}.")
        return record

    async def delete(self, name: str) -> None:
        """Remove a hook (its runs stay); :class:`NotFound` when there is none."""
        if not HOOK_NAME_RE.fullmatch(name) or not await self.store.delete_hook(name):
            raise NotFound(f"There is no hook called {name!r}.")

    async def challenge(self, name: str, body: bytes) -> str | None:
        """The answer to monday's URL challenge when ``body`` is one and the hook is
        verified as monday's (nothing starts); None otherwise."""
        challenge = monday_challenge(body)
        if challenge is None:
            return None
        record = await self.get(name)
        return challenge if record.verify_kind == "monday" else None

    async def deliver(
        self,
        name: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        query: Mapping[str, str],
    ) -> tuple[RunRecord, bool]:
        """Verify a delivery and start its run; (the run, whether it is new: a repeated
        delivery id answers the first delivery's run).

        :class:`Unauthorized` when the sender is not verified (nothing starts),
        :class:`Invalid` when the body or the inputs it maps to are wrong.
        """
        record = await self.get(name)
        secret = self._secret(record)
        try:
            verify_request(
                record.verify_kind,
                secret,
                headers=headers,
                body=body,
                tolerance_s=record.tolerance_s,
            )
        except VerifyFailed as exc:
            _log.warning("hook delivery refused", hook=name, reason=str(exc))
            raise Unauthorized(f"The delivery is not verified: {exc}.") from None
        context = {
            "body": _decode_body(body),
            "headers": {k: v for k, v in headers.items() if k not in _HIDDEN_HEADERS},
            "query": dict(query),
        }
        compiled = self._compile(record)
        try:
            inputs = await self._evaluator.evaluate(compiled.inputs, context, seconds=EVALUATION_S)
        except ExpressionError as exc:
            raise Invalid(
                "The delivery does not map to the workflow's inputs.",
                errors=[FieldError(field="body", message=str(exc))],
            ) from None
        try:
            delivery = await self._evaluator.evaluate(
                compiled.delivery, context, seconds=EVALUATION_S
            )
        except ExpressionError as exc:
            raise Invalid(
                "The hook's delivery id cannot be read from this delivery.",
                errors=[FieldError(field="delivery", message=str(exc))],
            ) from None
        if not isinstance(inputs, dict):
            raise Invalid(
                "The hook's inputs are not a mapping.",
                errors=[FieldError(field="inputs", message="must give a mapping of inputs")],
            )
        delivery_id = "" if delivery is None else str(delivery).strip()
        if len(delivery_id) > MAX_DELIVERY_ID_CHARS:
            raise Invalid(
                "The delivery id is too long.",
                errors=[
                    FieldError(
                        field="delivery", message=f"is over {MAX_DELIVERY_ID_CHARS} characters"
                    )
                ],
            )
        trigger: dict[str, Any] = {"source": "hook", "hook": name}
        if delivery_id:
            trigger["delivery"] = delivery_id
        return await self.workflows.start_run(
            record.workflow_name,
            inputs=inputs,
            idempotency_key=f"hook:{name}:{delivery_id}" if delivery_id else None,
            trigger=trigger,
        )

    def _secret(self, record: HookRecord) -> str:
        try:
            opened = self._sealer.unseal(record.secret, _sealing_id(record.name))
        except Exception:  # SecretsUnavailable: the key changed or is missing
            raise Unauthorized(
                "This hook's secret cannot be opened by this engine (DW_SECRETS_KEY changed?); "
                "declare the hook again."
            ) from None
        return str(opened["secret"])

    def _compile(self, record: HookRecord) -> CompiledHook:
        key = (record.name, record.updated_at)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = compile_hook(
                HookSpec(
                    name=record.name,
                    workflow=record.workflow_name,
                    verify=Verify(kind="bearer"),
                    inputs=record.inputs,
                    delivery=record.delivery,
                )
            )
            self._compiled = {k: v for k, v in self._compiled.items() if k[0] != record.name}
            self._compiled[key] = compiled
        return compiled


def _secret_is_set(variable: str, environ: Mapping[str, str]) -> bool:
    """Whether ``variable`` (or its ``_FILE``) is set; a file that cannot be read counts
    as set, so that declaring the hook names the problem."""
    try:
        return secret_from_environment(variable, environ) is not None
    except SettingsError:
        return True


def _decode_body(body: bytes) -> Any:
    """The body as JSON when it is JSON, else as text; :class:`Invalid` when neither."""
    stripped = body.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            data = msgspec.json.decode(body)
            check_structure(data, what="the body")
        except msgspec.DecodeError as exc:
            raise Invalid(
                "The body is not valid JSON.", errors=[FieldError(field="body", message=str(exc))]
            ) from None
        except LimitExceeded as exc:
            raise Invalid(
                "The body is too large.", errors=[FieldError(field="body", message=str(exc))]
            ) from None
        return data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(
            "The body is neither JSON nor text.",
            errors=[FieldError(field="body", message="is not UTF-8")],
        ) from None
