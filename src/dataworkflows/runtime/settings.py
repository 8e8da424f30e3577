"""One typed settings object, parsed once from the environment and an optional ``.env``.

Every process reads its configuration here and nowhere else. Each variable has one
parser that either returns a typed value or raises :class:`SettingsError` naming the
variable and the problem, so a bad deployment fails on start with one clear line.
Environment variables win over the ``.env`` file, as in every twelve-factor tool.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Literal, TypeVar

import msgspec
from dotenv import dotenv_values
from psycopg.conninfo import conninfo_to_dict

__all__ = [
    "CREDENTIAL_VARIABLES",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "MIGRATION_MODES",
    "Settings",
    "SettingsError",
    "SlackRunRule",
    "load_settings",
]

LogFormat = Literal["json", "console"]
LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS: Final = ("json", "console")
MigrationMode = Literal["apply", "wait"]
MIGRATION_MODES: Final = ("apply", "wait")

CREDENTIAL_VARIABLES: Final = (
    "DATABASE_URL",
    "DW_API_KEYS",
    "DW_SERVICE_TOKEN",
    "DW_ENGINE_API_KEY",
    "MONDAY_API_TOKEN",
    "TRACKER_PASSWORD",
    "TRACKER_JWT_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "CONFLUENCE_API_TOKEN",
    "GRAPH_CLIENT_SECRET",
    "DW_SECRETS_KEY",
)
"""Variables that carry a credential. Each also has a ``<NAME>_FILE`` form naming a
file that holds the value, as Docker and Kubernetes secrets are mounted
(``SLACK_BOT_TOKEN_FILE=/run/secrets/slack_bot_token``)."""
FILE_SUFFIX: Final = "_FILE"
MAX_SECRET_FILE_BYTES: Final = 64 * 1024

_T = TypeVar("_T")


class SettingsError(ValueError):
    """A configuration variable has an invalid value."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class SlackRunRule(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of ``SLACK_RUN_ALLOW``: who may ``/dw run`` which workflow, and where.

    ``workflow`` is a workflow name or ``*``. A request matches when the workflow
    matches and the Slack user is in ``users`` (empty: any user) and the channel is
    in ``channels`` (empty: any channel).
    """

    workflow: str
    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def allows(self, workflow: str, *, user: str, channel: str) -> bool:
        """Whether this rule lets ``user`` run ``workflow`` in ``channel``."""
        return (
            self.workflow in ("*", workflow)
            and (not self.users or user in self.users)
            and (not self.channels or channel in self.channels)
        )


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The configuration of one Data Workflows process.

    Built by :func:`load_settings`; tests build it directly with keyword arguments.
    """

    database_url: str | None = None
    """``DATABASE_URL``: a ``postgresql://`` URL; unset means "embedded PostgreSQL" in ``dev``."""
    host: str = "127.0.0.1"
    """``DW_HOST``: the address the component binds."""
    port: int | None = None
    """``DW_PORT``: the port of the component this process serves (None: its default)."""
    log_level: str = "info"
    """``DW_LOG_LEVEL``: one of :data:`LOG_LEVELS`."""
    log_format: LogFormat = "json"
    """``DW_LOG_FORMAT``: ``json`` (default) or ``console``."""
    data_dir: Path = Path(".dataworkflows")
    """``DW_DATA_DIR``: where ``dev`` keeps the embedded database and its API key."""
    db_pool_max: int = 10
    """``DW_DB_POOL_MAX``: the most PostgreSQL connections one process opens."""
    api_keys: tuple[str, ...] = ()
    """``DW_API_KEYS``: comma-separated keys accepted as ``Authorization: Bearer`` on /v1."""
    service_token: str | None = None
    """``DW_SERVICE_TOKEN``: the token between the engine and connector processes."""
    connector_urls: dict[str, str] = msgspec.field(default_factory=dict)
    """``DW_CONNECTOR_URLS``: ``name=url,...`` of connectors running as separate processes."""
    max_runs: int = 1000
    """``DW_MAX_RUNS``: runs one engine process executes at once."""
    lease_seconds: float = 30.0
    """``DW_LEASE_SECONDS``: how long a silent engine keeps its runs before others take them."""
    step_timeout: float = 300.0
    """``DW_STEP_TIMEOUT``: seconds a step attempt may take when its workflow sets no timeout."""
    workflows_dir: Path | None = None
    """``DW_WORKFLOWS_DIR``: more workflow definitions (``*.yaml``) to register on start."""
    migrations: MigrationMode = "apply"
    """``DW_MIGRATIONS``: ``apply`` (``serve engine`` applies pending migrations on start)
    or ``wait`` (it waits until ``dataworkflows migrate`` has applied them: several
    engines, a migration job)."""
    secrets_key: str | None = None
    """``DW_SECRETS_KEY``: 32 random bytes (base64 or hex) that seal secret run inputs
    before they are stored (see :mod:`~dataworkflows.runtime.sealing`); ``dev`` makes
    one. Without it, runs with secret inputs are refused."""
    startup_timeout: float = 300.0
    """``DW_STARTUP_TIMEOUT``: seconds ``serve engine`` waits for the database to answer
    (and, with ``DW_MIGRATIONS=wait``, for the migrations) before giving up."""
    monday_api_token: str | None = None
    """``MONDAY_API_TOKEN``: a monday.com API token (also what the Monday sandbox accepts)."""
    monday_api_url: str | None = None
    """``MONDAY_API_URL``: the GraphQL endpoint (default monday.com's; a sandbox's /v2)."""
    monday_api_version: str = "2025-07"
    """``MONDAY_API_VERSION``: the pinned ``API-Version`` (yyyy-mm)."""
    tracker_url: str | None = None
    """``TRACKER_URL``: the Task Tracker's base URL (the connector calls ``/api/...`` there)."""
    tracker_username: str | None = None
    """``TRACKER_USERNAME``: the Task Tracker account (the tracker accepts it; the connector
    logs in with it)."""
    tracker_password: str | None = None
    """``TRACKER_PASSWORD``: that account's password."""
    tracker_jwt_secret: str | None = None
    """``TRACKER_JWT_SECRET``: the tracker's token signing key (default: a random one per start)."""
    tracker_token_ttl: float = 3600.0
    """``TRACKER_TOKEN_TTL``: seconds a tracker token stays valid."""
    slack_bot_token: str | None = None
    """``SLACK_BOT_TOKEN``: the Slack app's bot token (``xoxb-...``); for ``serve sandbox
    slack``, the token the sandbox accepts."""
    slack_api_url: str | None = None
    """``SLACK_API_URL``: the Web API base (default ``https://slack.com/api/``; a sandbox's
    ``/api/``)."""
    slack_signing_secret: str | None = None
    """``SLACK_SIGNING_SECRET``: the app's signing secret; the bot verifies requests with
    it, and the sandbox signs what it sends."""
    slack_command: str = "/dw"
    """``SLACK_COMMAND``: the slash command the bot answers."""
    slack_run_allow: tuple[SlackRunRule, ...] = ()
    """``SLACK_RUN_ALLOW``: who may start which workflow from Slack (empty: nobody)."""
    slack_status_workflow: str = "project-status-report"
    """``SLACK_STATUS_WORKFLOW``: the workflow ``/dw status <project>`` runs."""
    slack_status_input: str = "project"
    """``SLACK_STATUS_INPUT``: the input of that workflow that receives the project."""
    slack_bot_url: str | None = None
    """``SLACK_BOT_URL``: where the Slack sandbox delivers signed commands, events and
    actions (the bot's base URL; default ``http://127.0.0.1:8090``)."""
    engine_url: str = "http://127.0.0.1:8080"
    """``DW_ENGINE_URL``: the engine's API as the Slack bot reaches it."""
    engine_api_key: str | None = None
    """``DW_ENGINE_API_KEY``: the API key the Slack bot sends to the engine."""
    public_url: str | None = None
    """``DW_PUBLIC_URL``: the engine's URL as people reach it, for links in Slack
    messages (default: ``DW_ENGINE_URL``)."""
    confluence_url: str | None = None
    """``CONFLUENCE_URL``: the site (``https://<site>.atlassian.net``) or, for OAuth and
    scoped tokens, ``https://api.atlassian.com/ex/confluence/<cloudId>``; ``/wiki/...``
    paths are added to it."""
    confluence_email: str | None = None
    """``CONFLUENCE_EMAIL``: with an API token, Basic auth as this Atlassian account."""
    confluence_api_token: str | None = None
    """``CONFLUENCE_API_TOKEN``: an API token (Basic, with ``CONFLUENCE_EMAIL``) or, alone,
    a bearer token; for ``serve sandbox confluence``, what the sandbox accepts."""
    graph_tenant_id: str | None = None
    """``GRAPH_TENANT_ID``: the Microsoft Entra tenant of the app registration."""
    graph_client_id: str | None = None
    """``GRAPH_CLIENT_ID``: the app registration's client id."""
    graph_client_secret: str | None = None
    """``GRAPH_CLIENT_SECRET``: its client secret (client-credentials flow)."""
    graph_api_url: str | None = None
    """``GRAPH_API_URL``: the Graph base (default ``https://graph.microsoft.com/v1.0``)."""
    graph_token_url: str | None = None
    """``GRAPH_TOKEN_URL``: the token endpoint (default Microsoft's for the tenant)."""
    outlook_mailbox: str | None = None
    """``OUTLOOK_MAILBOX``: the mailbox (user id or UPN) actions read when they name none."""

    def secrets(self) -> tuple[str, ...]:
        """Every configured secret value, for masking in records and logs."""
        values = [*self.api_keys]
        values.extend(
            v
            for v in (
                self.service_token,
                self.monday_api_token,
                self.tracker_password,
                self.tracker_jwt_secret,
                self.slack_bot_token,
                self.slack_signing_secret,
                self.engine_api_key,
                self.confluence_api_token,
                self.graph_client_secret,
                self.secrets_key,
            )
            if v
        )
        return tuple(values)

    def port_or(self, default: int) -> int:
        """The configured port, or ``default`` for the component being served."""
        return self.port if self.port is not None else default


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: Path | None = Path(".env"),
) -> Settings:
    """Parse the configuration from ``environ`` (default: ``os.environ``) and ``env_file``.

    Raises :class:`SettingsError` for the first invalid variable.
    """
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    _read_credential_files(values)

    def get(name: str, parse: Callable[[str, str], _T], default: _T) -> _T:
        raw = values.get(name)
        if raw is None or raw.strip() == "":
            return default
        return parse(name, raw.strip())

    return Settings(
        database_url=get("DATABASE_URL", _parse_database_url, None),
        host=get("DW_HOST", _parse_host, "127.0.0.1"),
        port=get("DW_PORT", _parse_port, None),
        log_level=get("DW_LOG_LEVEL", _parse_log_level, "info"),
        log_format=get("DW_LOG_FORMAT", _parse_log_format, "json"),
        data_dir=get("DW_DATA_DIR", _parse_path, Path(".dataworkflows")),
        db_pool_max=get("DW_DB_POOL_MAX", _int_between(1, 1000), 10),
        api_keys=get("DW_API_KEYS", _parse_api_keys, ()),
        service_token=get("DW_SERVICE_TOKEN", _parse_token, None),
        connector_urls=get("DW_CONNECTOR_URLS", _parse_connector_urls, {}),
        max_runs=get("DW_MAX_RUNS", _int_between(1, 100_000), 1000),
        lease_seconds=get("DW_LEASE_SECONDS", _float_between(1.0, 3600.0), 30.0),
        step_timeout=get("DW_STEP_TIMEOUT", _float_between(0.01, 86_400.0), 300.0),
        workflows_dir=get("DW_WORKFLOWS_DIR", _parse_path, None),
        migrations=get("DW_MIGRATIONS", _parse_migration_mode, "apply"),
        startup_timeout=get("DW_STARTUP_TIMEOUT", _float_between(0.0, 86_400.0), 300.0),
        secrets_key=get("DW_SECRETS_KEY", _parse_secrets_key, None),
        monday_api_token=get("MONDAY_API_TOKEN", _parse_secret, None),
        monday_api_url=get("MONDAY_API_URL", _parse_http_url, None),
        monday_api_version=get("MONDAY_API_VERSION", _parse_api_version, "2025-07"),
        tracker_url=get("TRACKER_URL", _parse_http_url, None),
        tracker_username=get("TRACKER_USERNAME", _parse_secret, None),
        tracker_password=get("TRACKER_PASSWORD", _parse_secret, None),
        tracker_jwt_secret=get("TRACKER_JWT_SECRET", _parse_token, None),
        tracker_token_ttl=get("TRACKER_TOKEN_TTL", _float_between(5.0, 7 * 86_400.0), 3600.0),
        slack_bot_token=get("SLACK_BOT_TOKEN", _parse_secret, None),
        slack_api_url=get("SLACK_API_URL", _parse_http_url, None),
        slack_signing_secret=get("SLACK_SIGNING_SECRET", _parse_secret, None),
        slack_command=get("SLACK_COMMAND", _parse_slash_command, "/dw"),
        slack_run_allow=get("SLACK_RUN_ALLOW", _parse_run_allow, ()),
        slack_status_workflow=get(
            "SLACK_STATUS_WORKFLOW", _parse_workflow_name, "project-status-report"
        ),
        slack_status_input=get("SLACK_STATUS_INPUT", _parse_input_name, "project"),
        slack_bot_url=get("SLACK_BOT_URL", _parse_http_url, None),
        engine_url=get("DW_ENGINE_URL", _parse_http_url, "http://127.0.0.1:8080"),
        engine_api_key=get("DW_ENGINE_API_KEY", _parse_token, None),
        public_url=get("DW_PUBLIC_URL", _parse_http_url, None),
        confluence_url=get("CONFLUENCE_URL", _parse_http_url, None),
        confluence_email=get("CONFLUENCE_EMAIL", _parse_secret, None),
        confluence_api_token=get("CONFLUENCE_API_TOKEN", _parse_secret, None),
        graph_tenant_id=get("GRAPH_TENANT_ID", _parse_secret, None),
        graph_client_id=get("GRAPH_CLIENT_ID", _parse_secret, None),
        graph_client_secret=get("GRAPH_CLIENT_SECRET", _parse_secret, None),
        graph_api_url=get("GRAPH_API_URL", _parse_http_url, None),
        graph_token_url=get("GRAPH_TOKEN_URL", _parse_http_url, None),
        outlook_mailbox=get("OUTLOOK_MAILBOX", _parse_secret, None),
    )


