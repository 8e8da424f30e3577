"""The whole configuration: every component's section, nested, parsed once.

:class:`Settings` is what the process reads (:class:`ProcessSettings`'s fields) with
a section per component: the engine's, the bot's, the console's, the tracker's, and one per
installed connector, keyed by its name. Each section is declared next to its
component; this module only gathers them, so a new connector brings its settings
with its spec.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import msgspec

from dataworkflows.console.settings import ConsoleSettings
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.runtime.plugins import ConnectorSpec, discover_connectors, load_sandbox
from dataworkflows.runtime.settings import (
    ProcessSettings,
    load_section,
    read_environment,
    secret_values,
    section_variables,
)
from dataworkflows.slackbot.settings import BotSettings
from dataworkflows.tracker.settings import TrackerSettings

__all__ = [
    "Configuration",
    "Settings",
    "connector_specs",
    "credential_variables",
    "load_settings",
    "settings_sections",
]

S = TypeVar("S", bound=msgspec.Struct)


class Settings(ProcessSettings, frozen=True, kw_only=True):
    """The configuration of one Data Workflows process.

    Built by :func:`load_settings`; tests build it directly with keyword arguments
    (a section left out has its defaults).
    """

    engine: EngineSettings = msgspec.field(default_factory=EngineSettings)
    bot: BotSettings = msgspec.field(default_factory=BotSettings)
    console: ConsoleSettings = msgspec.field(default_factory=ConsoleSettings)
    tracker: TrackerSettings = msgspec.field(default_factory=TrackerSettings)
    connectors: dict[str, Any] = msgspec.field(default_factory=dict)
    """Each connector's section (its spec's ``settings`` type), by connector name."""

    def connector(self, spec: ConnectorSpec[S]) -> S:
        """The section of ``spec`` (its defaults if none was loaded)."""
        section = self.connectors.get(spec.name)
        if section is None:
            return spec.settings()
        return cast(S, section)

    def secrets(self) -> tuple[str, ...]:
        """Every configured secret value (fields marked SECRET), for masking."""
        return secret_values(self)


@functools.cache
def connector_specs() -> dict[str, ConnectorSpec[Any]]:
    """The installed connectors (entry points of ``dataworkflows.connectors``)."""
    return discover_connectors()


def settings_sections(
    specs: Mapping[str, ConnectorSpec[Any]] | None = None,
) -> list[tuple[str, type[msgspec.Struct]]]:
    """Every section, with the component it configures (for docs and credential files)."""
    specs = connector_specs() if specs is None else specs
    sections: list[tuple[str, type[msgspec.Struct]]] = [
        ("process", ProcessSettings),
        ("engine", EngineSettings),
        ("slack-bot", BotSettings),
        ("console", ConsoleSettings),
        ("tracker", TrackerSettings),
    ]
    for spec in specs.values():
        sections.append((f"connector {spec.name}", spec.settings))
        sandbox = load_sandbox(spec)
        if sandbox is not None:
            sections.append((f"sandbox {sandbox.name}", sandbox.settings))
    return sections


def credential_variables(specs: Mapping[str, ConnectorSpec[Any]] | None = None) -> list[str]:
    """Variables that may be read from ``<NAME>_FILE``: every field marked SECRET or
    CREDENTIAL_FILE, in every section (of the installed connectors when ``specs`` is
    None)."""
    if specs is None:
        return list(_installed_credential_variables())
    return _credential_variables(specs)


@functools.cache
def _installed_credential_variables() -> tuple[str, ...]:
    # The sections do not change while the process runs; dev reads them several times.
    return tuple(_credential_variables(connector_specs()))


def _credential_variables(specs: Mapping[str, ConnectorSpec[Any]]) -> list[str]:
    names: dict[str, None] = {}
    for _, section in settings_sections(specs):
        for field in section_variables(section):
            if field.from_file:
                names[field.var.name] = None
    return list(names)


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: Path | None = Path(".env"),
    overrides: Mapping[str, str] | None = None,
    specs: Mapping[str, ConnectorSpec[Any]] | None = None,
) -> Settings:
    """Parse the configuration from ``environ`` (default: ``os.environ``) over
    ``env_file``, with ``overrides`` on top (``dev`` points the product at its stand-ins).

    Raises :class:`~dataworkflows.runtime.settings.SettingsError` for the first invalid
    variable.
    """
    values = read_environment(
        environ, env_file=env_file, credentials=credential_variables(specs), overrides=overrides
    )
    specs = connector_specs() if specs is None else specs
    settings = load_section(Settings, values)
    connectors = {name: load_section(spec.settings, values) for name, spec in specs.items()}
    return msgspec.structs.replace(settings, connectors=connectors)


@dataclass(frozen=True, slots=True)
class Configuration:
    """Where the configuration comes from: the environment over a ``.env`` file.

    ``serve sandbox`` and ``dev`` read sections beyond :class:`Settings` (a sandbox's)
    and read them again with variables of their own on top.
    """

    environ: Mapping[str, str] | None = None
    """None: ``os.environ``."""
    env_file: Path | None = Path(".env")

    def settings(self, overrides: Mapping[str, str] | None = None) -> Settings:
        """The settings, with ``overrides`` on top."""
        return load_settings(self.environ, env_file=self.env_file, overrides=overrides)

    def section(self, cls: type[S], overrides: Mapping[str, str] | None = None) -> S:
        """One section ``cls``, with ``overrides`` on top."""
        values = read_environment(
            self.environ,
            env_file=self.env_file,
            credentials=credential_variables(),
            overrides=overrides,
        )
        return load_section(cls, values)
