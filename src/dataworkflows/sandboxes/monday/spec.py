"""The Monday sandbox's spec: ``serve sandbox monday``, and ``dev``'s stand-in."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Final

import msgspec

from dataworkflows.runtime.plugins import SandboxNotConfigured, SandboxSpec, StandIn
from dataworkflows.runtime.serving import ServedApp, bind_socket, local_url
from dataworkflows.runtime.settings import SECRET, env, parse_secret

__all__ = ["SANDBOX", "MondaySandboxSettings"]


class MondaySandboxSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The token the sandbox accepts (the connector's own)."""

    api_token: Annotated[
        str | None,
        env("MONDAY_API_TOKEN", parse_secret, "the token the sandbox accepts"),
        SECRET,
    ] = None


def _create(token: str) -> Any:
    from dataworkflows.sandboxes.monday.app import MondaySandbox, create_monday_sandbox_app
    from dataworkflows.sandboxes.world import demo_anchor

    # Seeded around today (as the other sandboxes are), so the demo data looks current.
    return create_monday_sandbox_app(MondaySandbox(token=token, anchor=demo_anchor()))


def _app(settings: MondaySandboxSettings, url: str) -> Any:
    if not settings.api_token:
        raise SandboxNotConfigured(
            "MONDAY_API_TOKEN is not set: the sandbox accepts requests carrying this token "
            "(give the Monday connector the same one)"
        )
    return _create(settings.api_token)


def _dev(settings: MondaySandboxSettings, host: str, port: int) -> StandIn | None:
    if settings.api_token is not None:
        return None
    token = secrets.token_urlsafe(24)
    sock = bind_socket(host, port)
    url = local_url(host, sock.getsockname()[1])
    return StandIn(
        served=ServedApp(name="sandbox-monday", app=_create(token), sock=sock),
        environment={"MONDAY_API_TOKEN": token, "MONDAY_API_URL": f"{url}/v2"},
    )


SANDBOX: Final = SandboxSpec(
    name="monday",
    summary="monday.com's GraphQL API over demo boards",
    settings=MondaySandboxSettings,
    default_port=8201,
    app=_app,
    dev=_dev,
)
