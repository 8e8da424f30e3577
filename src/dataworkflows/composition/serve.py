"""The components, composed and served: ``serve engine | connector <name> | slack-bot |
console | tracker``, each in a process of its own (``dev`` runs the engine with the others).

A component whose settings are incomplete raises :class:`ConfigurationProblem`
naming what to set.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Annotated, Any, Final

import msgspec
from litestar import Litestar

from dataworkflows.composition.errors import ConfigurationProblem
from dataworkflows.composition.settings import Settings, connector_specs
from dataworkflows.runtime.aio import run as run_loop
from dataworkflows.runtime.database import describe_target
from dataworkflows.runtime.embedded import EmbeddedPostgres
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.migrations import prepare_database
from dataworkflows.runtime.plugins import SandboxSpec, StandIn
from dataworkflows.runtime.resources import bundled_dir
from dataworkflows.runtime.serving import (
    ServedApp,
    bind_socket,
    display_host,
    local_url,
    serve_until_stopped,
)
from dataworkflows.runtime.settings import env, parse_http_url
from dataworkflows.runtime.tls import TlsFiles
from dataworkflows.tracker.settings import TrackerSettings

__all__ = [
    "TRACKER_PORT",
    "TRACKER_STAND_IN",
    "database",
    "run_connector",
    "run_console",
    "run_engine",
    "run_slack_bot",
    "run_tracker",
    "serve_app",
    "tracker_app",
    "tracker_stand_in",
]

_log = get_logger(__name__)

TRACKER_PORT = 8091


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The database URL: ``DATABASE_URL``, or the embedded server of ``dev`` (started here)."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    pgdata = settings.data_dir / "pgdata"
    _log.info("starting the embedded PostgreSQL", data_dir=str(pgdata))
    with EmbeddedPostgres(pgdata) as server:
        yield server.url


def serve_app(
    name: str,
    sock: socket.socket,
    app: contextlib.AbstractAsyncContextManager[Any],
    *,
    host: str,
    announce: Callable[[str], None],
    tls: TlsFiles | None = None,
) -> int:
    """Serve the app ``app`` opens on ``sock`` until stopped (the socket is closed after);
    ``announce`` gets its URL once it listens. One component per process: ``serve X``.
    With ``tls``, over HTTPS."""

    async def run() -> None:
        async with app as opened:
            served = ServedApp(name=name, app=opened, sock=sock, tls=tls)
            url = local_url(host, served.port, https=tls is not None)
            await serve_until_stopped([served], on_started=lambda: announce(url))

    try:
        run_loop(run())
    finally:
        sock.close()
    return 0


def run_connector(settings: Settings, name: str) -> int:
    """``serve connector <name>``: the connector's actions over the internal connector API."""
    from dataworkflows.runtime.connector_app import ConnectorNotConfigured, create_connector_app

    if not settings.service_token:
        raise ConfigurationProblem(
            "DW_SERVICE_TOKEN is not set: connectors accept calls only with the service "
            "token the engine also has"
        )
    token = settings.service_token
    spec = connector_specs()[name]
    sock = bind_socket(settings.host, settings.port_or(spec.default_port))

    @contextlib.asynccontextmanager
    async def app() -> AsyncIterator[Litestar]:
        async with spec.open(settings.connector(spec)) as parts:
            yield create_connector_app(
                parts.actions,
                service_token=token,
                readiness=parts.readiness,
                extra_routes=parts.routes,
            )

    try:
        return serve_app(
            f"connector-{name}",
            sock,
            app(),
            host=settings.host,
            announce=lambda url: _log.info("connector listening", connector=name, url=url),
        )
    except ConnectorNotConfigured as exc:
        raise ConfigurationProblem(str(exc)) from None


def run_slack_bot(settings: Settings) -> int:
    """``serve slack-bot``: the bot, answering Slack and calling the engine."""
    from dataworkflows.composition.bot import bot_component, check_bot
    from dataworkflows.slackbot.component import DEFAULT_PORT

    check_bot(settings)
    return _serve_component(
        settings, "slack-bot", DEFAULT_PORT, bot_component(settings), settings.bot.engine_url
    )


def run_console(settings: Settings) -> int:
    """``serve console``: the web console, reading an engine over its REST API."""
    from dataworkflows.composition.console import (
        CONSOLE_DEFAULT_PORT,
        check_console,
        console_component,
    )

    check_console(settings)
    return _serve_component(
        settings,
        "console",
        CONSOLE_DEFAULT_PORT,
        console_component(settings),
        settings.console.engine_url,
    )


def _serve_component(
    settings: Settings,
    name: str,
    default_port: int,
    app: contextlib.AbstractAsyncContextManager[Litestar],
    engine_url: str,
) -> int:
    """Serve a component that calls an engine (the bot, the console) until stopped."""
    sock = bind_socket(settings.host, settings.port_or(default_port))
    return serve_app(
        name,
        sock,
        app,
        host=settings.host,
        announce=lambda url: _log.info(f"{name} listening", url=url, engine=engine_url),
    )


