"""The ``dataworkflows`` command: one entrypoint for every component and task.

Exit status: 0 success (also after Ctrl-C or SIGTERM stopped a server gracefully),
1 a runtime failure (database unreachable, a migration refused, a port in use),
2 a usage or configuration error. Errors are one line on stderr, never a traceback
(``DW_LOG_LEVEL=debug`` logs the traceback of an unexpected error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from dataworkflows import __version__
from dataworkflows.cli_runs import (
    CliProblem,
    EngineApi,
    engine_target,
    list_runs,
    show_logs,
    start_run,
)
from dataworkflows.composition.dev import run_dev
from dataworkflows.composition.errors import ConfigurationProblem
from dataworkflows.composition.sandboxes import run_sandbox, sandboxes
from dataworkflows.composition.serve import (
    database,
    run_connector,
    run_console,
    run_engine,
    run_slack_bot,
    run_tracker,
)
from dataworkflows.composition.settings import (
    Configuration,
    Settings,
    connector_specs,
    settings_sections,
)
from dataworkflows.runtime.database import DatabaseUnavailable, describe_target
from dataworkflows.runtime.embedded import EmbeddedPostgresUnavailable
from dataworkflows.runtime.logging import configure_logging, get_logger
from dataworkflows.runtime.migrations import (
    MigrationError,
    MigrationFile,
    apply_migrations,
    migration_status,
    prepare_database,
)
from dataworkflows.runtime.plugins import PluginError
from dataworkflows.runtime.resources import bundled_dir
from dataworkflows.runtime.serving import (
    AddressUnavailable,
    Terminated,
    sigterm_raises,
)
from dataworkflows.runtime.settings import SettingsError, section_variables
from dataworkflows.runtime.tracing import configure_tracing, disable_tracing

__all__ = ["main"]

PROG = "dataworkflows"
EXIT_FAILURE = 1
EXIT_USAGE = 2

_log = get_logger("dataworkflows.cli")


class _UserError(Exception):
    """A problem the user can fix; printed as one line."""

    def __init__(self, message: str, *, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


def _parser() -> argparse.ArgumentParser:
    connectors = tuple(connector_specs())
    stand_ins = tuple(sandboxes())
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
        f"connector {{{','.join(connectors)}}}, slack-bot, console, tracker, "
        f"sandbox {{{','.join(stand_ins)}}}.",
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
    connector.add_argument("name", choices=connectors, help="which connector")
    components.add_parser("slack-bot", help="Slack slash commands, events and interactivity")
    components.add_parser(
        "console", help="the web console, reading an engine over its API (DW_ENGINE_URL)"
    )
    components.add_parser("tracker", help="the mock Task Tracker API")
    sandbox = components.add_parser("sandbox", help="a local stand-in for a SaaS API")
    sandbox.add_argument("name", choices=stand_ins, help="which service to stand in for")

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

    commands.add_parser(
        "config",
        help="list every configuration variable, by component",
        description="List every variable each component reads (the connectors "
        "installed included), with its default and what it means; credentials are "
        "marked, and may also be read from <NAME>_FILE. Values are never printed.",
    )
    commands.add_parser("version", help="print the version", description="Print the version.")
    _run_commands(commands)
    return parser


def _run_commands(commands: Any) -> None:
    """``run``, ``runs`` and ``logs``: clients of a running engine (see cli_runs)."""
    engine_help = "the engine's URL (default DW_ENGINE_URL, else http://127.0.0.1:8080)"
    run = commands.add_parser(
        "run",
        help="start a workflow run (and --follow it)",
        description="Start a run of WORKFLOW with key=value inputs, typed by the "
        "workflow's declared inputs. With --follow, show each step as it ends and the "
        "output or error; the exit status is 0 when the run succeeded, 1 when it failed "
        "or was cancelled, 2 when it was refused. The API key comes from "
        "DW_ENGINE_API_KEY, DW_API_KEYS, or the one `dev` keeps.",
    )
    run.add_argument("workflow", help="the workflow's name")
    run.add_argument(
        "inputs", nargs="*", default=[], metavar="key=value", help="an input (any number)"
    )
    run.add_argument("--follow", "-f", action="store_true", help="follow the run to its end")
    run.add_argument("--engine", metavar="URL", help=engine_help)
    runs = commands.add_parser(
        "runs", help="list recent runs", description="List recent runs, newest first."
    )
    runs.add_argument("--workflow", help="only this workflow's runs")
    runs.add_argument(
        "--status",
        choices=("queued", "running", "waiting", "succeeded", "failed", "cancelled"),
        help="only runs in this status",
    )
    runs.add_argument(
        "--limit", type=_at_least_one, default=20, help="how many (default 20; any number)"
    )
    runs.add_argument("--engine", metavar="URL", help=engine_help)
    logs = commands.add_parser(
        "logs",
        help="print a run's steps and events",
        description="Print a run's events and step attempts (with --follow, until it ends).",
    )
    logs.add_argument(
        "run_id", metavar="RUN", help="the run's id, or enough of its start to be unambiguous"
    )
    logs.add_argument("--follow", "-f", action="store_true", help="follow the run to its end")
    logs.add_argument("--engine", metavar="URL", help=engine_help)


def _client_command(args: argparse.Namespace, settings: Settings) -> int:
    url, key = engine_target(settings, args.engine)
    api = EngineApi(url, key)
    try:
        if args.command == "run":
            return start_run(
                api, args.workflow, args.inputs, follow_run=args.follow, out=sys.stdout
            )
        if args.command == "runs":
            return list_runs(
                api, workflow=args.workflow, status=args.status, limit=args.limit, out=sys.stdout
            )
        return show_logs(api, args.run_id, follow_run=args.follow, out=sys.stdout)
    finally:
        api.close()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and exit."""
    try:
        args = _parser().parse_args(argv)
    except PluginError as exc:
        _fail(str(exc), EXIT_USAGE)
    if args.command == "version":
        print(f"{PROG} {__version__}")
        sys.exit(0)
    if args.command == "config":
        _config()
        sys.exit(0)
    configuration = Configuration()
    try:
        settings = configuration.settings()
    except SettingsError as exc:
        _fail(str(exc), EXIT_USAGE)
    # A client of the engine (run, runs, logs) prints for people: only its problems log.
    client = args.command in ("run", "runs", "logs")
    configure_logging(
        level="warning" if client and settings.log_level == "info" else settings.log_level,
        fmt=settings.log_format,
        secrets=settings.secrets(),
    )
    if args.command in ("dev", "serve"):
        # Traces when the OTEL_* variables ask for them (see runtime/tracing.py).
        configure_tracing(getattr(args, "component", None) or args.command)
    try:
        with sigterm_raises():
            if client:
                status = _client_command(args, settings)
            elif args.command == "dev":
                status = run_dev(configuration, open_browser=not args.no_browser)
            elif args.command == "serve":
                status = _serve(args, settings, configuration)
            else:
                status = _migrate(args, settings)
    except (_UserError, CliProblem) as exc:
        _fail(str(exc), exc.status)
    except (ConfigurationProblem, SettingsError, PluginError) as exc:
        _fail(str(exc), EXIT_USAGE)
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
        disable_tracing()
        _log.debug("unexpected error", exc_info=True)
        _fail(
            f"unexpected error ({type(exc).__name__}: {exc}); "
            "set DW_LOG_LEVEL=debug to log the traceback",
            EXIT_FAILURE,
        )
    disable_tracing()  # send the spans still buffered
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
    pgdata = settings.data_dir / "pgdata"
    if args.status and settings.database_url is None and not pgdata.exists():
        # --status changes nothing: it must not create an embedded database to inspect.
        raise _UserError(
            f"no database to inspect: DATABASE_URL is unset and there is no embedded "
            f"database in {pgdata} yet (`dataworkflows dev` creates it there; set "
            "DW_DATA_DIR if it is elsewhere)"
        )
    with database(settings) as url:
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


