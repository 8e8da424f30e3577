"""The engine's settings (``serve engine`` and ``dev``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

import msgspec

from dataworkflows.runtime.settings import (
    SECRET,
    SettingsError,
    env,
    float_between,
    int_between,
    parse_http_url,
    parse_path,
    parse_tokens,
)

__all__ = ["MIGRATION_MODES", "EngineSettings", "MigrationMode"]

MigrationMode = Literal["apply", "wait"]
MIGRATION_MODES: Final = ("apply", "wait")


def _parse_migration_mode(name: str, raw: str) -> MigrationMode:
    mode = raw.lower()
    if mode == "apply":
        return "apply"
    if mode == "wait":
        return "wait"
    raise SettingsError(name, f"must be one of {', '.join(MIGRATION_MODES)}, got {raw!r}")


def _parse_secrets_key(name: str, raw: str) -> str:
    from dataworkflows.runtime.sealing import parse_key

    try:
        parse_key(raw)
    except ValueError as exc:
        raise SettingsError(name, str(exc)) from None  # never echoes the value
    return raw


class EngineSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the engine serves its API and runs workflows."""

    api_keys: Annotated[
        tuple[str, ...],
        env("DW_API_KEYS", parse_tokens, "keys accepted as Authorization: Bearer on /v1"),
        SECRET,
    ] = ()
    max_runs: Annotated[
        int, env("DW_MAX_RUNS", int_between(1, 100_000), "runs one engine executes at once")
    ] = 1000
    lease_seconds: Annotated[
        float,
        env(
            "DW_LEASE_SECONDS",
            float_between(1.0, 3600.0),
            "how long a silent engine keeps its runs before others take them",
        ),
    ] = 30.0
    step_timeout: Annotated[
        float,
        env(
            "DW_STEP_TIMEOUT",
            float_between(0.01, 86_400.0),
            "seconds a step attempt may take when its workflow sets no timeout",
        ),
    ] = 300.0
    workflows_dir: Annotated[
        Path | None,
        env("DW_WORKFLOWS_DIR", parse_path, "more workflow definitions to register on start"),
    ] = None
    migrations: Annotated[
        MigrationMode,
        env(
            "DW_MIGRATIONS",
            _parse_migration_mode,
            "apply (serve engine applies pending migrations) or wait (for `migrate`)",
        ),
    ] = "apply"
    startup_timeout: Annotated[
        float,
        env(
            "DW_STARTUP_TIMEOUT",
            float_between(0.0, 86_400.0),
            "seconds serve engine waits for the database and migrations",
        ),
    ] = 300.0
    run_retention_days: Annotated[
        int,
        env(
            "DW_RUN_RETENTION_DAYS",
            int_between(0, 36_500),
            "days of run history kept (older ended runs are pruned); 0 keeps all",
        ),
    ] = 0
    public_url: Annotated[
        str | None,
        env(
            "DW_PUBLIC_URL",
            parse_http_url,
            "the engine's URL as people reach it, for links to the console's pages",
        ),
    ] = None
    secrets_key: Annotated[
        str | None,
        env(
            "DW_SECRETS_KEY",
            _parse_secrets_key,
            "32 random bytes (base64 or hex) that seal secret run inputs",
        ),
        SECRET,
    ] = None