def run_tracker(settings: Settings) -> int:
    """``serve tracker``: the mock Task Tracker for the configured account."""
    tracker = settings.tracker
    if not tracker.username or not tracker.password:
        raise ConfigurationProblem(
            "TRACKER_USERNAME and TRACKER_PASSWORD must be set: the tracker accepts logins "
            "for that account"
        )
    served = tracker_app(
        settings.host,
        settings.port_or(TRACKER_PORT),
        username=tracker.username,
        password=tracker.password,
        secret=tracker.jwt_secret or secrets.token_urlsafe(32),
        ttl=tracker.token_ttl,
    )

    return serve_app(
        served.name,
        served.sock,
        contextlib.nullcontext(served.app),
        host=settings.host,
        announce=lambda url: _log.info("tracker listening", url=url, docs=f"{url}/docs"),
    )


def tracker_app(
    host: str, port: int, *, username: str, password: str, secret: str, ttl: float
) -> ServedApp:
    """The mock Task Tracker app on its socket (for ``serve tracker`` and ``dev``)."""
    from dataworkflows.tracker.app import create_tracker_app

    app = create_tracker_app(
        username=username, password=password, jwt_secret=secret, token_ttl_s=ttl
    )
    return ServedApp(name="tracker", app=app, sock=bind_socket(host, port))


class TrackerStandInSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What ``dev`` reads to decide whether the mock tracker stands in."""

    url: Annotated[str | None, env("TRACKER_URL", parse_http_url, "the tracker in use")] = None
    tracker: TrackerSettings = msgspec.field(default_factory=TrackerSettings)


def tracker_stand_in(settings: TrackerStandInSettings, host: str, port: int) -> StandIn | None:
    """With no tracker configured, ``dev`` runs the mock tracker, with an account made up."""
    if settings.url is not None:
        return None
    user, password = "dev", secrets.token_urlsafe(16)
    served = tracker_app(
        host,
        port,
        username=user,
        password=password,
        secret=secrets.token_urlsafe(32),
        ttl=settings.tracker.token_ttl,
    )
    url = local_url(host, served.port)
    return StandIn(
        served=served,
        environment={"TRACKER_URL": url, "TRACKER_USERNAME": user, "TRACKER_PASSWORD": password},
        banner=(
            f"  Tracker    http://{display_host(host)}:{served.port}/docs (the mock Task "
            f"Tracker; log in as {user} / {password})",
        ),
    )


TRACKER_STAND_IN: Final = SandboxSpec(
    name="tracker",
    summary="the mock Task Tracker",
    settings=TrackerStandInSettings,
    default_port=TRACKER_PORT,
    dev=tracker_stand_in,
)
"""The tracker as ``dev``'s stand-in for the Task Tracker connector (``serve tracker``
serves it on its own, so ``serve sandbox`` does not)."""


def run_engine(
    settings: Settings,
    url: str,
    *,
    dev: bool,
    also: Sequence[ServedApp] = (),
    bot_sock: socket.socket | None = None,
    on_started: Callable[[str, Sequence[ServedApp]], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Serve the engine (and, in dev, everything in ``also`` and the Slack bot on
    ``bot_sock``); ``on_started`` gets the engine's URL and the others once all listen.
    ``environ``: where hooks' ``secret_env`` are read (default ``os.environ``)."""
    from dataworkflows.composition.engine import (
        ENGINE_DEFAULT_PORT,
        EngineConfigurationError,
        engine_component,
    )

    # A split deployment may start the engine before its database and its migration
    # job are done: wait for both (DW_STARTUP_TIMEOUT) rather than crash-loop.
    applied = prepare_database(
        url,
        bundled_dir("migrations"),
        apply=dev or settings.engine.migrations == "apply",
        timeout_s=0.0 if dev else settings.engine.startup_timeout,
        on_wait=lambda reason: _log.warning("engine not started yet", reason=reason),
    )
    for migration in applied:
        _log.info("migration applied", migration=migration.name)
    port = settings.port_or(ENGINE_DEFAULT_PORT)
    sock = bind_socket(settings.host, port)

    base = local_url(settings.host, sock.getsockname()[1])

    async def run() -> None:
        async with contextlib.AsyncExitStack() as stack:
            app = await stack.enter_async_context(
                engine_component(settings, database_url=url, environ=environ)
            )
            served = [ServedApp(name="engine", app=app, sock=sock), *also]
            if bot_sock is not None:
                from dataworkflows.composition.bot import bot_component

                # In dev the bot calls this engine, with dev's key.
                bot_settings = msgspec.structs.replace(
                    settings,
                    bot=msgspec.structs.replace(
                        settings.bot, engine_url=base, engine_api_key=settings.engine.api_keys[0]
                    ),
                )
                bot = await stack.enter_async_context(bot_component(bot_settings))
                served.append(ServedApp(name="slack-bot", app=bot, sock=bot_sock))

            def started() -> None:
                _log.info("engine listening", url=base, database=describe_target(url))
                if on_started is not None:
                    on_started(base, served[1:])

            await serve_until_stopped(served, on_started=started)

    try:
        run_loop(run())
    except EngineConfigurationError as exc:
        raise ConfigurationProblem(str(exc)) from None
    finally:
        sock.close()
    return 0