def _serve(args: argparse.Namespace, settings: Settings, configuration: Configuration) -> int:
    if args.component == "engine":
        if settings.database_url is None:
            raise _UserError(
                "DATABASE_URL is not set: `serve engine` needs a PostgreSQL server "
                "(`dataworkflows dev` starts an embedded one)",
                status=EXIT_USAGE,
            )
        if not settings.engine.api_keys:
            raise _UserError(
                "DW_API_KEYS is not set: the engine API needs at least one key of 16+ "
                "characters (e.g. from `python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`)",
                status=EXIT_USAGE,
            )
        return run_engine(settings, settings.database_url, dev=False)
    if args.component == "tracker":
        return run_tracker(settings)
    if args.component == "slack-bot":
        return run_slack_bot(settings)
    if args.component == "console":
        return run_console(settings)
    if args.component == "connector" and args.name in connector_specs():
        return run_connector(settings, args.name)
    if args.component == "sandbox" and args.name in sandboxes():
        return run_sandbox(settings, configuration, args.name)
    name = f"{args.component} {args.name}" if hasattr(args, "name") else args.component
    raise _UserError(
        f"the {name} component is not part of this release yet; "
        f"available now: {', '.join(_available())}",
        status=EXIT_USAGE,
    )


def _available() -> tuple[str, ...]:
    return (
        "engine",
        "tracker",
        "slack-bot",
        "console",
        *(f"connector {n}" for n in connector_specs()),
        *(f"sandbox {n}" for n in sandboxes()),
    )


def _at_least_one(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _shown_default(default: object) -> str:
    """A default as a user would write it in the environment."""
    if default is None or default in ((), {}):
        return "unset"
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def _config() -> None:
    """``dataworkflows config``: every section's variables, from the specs."""
    seen: set[str] = set()
    for component, section in settings_sections():
        fields = [f for f in section_variables(section) if f.var.name not in seen]
        if not fields:
            continue
        print(f"[{component}]")
        for field in fields:
            seen.add(field.var.name)
            default = field.default
            shown = _shown_default(default)
            mark = " (credential; or <NAME>_FILE)" if field.from_file else ""
            print(f"  {field.var.name:<24} default {shown}{mark}")
            if field.var.help:
                print(f"  {'':<24} {field.var.help}")
        print()
