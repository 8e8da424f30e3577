"""The ``dataworkflows`` command: one entrypoint for every component and task.

Exit status: 0 success (also after Ctrl-C or SIGTERM stopped a server gracefully),
1 a runtime failure (database unreachable, a migration refused, a port in use),
2 a usage or configuration error. Errors are one line on stderr, never a traceback
(``DW_LOG_LEVEL=debug`` logs the traceback of an unexpected error).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import sys
import uuid
import webbrowser
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import msgspec

from dataworkflows import __version__
from dataworkflows.connectors import COMPONENTS as CONNECTOR_COMPONENTS
from dataworkflows.runtime.aio import run as run_loop
from dataworkflows.runtime.database import DatabaseUnavailable, describe_target
from dataworkflows.runtime.embedded import EmbeddedPostgres, EmbeddedPostgresUnavailable
from dataworkflows.runtime.logging import configure_logging, get_logger
from dataworkflows.runtime.migrations import (
    MigrationError,
    MigrationFile,
    apply_migrations,
    migration_status,
    prepare_database,
)
from dataworkflows.runtime.resources import bundled_dir
from dataworkflows.runtime.serving import (
    AddressUnavailable,
    ServedApp,
    Terminated,
    bind_socket,
    serve_until_stopped,
    sigterm_raises,
)
from dataworkflows.runtime.settings import (
    Settings,
    SettingsError,
    SlackRunRule,
    load_settings,
)

__all__ = ["main"]

PROG = "dataworkflows"
CONNECTORS = ("core", "monday", "slack", "confluence", "outlook", "tasktracker")
SANDBOXES = ("monday", "slack", "confluence", "outlook")
COMPONENTS = ("engine", "connector", "slack-bot", "tracker", "sandbox")
EXIT_FAILURE = 1
EXIT_USAGE = 2

_log = get_logger("dataworkflows.cli")


class _UserError(Exception):
    """A problem the user can fix; printed as one line."""

    def __init__(self, message: str, *, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Data Workflows: durable workflows across your project tools.",
        epilog="Configuration comes from environment variables and ./.env "
        "(see .env.example). Run '%(prog)s <command> --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")

    dev = commands.add_parser(
        "dev",
        help="run every component in one process (embedded PostgreSQL unless DATABASE_URL)",
        description="Run every component in one process for development. Without "
        "DATABASE_URL an embedded PostgreSQL keeps its data in DW_DATA_DIR "
        "(./.dataworkflows). Pending migrations are applied on start. Ctrl-C stops "
        "everything, the embedded database included.",
    )
    dev.add_argument(
        "--no-browser", action="store_true", help="do not open the API docs in a browser"
    )

    serve = commands.add_parser(
        "serve",
        help="run one component (the container entrypoint)",
        description="Run one component in this process. Components: engine, "
        f"connector {{{','.join(CONNECTORS)}}}, slack-bot, tracker, "
        f"sandbox {{{','.join(SANDBOXES)}}}.",
    )
    components = serve.add_subparsers(dest="component", required=True, metavar="<component>")
    components.add_parser(
        "engine",
        help="the REST API and the durable executor",
        description="Serve the engine on DW_HOST:DW_PORT (default port 8080). Needs "
        "DATABASE_URL and DW_API_KEYS. Waits up to DW_STARTUP_TIMEOUT seconds for the "
        "database, then applies pending migrations (DW_MIGRATIONS=apply, the default) or "
        "waits until `dataworkflows migrate` has applied them (DW_MIGRATIONS=wait).",
    )
    connector = components.add_parser(
        "connector", help="the internal connector API for one service"
    )
    connector.add_argument("name", choices=CONNECTORS, help="which connector")
    components.add_parser("slack-bot", help="Slack slash commands, events and interactivity")
    components.add_parser("tracker", help="the mock Task Tracker API")
    sandbox = components.add_parser("sandbox", help="a local stand-in for a SaaS API")
    sandbox.add_argument("name", choices=SANDBOXES, help="which service to stand in for")

    migrate = commands.add_parser(
        "migrate",
        help="apply pending database migrations",
        description="Apply pending migrations from migrations/ in order, each in a "
        "transaction. Uses DATABASE_URL, or the embedded PostgreSQL of `dev` when unset.",
    )
    migrate.add_argument(
        "--status", action="store_true", help="list applied and pending migrations; change nothing"
    )
    migrate.add_argument(
        "--wait",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for the database to answer first (a migration job "
        "started beside its database); default: fail at once",
    )

    commands.add_parser("version", help="print the version", description="Print the version.")
    return parser


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and exit."""
    args = _parser().parse_args(argv)
    if args.command == "version":
        print(f"{PROG} {__version__}")
        sys.exit(0)
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc), EXIT_USAGE)
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())
    command: Callable[[argparse.Namespace, Settings], int] = {
        "dev": _dev,
        "serve": _serve,
        "migrate": _migrate,
    }[args.command]
    try:
        with sigterm_raises():
            status = command(args, settings)
    except _UserError as exc:
        _fail(str(exc), exc.status)
    except (
        DatabaseUnavailable,
        MigrationError,
        AddressUnavailable,
        EmbeddedPostgresUnavailable,
    ) as exc:
        _fail(str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        sys.exit(130)
    except Terminated:
        sys.exit(143)
    except Exception as exc:
        _log.debug("unexpected error", exc_info=True)
        _fail(
            f"unexpected error ({type(exc).__name__}: {exc}); "
            "set DW_LOG_LEVEL=debug to log the traceback",
            EXIT_FAILURE,
        )
    sys.exit(status)


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds from 0 to a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"must be between 0 and 86400, got {text}")
    return value


