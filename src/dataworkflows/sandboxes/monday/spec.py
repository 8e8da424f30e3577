"""The Monday sandbox's spec: ``serve sandbox monday``, and ``dev``'s stand-in."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Final

import msgspec

from dataworkflows.runtime.plugins import SandboxNotConfigured, SandboxSpec, StandIn
from dataworkflows.runtime.serving import ServedApp, bind_socket, local_url
from dataworkflows.runtime.settings import SECRET, env, float_between, parse_secret

__all__ = ["SANDBOX", "MondaySandboxSettings"]


class MondaySandboxSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The token the sandbox accepts (the connector's own), and how it sends webhooks."""

    api_token: Annotated[
        str | None,
        env("MONDAY_API_TOKEN", parse_secret, "the token the sandbox accepts"),
        SECRET,
    ] = None
    signing_secret: Annotated[
        str | None,
        env(
            "MONDAY_SIGNING_SECRET",
            parse_secret,
            "the app signing secret webhook deliveries are signed with (a JWT)",
        ),
        SECRET,
    ] = None
    webhook_retry_s: Annotated[
        float,
        env(
            "MONDAY_SANDBOX_WEBHOOK_RETRY_S",
            float_between(0.05, 3600),
            "seconds between retries of a failed webhook delivery (monday: 60)",
        ),
    ] = 60.0


def _create(token: str, signing_secret: str | None, retry_s: float) -> Any:
    from dataworkflows.sandboxes.monday.app import MondaySandbox, create_monday_sandbox_app
    from dataworkflows.sandboxes.monday.webhooks import WebhookHub
    from dataworkflows.sandboxes.world import demo_anchor

    # Seeded around today (as the other sandboxes are), so the demo data looks current.
    hub = WebhookHub(signing_secret=signing_secret, retry_interval_s=retry_s)
    return create_monday_sandbox_app(MondaySandbox(token=token, anchor=demo_anchor(), hub=hub))


def _app(settings: MondaySandboxSettings, url: str) -> Any:
    if not settings.api_token:
        raise SandboxNotConfigured(
            "MONDAY_API_TOKEN is not set: the sandbox accepts requests carrying this token "
            "(give the Monday connector the same one)"
        )
    return _create(settings.api_token, settings.signing_secret, settings.webhook_retry_s)


def _dev(settings: MondaySandboxSettings, host: str, port: int) -> StandIn | None:
    if settings.api_token is not None:
        return None
    token = secrets.token_urlsafe(24)
    # The engine's shipped monday-items hook verifies deliveries with the same secret.
    signing_secret = settings.signing_secret or secrets.token_urlsafe(32)
    sock = bind_socket(host, port)
    url = local_url(host, sock.getsockname()[1])
    return StandIn(
        served=ServedApp(
            name="sandbox-monday",
            app=_create(token, signing_secret, settings.webhook_retry_s),
            sock=sock,
        ),
        environment={
            "MONDAY_API_TOKEN": token,
            "MONDAY_API_URL": f"{url}/v2",
            "MONDAY_SIGNING_SECRET": signing_secret,
        },
    )


SANDBOX: Final = SandboxSpec(
    name="monday",
    summary="monday.com's GraphQL API over demo boards",
    settings=MondaySandboxSettings,
    default_port=8201,
    app=_app,
    dev=_dev,
)