def _read_credential_files(values: dict[str, str]) -> None:
    """Replace each ``<NAME>_FILE`` of :data:`CREDENTIAL_VARIABLES` by the file's content.

    Setting both forms, or naming a file that is missing, unreadable or empty, is a
    mistake worth refusing to start over: the error names the variable, never a value.
    """
    for name in CREDENTIAL_VARIABLES:
        file_variable = name + FILE_SUFFIX
        path_text = (values.get(file_variable) or "").strip()
        if not path_text:
            continue
        if (values.get(name) or "").strip():
            raise SettingsError(
                file_variable, f"{name} is set as well: set either {name} or {file_variable}"
            )
        path = Path(path_text).expanduser()
        try:
            with path.open("rb") as handle:
                content = handle.read(MAX_SECRET_FILE_BYTES + 1)
        except FileNotFoundError:
            raise SettingsError(file_variable, f"{path} does not exist") from None
        except IsADirectoryError:
            raise SettingsError(file_variable, f"{path} is a directory, not a file") from None
        except OSError as exc:
            raise SettingsError(
                file_variable, f"{path} cannot be read ({exc.strerror or type(exc).__name__})"
            ) from None
        if len(content) > MAX_SECRET_FILE_BYTES:
            raise SettingsError(
                file_variable, f"{path} is larger than {MAX_SECRET_FILE_BYTES // 1024} KiB"
            )
        try:
            text = content.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise SettingsError(file_variable, f"{path} is not UTF-8 text") from None
        if not text:
            raise SettingsError(file_variable, f"{path} is empty")
        values[name] = text


