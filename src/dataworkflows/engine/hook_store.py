"""Where webhooks are kept: the port, and its PostgreSQL adapter (hooks.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Protocol

import msgspec
from psycopg.types.json import Jsonb

from dataworkflows.runtime.database import StoredFunctions, outages_as_unavailable
from dataworkflows.runtime.queries import load_queries

__all__ = ["HookRecord", "HookStore", "PostgresHookStore", "StoredHook"]

_Q: Final = load_queries("dataworkflows.engine.sql", "hooks.sql")


class StoredHook(msgspec.Struct, frozen=True, kw_only=True):
    """A hook to store (its secret already sealed)."""

    name: str
    workflow_name: str
    inputs: dict[str, Any]
    delivery: str
    verify_kind: str
    secret: dict[str, Any]
    tolerance_s: float
    description: str
    source: str


class HookRecord(StoredHook, frozen=True, kw_only=True):
    """A hook as stored (``secret`` is ``{"secret": <sealed>}``), with its times."""

    created_at: datetime
    updated_at: datetime


class HookStore(Protocol):
    """Webhooks by name."""

    async def put_hook(self, hook: StoredHook) -> bool:
        """Create or replace; whether it is new."""
        ...

    async def list_hooks(self) -> list[HookRecord]:
        """Every hook, by name."""
        ...

    async def get_hook(self, name: str) -> HookRecord | None:
        """One hook, or None."""
        ...

    async def delete_hook(self, name: str) -> bool:
        """Remove a hook; whether there was one."""
        ...


@outages_as_unavailable
class PostgresHookStore(StoredFunctions):
    """:class:`HookStore` over a psycopg pool: one stored function per call."""

    async def put_hook(self, hook: StoredHook) -> bool:
        params = msgspec.structs.asdict(hook)
        params["inputs"] = Jsonb(hook.inputs, dumps=msgspec.json.encode)
        params["secret"] = Jsonb(hook.secret, dumps=msgspec.json.encode)
        return bool((await self._rows(_Q["put_hook"], params))[0]["created"])

    async def list_hooks(self) -> list[HookRecord]:
        return [msgspec.convert(r, HookRecord) for r in await self._rows(_Q["list_hooks"], {})]

    async def get_hook(self, name: str) -> HookRecord | None:
        rows = await self._rows(_Q["get_hook"], {"name": name})
        return msgspec.convert(rows[0], HookRecord) if rows else None

    async def delete_hook(self, name: str) -> bool:
        return bool((await self._rows(_Q["delete_hook"], {"name": name}))[0]["deleted"])