def _fail(message: str, status: int) -> NoReturn:
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(status)


# Commands ---------------------------------------------------------------------------


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    with _database(settings) as url:
        directory = bundled_dir("migrations")
        target = describe_target(url)
        if args.wait:
            prepare_database(
                url,
                directory,
                apply=False,
                timeout_s=args.wait,
                on_wait=lambda reason: _log.warning("migrate waits", reason=reason),
                until_reachable=True,
            )
        if args.status:
            return _print_status(url, directory, target)

        def report(migration: MigrationFile, duration_ms: int) -> None:
            print(f"applied  {migration.name}  ({duration_ms} ms)", flush=True)

        applied = apply_migrations(url, directory, on_applied=report)
        if not applied:
            print(f"Nothing to apply: {target} is up to date.")
        else:
            print(f"Applied {len(applied)} migration(s) to {target}.")
    return 0


def _print_status(url: str, directory: Path, target: str) -> int:
    status = migration_status(url, directory)
    by_name = {m.name: m for m in status.applied}
    for name in sorted({*by_name, *(m.name for m in status.pending)}):
        if name in status.edited:
            print(f"edited   {name}  (applied, but the file changed since)")
        elif name in by_name:
            applied = by_name[name]
            when = applied.applied_at.strftime("%Y-%m-%d %H:%M:%S %Z")
            unknown = "  (no such file here: a newer release)" if name in status.unknown else ""
            print(f"applied  {name}  {when}  ({applied.duration_ms} ms){unknown}")
        else:
            print(f"pending  {name}")
    print(
        f"{target}: {len(status.applied)} applied, {len(status.pending)} pending"
        + (f", {len(status.edited)} edited" if status.edited else "")
        + "."
    )
    return EXIT_FAILURE if status.edited else 0


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """The database URL: ``DATABASE_URL``, or the embedded server of ``dev`` (started here)."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    pgdata = settings.data_dir / "pgdata"
    _log.info("starting the embedded PostgreSQL", data_dir=str(pgdata))
    with EmbeddedPostgres(pgdata) as server:
        yield server.url


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.component == "engine":
        if settings.database_url is None:
            raise _UserError(
                "DATABASE_URL is not set: `serve engine` needs a PostgreSQL server "
                "(`dataworkflows dev` starts an embedded one)",
                status=EXIT_USAGE,
            )
        if not settings.api_keys:
            raise _UserError(
                "DW_API_KEYS is not set: the engine API needs at least one key of 16+ "
                "characters (e.g. from `python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`)",
                status=EXIT_USAGE,
            )
        return _run_engine(settings, settings.database_url, dev=False, open_docs=False)
    if args.component == "tracker":
        return _run_tracker(settings)
    if args.component == "slack-bot":
        return _run_slack_bot(settings)
    if args.component == "connector" and args.name in _CONNECTORS:
        return _run_connector(settings, args.name)
    if args.component == "sandbox" and args.name in _SANDBOXES:
        return _run_sandbox(settings, args.name)
    name = f"{args.component} {args.name}" if hasattr(args, "name") else args.component
    raise _UserError(
        f"the {name} component is not part of this release yet; "
        f"available now: {', '.join(_AVAILABLE)}",
        status=EXIT_USAGE,
    )


# Connectors this release serves: name -> module with DEFAULT_PORT and
# connector_parts(settings). Imported lazily: a process loads only its own SDKs.
_CONNECTORS: dict[str, str] = {name: c.module for name, c in CONNECTOR_COMPONENTS.items()}
_SANDBOXES: dict[str, str] = {
    "monday": "dataworkflows.sandboxes.monday.app",
    "slack": "dataworkflows.sandboxes.slack.app",
    "confluence": "dataworkflows.sandboxes.confluence.app",
    "outlook": "dataworkflows.sandboxes.outlook.app",
}
_AVAILABLE = (
    "engine",
    "tracker",
    "slack-bot",
    *(f"connector {n}" for n in _CONNECTORS),
    *(f"sandbox {n}" for n in _SANDBOXES),
)


def _run_connector(settings: Settings, name: str) -> int:
    import importlib

    from dataworkflows.runtime.connector_app import ConnectorNotConfigured, create_connector_app

    if not settings.service_token:
        raise _UserError(
            "DW_SERVICE_TOKEN is not set: connectors accept calls only with the service "
            "token the engine also has",
            status=EXIT_USAGE,
        )
    token = settings.service_token
    module = importlib.import_module(_CONNECTORS[name])
    sock = bind_socket(settings.host, settings.port_or(module.DEFAULT_PORT))

    async def run() -> None:
        async with module.connector_parts(settings) as parts:
            app = create_connector_app(
                parts.actions,
                service_token=token,
                readiness=parts.readiness,
                extra_routes=parts.routes,
            )
            served = ServedApp(name=f"connector-{name}", app=app, sock=sock)

            def started() -> None:
                url = _local_url(settings.host, served.port)
                _log.info("connector listening", connector=name, url=url)

            await serve_until_stopped([served], on_started=started)

    try:
        run_loop(run())
    except ConnectorNotConfigured as exc:
        raise _UserError(str(exc), status=EXIT_USAGE) from None
    finally:
        sock.close()
    return 0


def _run_slack_bot(settings: Settings) -> int:
    from dataworkflows.slackbot.component import (
        DEFAULT_PORT,
        SlackBotNotConfigured,
        check_configuration,
        slackbot_app,
    )

    try:
        check_configuration(settings)
    except SlackBotNotConfigured as exc:
        raise _UserError(str(exc), status=EXIT_USAGE) from None
    sock = bind_socket(settings.host, settings.port_or(DEFAULT_PORT))

    async def run() -> None:
        async with slackbot_app(settings) as app:
            served = ServedApp(name="slack-bot", app=app, sock=sock)

            def started() -> None:
                url = _local_url(settings.host, served.port)
                _log.info("slack bot listening", url=url, engine=settings.engine_url)

            await serve_until_stopped([served], on_started=started)

    try:
        run_loop(run())
    except SlackBotNotConfigured as exc:
        raise _UserError(str(exc), status=EXIT_USAGE) from None
    finally:
        sock.close()
    return 0


def _run_sandbox(settings: Settings, name: str) -> int:
    port = settings.port_or(SANDBOX_PORTS[name])
    if name == "slack":
        if not settings.slack_bot_token or not settings.slack_signing_secret:
            raise _UserError(
                "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set: the sandbox accepts "
                "Web API calls carrying this token and signs what it sends the bot with this "
                "secret (give the connector and the bot the same ones)",
                status=EXIT_USAGE,
            )
        served = _slack_sandbox(
            settings.host,
            port,
            token=settings.slack_bot_token,
            signing_secret=settings.slack_signing_secret,
            bot_url=settings.slack_bot_url or f"http://127.0.0.1:{SLACK_BOT_PORT}",
            # How the others reach this sandbox: response_urls it hands out point there.
            public_url=settings.slack_api_url.removesuffix("/api")
            if settings.slack_api_url
            else None,
        )
    elif name == "confluence":
        if not settings.confluence_api_token:
            raise _UserError(
                "CONFLUENCE_API_TOKEN is not set: the sandbox accepts requests with this token "
                "(as Basic auth with CONFLUENCE_EMAIL, or as a bearer token)",
                status=EXIT_USAGE,
            )
        served = _confluence_sandbox(
            settings.host,
            port,
            email=settings.confluence_email,
            api_token=settings.confluence_api_token,
            public_url=settings.confluence_url,
        )
    elif name == "outlook":
        if not (
            settings.graph_tenant_id and settings.graph_client_id and settings.graph_client_secret
        ):
            raise _UserError(
                "GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET must be set: the "
                "sandbox issues tokens for this app registration only",
                status=EXIT_USAGE,
            )
        served = _outlook_sandbox(
            settings.host,
            port,
            tenant_id=settings.graph_tenant_id,
            client_id=settings.graph_client_id,
            client_secret=settings.graph_client_secret,
            public_url=settings.graph_api_url.removesuffix("/v1.0")
            if settings.graph_api_url
            else None,
        )
    else:
        if not settings.monday_api_token:
            raise _UserError(
                "MONDAY_API_TOKEN is not set: the sandbox accepts requests carrying this token "
                "(give the Monday connector the same one)",
                status=EXIT_USAGE,
            )
        served = _monday_sandbox(settings.host, port, settings.monday_api_token)

    async def run() -> None:
        def started() -> None:
            url = _local_url(settings.host, served.port)
            _log.info("sandbox listening", sandbox=name, url=url)

        await serve_until_stopped([served], on_started=started)

    try:
        run_loop(run())
    finally:
        served.sock.close()
    return 0


SANDBOX_PORTS = {"monday": 8201, "slack": 8202, "confluence": 8203, "outlook": 8204}
TRACKER_PORT = 8091
SLACK_BOT_PORT = 8090
OUTLOOK_DEMO_MAILBOX = "maya.patel@example.com"
"""The mailbox Outlook actions read in dev when OUTLOOK_MAILBOX is unset (sandbox data)."""


def _run_tracker(settings: Settings) -> int:
    if not settings.tracker_username or not settings.tracker_password:
        raise _UserError(
            "TRACKER_USERNAME and TRACKER_PASSWORD must be set: the tracker accepts logins "
            "for that account",
            status=EXIT_USAGE,
        )
    served = _tracker(
        settings.host,
        settings.port_or(TRACKER_PORT),
        username=settings.tracker_username,
        password=settings.tracker_password,
        secret=settings.tracker_jwt_secret or secrets.token_urlsafe(32),
        ttl=settings.tracker_token_ttl,
    )

    async def run() -> None:
        def started() -> None:
            url = _local_url(settings.host, served.port)
            _log.info("tracker listening", url=url, docs=f"{url}/docs")

        await serve_until_stopped([served], on_started=started)

    try:
        run_loop(run())
    finally:
        served.sock.close()
    return 0


def _tracker(
    host: str, port: int, *, username: str, password: str, secret: str, ttl: float
) -> ServedApp:
    from dataworkflows.tracker.app import create_tracker_app

    app = create_tracker_app(
        username=username, password=password, jwt_secret=secret, token_ttl_s=ttl
    )
    return ServedApp(name="tracker", app=app, sock=bind_socket(host, port))


def _monday_sandbox(host: str, port: int, token: str) -> ServedApp:
    from dataworkflows.sandboxes.monday.app import MondaySandbox, create_monday_sandbox_app
    from dataworkflows.sandboxes.world import demo_anchor

    # Seeded around today (as the Outlook sandbox is), so the demo data looks current.
    app = create_monday_sandbox_app(MondaySandbox(token=token, anchor=demo_anchor()))
    return ServedApp(name="sandbox-monday", app=app, sock=bind_socket(host, port))


def _slack_sandbox(
    host: str,
    port: int,
    *,
    token: str,
    signing_secret: str,
    bot_url: str,
    public_url: str | None = None,
) -> ServedApp:
    from dataworkflows.sandboxes.slack.app import SlackSandbox, create_slack_sandbox_app
    from dataworkflows.sandboxes.world import demo_anchor

    sock = bind_socket(host, port)
    sandbox = SlackSandbox(
        token=token,
        signing_secret=signing_secret,
        bot_url=bot_url,
        public_url=public_url or _local_url(host, sock.getsockname()[1]),
        # Seeded around today, so the demo history looks current; it ends before today
        # begins, so the ts the sandbox issues come after every seeded one.
        anchor=demo_anchor(),
    )
    return ServedApp(name="sandbox-slack", app=create_slack_sandbox_app(sandbox), sock=sock)


def _confluence_sandbox(
    host: str, port: int, *, email: str | None, api_token: str, public_url: str | None = None
) -> ServedApp:
    from dataworkflows.sandboxes.confluence.app import (
        ConfluenceSandbox,
        create_confluence_sandbox_app,
    )
    from dataworkflows.sandboxes.world import demo_anchor

    sock = bind_socket(host, port)
    sandbox = ConfluenceSandbox(
        email=email,
        api_token=api_token,
        public_url=public_url or _local_url(host, sock.getsockname()[1]),
        anchor=demo_anchor(),  # seeded around today, so the demo data looks current
    )
    return ServedApp(
        name="sandbox-confluence", app=create_confluence_sandbox_app(sandbox), sock=sock
    )


def _outlook_sandbox(
    host: str,
    port: int,
    *,
    tenant_id: str,
    client_id: str,
    client_secret: str,
    public_url: str | None = None,
) -> ServedApp:
    from dataworkflows.sandboxes.outlook.app import OutlookSandbox, create_outlook_sandbox_app

    sock = bind_socket(host, port)
    sandbox = OutlookSandbox(
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=client_secret,
        public_url=public_url or _local_url(host, sock.getsockname()[1]),
    )
    return ServedApp(name="sandbox-outlook", app=create_outlook_sandbox_app(sandbox), sock=sock)


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.api_keys:
        settings = msgspec.structs.replace(
            settings, api_keys=(_dev_secret(settings.data_dir, "api-key"),)
        )
    if not settings.secrets_key:
        # Runs with secret inputs are stored sealed with it (see runtime/sealing.py).
        settings = msgspec.structs.replace(
            settings, secrets_key=_dev_secret(settings.data_dir, "secrets-key")
        )
    sandboxes: list[ServedApp] = []
    try:
        # Every SaaS without credentials gets its sandbox, and the connector points there.
        if settings.monday_api_token is None:
            token = secrets.token_urlsafe(24)
            sandbox = _monday_sandbox(settings.host, _free_or(SANDBOX_PORTS["monday"]), token)
            sandboxes.append(sandbox)
            settings = msgspec.structs.replace(
                settings,
                monday_api_token=token,
                monday_api_url=f"{_local_url(settings.host, sandbox.port)}/v2",
            )
        # No tracker configured: run the mock tracker here, with an account made up.
        if settings.tracker_url is None:
            user, password = "dev", secrets.token_urlsafe(16)
            tracker = _tracker(
                settings.host,
                _free_or(TRACKER_PORT),
                username=user,
                password=password,
                secret=secrets.token_urlsafe(32),
                ttl=settings.tracker_token_ttl,
            )
            sandboxes.append(tracker)
            settings = msgspec.structs.replace(
                settings,
                tracker_url=_local_url(settings.host, tracker.port),
                tracker_username=user,
                tracker_password=password,
            )
        if settings.confluence_url is None and settings.confluence_api_token is None:
            email, token = "dev@dataworkflows.invalid", secrets.token_urlsafe(24)
            confluence = _confluence_sandbox(
                settings.host, _free_or(SANDBOX_PORTS["confluence"]), email=email, api_token=token
            )
            sandboxes.append(confluence)
            settings = msgspec.structs.replace(
                settings,
                confluence_url=_local_url(settings.host, confluence.port),
                confluence_email=email,
                confluence_api_token=token,
            )
        if not (settings.graph_tenant_id or settings.graph_client_id):
            tenant, client = str(uuid.uuid4()), str(uuid.uuid4())
            secret = secrets.token_urlsafe(24)
            outlook = _outlook_sandbox(
                settings.host,
                _free_or(SANDBOX_PORTS["outlook"]),
                tenant_id=tenant,
                client_id=client,
                client_secret=secret,
            )
            sandboxes.append(outlook)
            base = _local_url(settings.host, outlook.port)
            settings = msgspec.structs.replace(
                settings,
                graph_tenant_id=tenant,
                graph_client_id=client,
                graph_client_secret=secret,
                graph_api_url=f"{base}/v1.0",
                graph_token_url=f"{base}/{tenant}/oauth2/v2.0/token",
                outlook_mailbox=settings.outlook_mailbox or OUTLOOK_DEMO_MAILBOX,
            )
        # The Slack bot runs here whenever it can verify requests; with no Slack app
        # configured, the sandbox stands in for Slack and signs what it sends the bot.
        bot_sock = None
        if settings.slack_bot_token is None or settings.slack_signing_secret is not None:
            bot_sock = bind_socket(settings.host, _free_or(SLACK_BOT_PORT))
            sandboxes.append(ServedApp(name="slack-bot-socket", app=None, sock=bot_sock))
        if settings.slack_bot_token is None:
            assert bot_sock is not None
            token, secret = f"xoxb-dev-{secrets.token_hex(12)}", secrets.token_hex(16)
            slack = _slack_sandbox(
                settings.host,
                _free_or(SANDBOX_PORTS["slack"]),
                token=token,
                signing_secret=secret,
                bot_url=_local_url(settings.host, bot_sock.getsockname()[1]),
            )
            sandboxes.append(slack)
            settings = msgspec.structs.replace(
                settings,
                slack_bot_token=token,
                slack_signing_secret=secret,
                slack_api_url=f"{_local_url(settings.host, slack.port)}/api",
                # Sandbox users are made up: let them run anything.
                slack_run_allow=settings.slack_run_allow or (SlackRunRule(workflow="*"),),
            )
        with _database(settings) as url:
            return _run_engine(
                settings,
                url,
                dev=True,
                open_docs=not args.no_browser,
                also=[s for s in sandboxes if s.app is not None],
                bot_sock=bot_sock,
            )
    finally:
        for served in sandboxes:
            served.sock.close()


def _free_or(port: int) -> int:
    """``port`` if nothing listens there, else 0 (any free port): dev must start."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