def _parse_secrets_key(name: str, raw: str) -> str:
    from dataworkflows.runtime.sealing import parse_key

    try:
        parse_key(raw)
    except ValueError as exc:
        raise SettingsError(name, str(exc)) from None  # never echoes the value
    return raw


def _parse_migration_mode(name: str, raw: str) -> MigrationMode:
    mode = raw.lower()
    if mode == "apply":
        return "apply"
    if mode == "wait":
        return "wait"
    raise SettingsError(name, f"must be one of {', '.join(MIGRATION_MODES)}, got {raw!r}")


def _parse_database_url(name: str, raw: str) -> str:
    scheme, sep, _ = raw.partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        raise SettingsError(
            name, "must be a postgresql:// URL, e.g. postgresql://user:password@host:5432/dbname"
        )
    try:
        params = conninfo_to_dict(raw)
    except Exception:
        # psycopg's message may quote the URL; never echo it (it can hold a password).
        raise SettingsError(name, "is not a valid PostgreSQL connection URL") from None
    for port in str(params.get("port") or "5432").split(","):
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise SettingsError(
                name, "is not a valid PostgreSQL connection URL (the port must be 1-65535)"
            )
    return raw


_HOST_RE: Final = re.compile(r"^[A-Za-z0-9.\-:\[\]]+$")


