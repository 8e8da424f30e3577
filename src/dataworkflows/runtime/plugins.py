"""Connectors and sandboxes as plug-ins: each package exports one spec, found by name.

A connector package exports a :class:`ConnectorSpec` (its settings section, how to
build its parts, its default port, which settings mean "wanted here", and where its
sandbox is) and declares it as an entry point of the ``dataworkflows.connectors``
group (``[project.entry-points."dataworkflows.connectors"]`` in ``pyproject.toml``).
The CLI, ``dev``, the engine, secret redaction and ``dataworkflows config`` loop over
what :func:`discover_connectors` finds, so adding a connector edits no shared file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Final, Generic, TypeVar

import msgspec

from dataworkflows.runtime.connector_app import ConnectorParts
from dataworkflows.runtime.serving import ServedApp

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorSpec",
    "PluginError",
    "SandboxNotConfigured",
    "SandboxSpec",
    "StandIn",
    "discover_connectors",
    "load_sandbox",
]

ENTRY_POINT_GROUP: Final = "dataworkflows.connectors"

S = TypeVar("S", bound=msgspec.Struct)


class PluginError(Exception):
    """A connector's entry point cannot be loaded or is not a spec; the message says which."""


class SandboxNotConfigured(Exception):
    """``serve sandbox`` lacks the credentials the sandbox should accept; the message names them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StandIn:
    """A stand-in ``dev`` started: its app on its socket, the variables that point the
    product at it, and what to tell the person at the terminal about it."""

    served: ServedApp
    environment: Mapping[str, str]
    banner: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxSpec(Generic[S]):
    """A vendor's stand-in: served by ``serve sandbox <name>``, started by ``dev`` when
    the vendor has no credentials."""

    name: str
    summary: str
    settings: type[S]
    default_port: int
    dev: Callable[[S, str, int], StandIn | None]
    """For ``dev``: given its settings, the host and a port, the stand-in started there,
    or None when the vendor is configured (nothing to stand in for)."""
    tls: Callable[[S], bool] | None = None
    """Whether ``serve sandbox`` serves HTTPS for these settings (with a CA it makes at
    start, written to ``DW_DATA_DIR/sandbox-<name>/ca.pem``); None: never."""
    app: Callable[[S, str], Any] | None = None
    """The sandbox's ASGI app for ``serve sandbox``, given its settings and the URL it
    listens at; raises :class:`SandboxNotConfigured` naming what to set. None: a
    stand-in ``dev`` starts but ``serve sandbox`` does not offer."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorSpec(Generic[S]):
    """Everything the product needs to know about one connector."""

    name: str
    summary: str
    settings: type[S]
    parts: Callable[[S], AbstractAsyncContextManager[ConnectorParts]] | str
    """Its actions, readiness checks and routes, open while the context is (raises
    :class:`~dataworkflows.runtime.connector_app.ConnectorNotConfigured`); or the
    ``module:function`` that builds them, imported only when it is called (so that a
    process loads only the SDKs of the connectors it runs)."""
    default_port: int
    configured_by: tuple[str, ...] = ()
    """Fields of its settings: none set means "not wanted here" (the engine leaves it
    out); some set but not all is a mistake its ``parts`` names. Empty: always wanted."""
    sandbox: str | None = None
    """``module:attribute`` of its :class:`SandboxSpec`, loaded only when needed (the
    connector does not import the sandbox that imitates its vendor)."""

    def open(self, section: S) -> AbstractAsyncContextManager[ConnectorParts]:
        """The connector's parts for ``section`` (see :attr:`parts`)."""
        parts = self.parts
        if isinstance(parts, str):
            parts = _load(parts, f"the parts of {self.name},")
        return parts(section)

    def wanted(self, section: S) -> bool:
        """Whether ``section`` configures this connector."""
        return not self.configured_by or any(getattr(section, name) for name in self.configured_by)


def _load(reference: str, what: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute) if attribute else module
    except Exception as exc:  # an ImportError, or anything the module raised on import
        raise PluginError(
            f"{what} {reference} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from None


def discover_connectors() -> dict[str, ConnectorSpec[Any]]:
    """Every installed connector, by name, in entry-point order."""
    found: dict[str, ConnectorSpec[Any]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in found:
            continue  # the first distribution that declares a name wins
        spec = _load(entry.value, f"the connector entry point {entry.name} =")
        if not isinstance(spec, ConnectorSpec):
            raise PluginError(
                f"the connector entry point {entry.name} = {entry.value} is a "
                f"{type(spec).__name__}, not a ConnectorSpec"
            )
        if spec.name != entry.name:
            raise PluginError(
                f"the connector entry point {entry.name} = {entry.value} names a spec "
                f"called {spec.name!r}"
            )
        found[entry.name] = spec
    return found


def load_sandbox(spec: ConnectorSpec[Any]) -> SandboxSpec[Any] | None:
    """The sandbox of ``spec``, if it has one."""
    if spec.sandbox is None:
        return None
    sandbox = _load(spec.sandbox, f"the sandbox of {spec.name},")
    if not isinstance(sandbox, SandboxSpec):
        raise PluginError(f"the sandbox of {spec.name}, {spec.sandbox}, is not a SandboxSpec")
    return sandbox