def _dev_secret(data_dir: Path, name: str) -> str:
    """A secret of `dev` (its API key, its secrets key): made on first start, kept in
    DW_DATA_DIR/<name> (mode 0600), so that it holds across restarts."""
    path = data_dir / name
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 16:
            return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def _run_engine(
    settings: Settings,
    url: str,
    *,
    dev: bool,
    open_docs: bool,
    also: Sequence[ServedApp] = (),
    bot_sock: socket.socket | None = None,
) -> int:
    """Serve the engine (and, in dev, everything in ``also`` and the Slack bot)."""
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
        apply=dev or settings.migrations == "apply",
        timeout_s=0.0 if dev else settings.startup_timeout,
        on_wait=lambda reason: _log.warning("engine not started yet", reason=reason),
    )
    for migration in applied:
        _log.info("migration applied", migration=migration.name)
    port = settings.port_or(ENGINE_DEFAULT_PORT)
    sock = bind_socket(settings.host, port)

    base = _local_url(settings.host, sock.getsockname()[1])

    async def run() -> None:
        async with contextlib.AsyncExitStack() as stack:
            app = await stack.enter_async_context(engine_component(settings, database_url=url))
            served = [ServedApp(name="engine", app=app, sock=sock), *also]
            if bot_sock is not None:
                from dataworkflows.slackbot.component import SlackBotNotConfigured, slackbot_app

                bot_settings = msgspec.structs.replace(
                    settings, engine_url=base, engine_api_key=settings.api_keys[0]
                )
                try:
                    bot = await stack.enter_async_context(slackbot_app(bot_settings))
                except SlackBotNotConfigured as exc:
                    raise _UserError(str(exc), status=EXIT_USAGE) from None
                served.append(ServedApp(name="slack-bot", app=bot, sock=bot_sock))

            def started() -> None:
                _log.info("engine listening", url=base, database=describe_target(url))
                if dev:
                    _print_banner(base, settings, url, served[1:])
                    if open_docs:
                        _open_browser(f"{base}/docs")

            await serve_until_stopped(served, on_started=started)

    try:
        run_loop(run())
    except EngineConfigurationError as exc:
        raise _UserError(str(exc), status=EXIT_USAGE) from None
    finally:
        sock.close()
    return 0


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _local_url(host: str, port: int) -> str:
    """Where a component bound to ``host``:``port`` is reached from this machine."""
    return f"http://{_display_host(host)}:{port}"