def _parse_host(name: str, raw: str) -> str:
    if not _HOST_RE.match(raw):
        raise SettingsError(name, f"{raw!r} is not a host name or IP address")
    return raw


def _int_between(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(
                name, f"must be an integer between {low} and {high}, got {raw!r}"
            ) from None
        if not low <= value <= high:
            raise SettingsError(name, f"must be between {low} and {high}, got {value}")
        return value

    return parse


_parse_port = _int_between(1, 65535)


def _parse_log_level(name: str, raw: str) -> str:
    level = raw.lower()
    if level not in LOG_LEVELS:
        raise SettingsError(name, f"must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _parse_log_format(name: str, raw: str) -> LogFormat:
    fmt = raw.lower()
    if fmt == "json":
        return "json"
    if fmt == "console":
        return "console"
    raise SettingsError(name, f"must be one of {', '.join(LOG_FORMATS)}, got {raw!r}")


def _parse_path(name: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _float_between(low: float, high: float) -> Callable[[str, str], float]:
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(name, f"must be a number of seconds, got {raw!r}") from None
        if not low <= value <= high:
            raise SettingsError(name, f"must be between {low:g} and {high:g}, got {value:g}")
        return value

    return parse


def _parse_api_keys(name: str, raw: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for key in keys:
        _parse_token(name, key)
    return keys


def _parse_token(name: str, raw: str) -> str:
    # Never echo the value: this message may end up in a log.
    if len(raw) < 16:
        raise SettingsError(name, "must be at least 16 characters long")
    if any(c.isspace() or c == "," for c in raw):
        raise SettingsError(name, "must not contain spaces or commas")
    return raw


_CONNECTOR_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")


def _parse_connector_urls(name: str, raw: str) -> dict[str, str]:
    urls: dict[str, str] = {}
    for entry in (e.strip() for e in raw.split(",") if e.strip()):
        connector, sep, url = entry.partition("=")
        connector, url = connector.strip(), url.strip()
        if not sep or not _CONNECTOR_NAME_RE.match(connector):
            raise SettingsError(name, f"entries must be name=url, got {entry!r}")
        if not url.startswith(("http://", "https://")):
            raise SettingsError(name, f"the URL of {connector} must start with http:// or https://")
        urls[connector] = url.rstrip("/")
    return urls


def _parse_secret(name: str, raw: str) -> str:
    # Never echo the value: this message may end up in a log.
    if any(c.isspace() for c in raw):
        raise SettingsError(name, "must not contain whitespace")
    return raw


def _parse_http_url(name: str, raw: str) -> str:
    if not raw.startswith(("http://", "https://")) or len(raw) < 10:
        raise SettingsError(name, f"must be an http:// or https:// URL, got {raw!r}")
    return raw.rstrip("/")


_API_VERSION_RE: Final = re.compile(r"^\d{4}-(01|04|07|10)$")


def _parse_api_version(name: str, raw: str) -> str:
    if not _API_VERSION_RE.match(raw):
        raise SettingsError(name, f"must be yyyy-mm with month 01, 04, 07 or 10, got {raw!r}")
    return raw


_SLASH_COMMAND_RE: Final = re.compile(r"^/[a-z0-9_\-]{1,31}$")
_WORKFLOW_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")
_INPUT_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SLACK_USER_RE: Final = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_CHANNEL_RE: Final = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def _parse_slash_command(name: str, raw: str) -> str:
    if not _SLASH_COMMAND_RE.match(raw):
        raise SettingsError(name, f"must be a slash command such as /dw, got {raw!r}")
    return raw


def _parse_workflow_name(name: str, raw: str) -> str:
    if not _WORKFLOW_NAME_RE.match(raw):
        raise SettingsError(name, f"must be a workflow name (a-z, 0-9, - and _), got {raw!r}")
    return raw


def _parse_input_name(name: str, raw: str) -> str:
    if not _INPUT_NAME_RE.match(raw):
        raise SettingsError(name, f"must be an input name (letters, digits, _), got {raw!r}")
    return raw


def _parse_run_allow(name: str, raw: str) -> tuple[SlackRunRule, ...]:
    """``workflow=subject,subject;...``: subjects are Slack user ids (``U...``/``W...``),
    channel ids (``C...``/``G...``/``D...``) or ``*`` (anyone, anywhere)."""
    rules: list[SlackRunRule] = []
    for entry in (e.strip() for e in raw.split(";") if e.strip()):
        workflow, sep, subjects = entry.partition("=")
        workflow = workflow.strip()
        if not sep or not (workflow == "*" or _WORKFLOW_NAME_RE.match(workflow)):
            raise SettingsError(
                name,
                f"entries must be workflow=subjects (e.g. hello-world=U012AB3CD), got {entry!r}",
            )
        users: set[str] = set()
        channels: set[str] = set()
        anyone = False
        listed = [s.strip() for s in subjects.split(",") if s.strip()]
        if not listed:
            raise SettingsError(name, f"{workflow} lists nobody: give user or channel ids, or *")
        for subject in listed:
            if subject == "*":
                anyone = True
            elif _SLACK_USER_RE.match(subject):
                users.add(subject)
            elif _SLACK_CHANNEL_RE.match(subject):
                channels.add(subject)
            else:
                raise SettingsError(
                    name,
                    f"{subject!r} (for {workflow}) is not a Slack user id (U...), "
                    "channel id (C..., G..., D...) or *",
                )
        if anyone:
            users, channels = set(), set()
        rules.append(
            SlackRunRule(workflow=workflow, users=frozenset(users), channels=frozenset(channels))
        )
    return tuple(rules)
