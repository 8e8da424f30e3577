"""The Confluence sandbox's spec: ``serve sandbox confluence``, and ``dev``'s stand-in."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Final

import msgspec

from dataworkflows.runtime.plugins import SandboxNotConfigured, SandboxSpec, StandIn
from dataworkflows.runtime.serving import ServedApp, bind_socket, local_url
from dataworkflows.runtime.settings import (
    SECRET,
    env,
    parse_http_url,
    parse_identifier,
    parse_secret,
)

__all__ = ["SANDBOX", "ConfluenceSandboxSettings"]


class ConfluenceSandboxSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The credentials the sandbox accepts, and the URL others reach it at."""

    url: Annotated[
        str | None, env("CONFLUENCE_URL", parse_http_url, "the sandbox's URL as others see it")
    ] = None
    email: Annotated[
        str | None, env("CONFLUENCE_EMAIL", parse_identifier, "the account of Basic auth")
    ] = None
    api_token: Annotated[
        str | None,
        env("CONFLUENCE_API_TOKEN", parse_secret, "the token the sandbox accepts"),
        SECRET,
    ] = None


def _create(*, email: str | None, api_token: str, public_url: str) -> Any:
    from dataworkflows.sandboxes.confluence.app import (
        ConfluenceSandbox,
        create_confluence_sandbox_app,
    )
    from dataworkflows.sandboxes.world import demo_anchor

    sandbox = ConfluenceSandbox(
        email=email,
        api_token=api_token,
        public_url=public_url,
        anchor=demo_anchor(),  # seeded around today, so the demo data looks current
    )
    return create_confluence_sandbox_app(sandbox)


def _app(settings: ConfluenceSandboxSettings, url: str) -> Any:
    if not settings.api_token:
        raise SandboxNotConfigured(
            "CONFLUENCE_API_TOKEN is not set: the sandbox accepts requests with this token "
            "(as Basic auth with CONFLUENCE_EMAIL, or as a bearer token)"
        )
    return _create(
        email=settings.email, api_token=settings.api_token, public_url=settings.url or url
    )


def _dev(settings: ConfluenceSandboxSettings, host: str, port: int) -> StandIn | None:
    if settings.url is not None or settings.api_token is not None:
        return None
    email, token = "dev@dataworkflows.invalid", secrets.token_urlsafe(24)
    sock = bind_socket(host, port)
    url = local_url(host, sock.getsockname()[1])
    app = _create(email=email, api_token=token, public_url=url)
    return StandIn(
        served=ServedApp(name="sandbox-confluence", app=app, sock=sock),
        environment={
            "CONFLUENCE_URL": url,
            "CONFLUENCE_EMAIL": email,
            "CONFLUENCE_API_TOKEN": token,
        },
    )


SANDBOX: Final = SandboxSpec(
    name="confluence",
    summary="Confluence Cloud's REST API over demo spaces and pages",
    settings=ConfluenceSandboxSettings,
    default_port=8203,
    app=_app,
    dev=_dev,
)