def _print_banner(base: str, settings: Settings, url: str, also: Sequence[ServedApp]) -> None:
    from dataworkflows.sandboxes.slack.demo_data import PROJECT_CHANNEL_IDS

    database = (
        f"embedded PostgreSQL, data in {settings.data_dir / 'pgdata'}"
        if settings.database_url is None
        else describe_target(url)
    )
    key = settings.api_keys[0]
    host = _display_host(settings.host)
    apollo = PROJECT_CHANNEL_IDS["apollo"]  # the demo's #proj-apollo
    lines = [
        f"Data Workflows {__version__} is running (dev).",
        f"  API docs   {base}/docs",
        f"  API key    {key}",
        f"             (kept in {settings.data_dir / 'api-key'}; send it as "
        "'Authorization: Bearer <key>', or use Authorize in the docs)",
        f"  Health     {base}/readyz",
        f"  Database   {database}",
        *(
            f"  Sandbox    {s.name.removeprefix('sandbox-')} at http://{host}:{s.port} "
            "(no credentials set, so a local stand-in answers)"
            for s in also
            if s.name.startswith("sandbox-")
        ),
        *(
            f"  Tracker    http://{host}:{s.port}/docs (the mock Task Tracker; log in as "
            f"{settings.tracker_username} / {settings.tracker_password})"
            for s in also
            if s.name == "tracker"
        ),
        *(
            f"  Slack bot  http://{host}:{s.port}/slack/commands (and /slack/events, "
            "/slack/interactivity)"
            for s in also
            if s.name == "slack-bot"
        ),
        *(
            line
            for s in also
            if s.name == "sandbox-slack"
            for line in (
                f"  Try Slack  curl -H 'Content-Type: application/json' -d "
                f'\'{{"text": "status apollo"}}\' http://{host}:{s.port}/sandbox/send/command',
                # Where the bot's answer and the report show up (the demo's #proj-apollo).
                f"             then read http://{host}:{s.port}/sandbox/channels/{apollo}/messages",
            )
        ),
        f"  Try it     curl -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
        f"-d '{{}}' '{base}/v1/workflows/hello-world/runs?wait=5'",
        "Press Ctrl-C to stop.",
    ]
    print("\n" + "\n".join(lines) + "\n", flush=True)


def _open_browser(url: str) -> None:
    # Only where a graphical browser can exist: on a headless Linux box webbrowser
    # would start a text browser (lynx, w3m) in this terminal.
    graphical = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if graphical and sys.stdout.isatty() and not os.environ.get("CI"):
        with contextlib.suppress(webbrowser.Error):
            webbrowser.open(url)
