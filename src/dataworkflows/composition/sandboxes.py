"""The sandboxes, composed: each vendor's stand-in served on its port.

``serve sandbox <name>`` runs one (:func:`run_sandbox`); ``dev`` starts those it needs
through each sandbox's own ``dev`` hook. The list is every installed connector's
sandbox (see :mod:`dataworkflows.runtime.plugins`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from dataworkflows.composition.errors import ConfigurationProblem
from dataworkflows.composition.serve import serve_app
from dataworkflows.composition.settings import Configuration, Settings, connector_specs
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.plugins import SandboxNotConfigured, SandboxSpec, load_sandbox
from dataworkflows.runtime.serving import bind_socket, display_host, local_url
from dataworkflows.runtime.tls import local_certificates

__all__ = ["run_sandbox", "sandboxes"]

_log = get_logger(__name__)


def sandboxes() -> dict[str, SandboxSpec[Any]]:
    """Every installed connector's sandbox, by name."""
    found: dict[str, SandboxSpec[Any]] = {}
    for spec in connector_specs().values():
        sandbox = load_sandbox(spec)
        if sandbox is not None:
            found[sandbox.name] = sandbox
    return found


def run_sandbox(settings: Settings, configuration: Configuration, name: str) -> int:
    """``serve sandbox <name>``: the vendor's stand-in, accepting the configured
    credentials."""
    sandbox = sandboxes()[name]
    if sandbox.app is None:
        raise ConfigurationProblem(f"the {name} sandbox runs only inside `dataworkflows dev`")
    section = configuration.section(sandbox.settings)
    sock = bind_socket(settings.host, settings.port_or(sandbox.default_port))
    tls = None
    if sandbox.tls is not None and sandbox.tls(section):
        # A CA of this start, so that clients that accept only https:// can be pointed
        # here: trust its ca.pem (SSL_CERT_FILE, verify=, connection_verify=).
        tls = local_certificates(
            settings.data_dir / f"sandbox-{name}",
            [display_host(settings.host), "127.0.0.1", "localhost"],
        )
    url = local_url(settings.host, sock.getsockname()[1], https=tls is not None)
    try:
        app = sandbox.app(section, url)
    except SandboxNotConfigured as exc:
        sock.close()
        raise ConfigurationProblem(str(exc)) from None
    return serve_app(
        f"sandbox-{name}",
        sock,
        contextlib.nullcontext(app),
        host=settings.host,
        tls=tls,
        announce=lambda url: _log.info(
            "sandbox listening",
            sandbox=name,
            url=url,
            **({} if tls is None else {"ca_file": str(tls.ca_file)}),
        ),
    )
