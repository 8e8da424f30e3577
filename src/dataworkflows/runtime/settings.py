"""Settings: typed sections, each declared next to the component it configures.

A section is a frozen ``msgspec.Struct`` whose fields say, in their type, which
environment variable sets them and how it is parsed::

    class AcmeSettings(msgspec.Struct, frozen=True, kw_only=True):
        api_token: Annotated[str | None, env("ACME_API_TOKEN", parse_secret), SECRET] = None
        api_url: Annotated[str | None, env("ACME_API_URL", parse_http_url)] = None

The default is written once, on the field. :data:`SECRET` marks a credential: it may
be read from a ``<NAME>_FILE`` and :func:`secret_values` finds it for redaction, with
no hand-kept list. :func:`load_section` parses a section from a mapping of variables;
each parser returns a typed value or raises :class:`SettingsError` naming the variable
and the problem, so a bad deployment fails on start with one clear line.

This module also holds :class:`ProcessSettings`, what every process reads (its
address, logging, the database), and :func:`read_environment`, which merges the
environment over an optional ``.env`` and reads credential files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

import msgspec
from dotenv import dotenv_values
from psycopg.conninfo import conninfo_to_dict

__all__ = [
    "CREDENTIAL_FILE",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "SECRET",
    "ProcessSettings",
    "SettingsError",
    "Var",
    "env",
    "float_between",
    "int_between",
    "load_section",
    "parse_bool",
    "parse_http_url",
    "parse_identifier",
    "parse_path",
    "parse_secret",
    "parse_text",
    "parse_token",
    "read_credential_file",
    "read_environment",
    "secret_values",
    "section_variables",
]

LogFormat = Literal["json", "console", "auto"]
LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS: Final = ("json", "console", "auto")
FILE_SUFFIX: Final = "_FILE"
MAX_SECRET_FILE_BYTES: Final = 64 * 1024

_T = TypeVar("_T")
_S = TypeVar("_S", bound=msgspec.Struct)


class SettingsError(ValueError):
    """A configuration variable has an invalid value."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Var:
    """The environment variable behind a settings field, and its parser."""

    name: str
    parse: Callable[[str, str], Any]
    help: str = ""


def env(name: str, parse: Callable[[str, str], Any], help: str = "") -> Var:
    """Declare, in a field's ``Annotated`` type, the variable that sets it."""
    return Var(name, parse, help)


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


SECRET: Final = _Marker("SECRET")
"""A field holding a credential: redacted wherever it appears, readable from a file."""
CREDENTIAL_FILE: Final = _Marker("CREDENTIAL_FILE")
"""A field readable from ``<NAME>_FILE`` that is not a secret by itself (DATABASE_URL)."""


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a section: its variable, default and marks (see :func:`section_variables`)."""

    attribute: str
    var: Var
    default: Any
    secret: bool
    from_file: bool


def _fields(cls: type[msgspec.Struct]) -> Iterator[tuple[str, Any, Any]]:
    hints = get_type_hints(cls, include_extras=True)
    for info in msgspec.structs.fields(cls):
        default = info.default
        if default is msgspec.NODEFAULT and info.default_factory is not msgspec.NODEFAULT:
            default = info.default_factory()
        yield info.name, hints[info.name], default


def section_variables(cls: type[msgspec.Struct]) -> list[Field]:
    """The variables of a section, nested sections included, in declaration order."""
    found: list[Field] = []
    for attribute, hint, default in _fields(cls):
        if get_origin(hint) is Annotated:
            _, *metadata = get_args(hint)
            var = next((m for m in metadata if isinstance(m, Var)), None)
            if var is not None:
                secret = any(m is SECRET for m in metadata)
                from_file = secret or any(m is CREDENTIAL_FILE for m in metadata)
                found.append(Field(attribute, var, default, secret, from_file))
                continue
        if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
            found.extend(section_variables(hint))
    return found


def load_section(cls: type[_S], values: Mapping[str, str]) -> _S:
    """Parse the section ``cls`` (and the sections nested in it) from ``values``.

    An unset or blank variable leaves the field's default. Raises
    :class:`SettingsError` for the first invalid variable.
    """
    parsed: dict[str, Any] = {}
    for attribute, hint, _ in _fields(cls):
        if get_origin(hint) is Annotated:
            _, *metadata = get_args(hint)
            var = next((m for m in metadata if isinstance(m, Var)), None)
            if var is not None:
                raw = values.get(var.name)
                if raw is not None and raw.strip() != "":
                    parsed[attribute] = var.parse(var.name, raw.strip())
                continue
        if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
            parsed[attribute] = load_section(hint, values)
    return cls(**parsed)


def secret_values(section: object) -> tuple[str, ...]:
    """Every secret value set in ``section`` and the sections within it (mappings of
    sections included), for masking in records and logs."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, Mapping):
            for item in value.values():
                walk(item)
            return
        if not isinstance(value, msgspec.Struct):
            return
        hints = get_type_hints(type(value), include_extras=True)
        for info in msgspec.structs.fields(type(value)):
            item = getattr(value, info.name)
            hint = hints[info.name]
            if get_origin(hint) is Annotated and any(m is SECRET for m in get_args(hint)[1:]):
                if isinstance(item, str) and item:
                    found.append(item)
                elif isinstance(item, tuple):
                    found.extend(v for v in item if isinstance(v, str) and v)
            else:
                walk(item)

    walk(section)
    return tuple(dict.fromkeys(found))


def read_environment(
    environ: Mapping[str, str] | None,
    *,
    env_file: Path | None,
    credentials: Iterator[str] | tuple[str, ...] | list[str],
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables: ``env_file`` under ``environ`` (default ``os.environ``), each
    ``<NAME>_FILE`` of ``credentials`` replaced by its file's content, then
    ``overrides`` (what ``dev`` points at its stand-ins) on top."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    for name in credentials:
        read_credential_file(values, name)
    values.update(overrides or {})
    return values


def read_credential_file(values: dict[str, str], name: str) -> None:
    """Replace ``<name>_FILE`` by the file's content.

    Setting both forms, or naming a file that is missing, unreadable or empty, is a
    mistake worth refusing to start over: the error names the variable, never a value.
    """
    file_variable = name + FILE_SUFFIX
    path_text = (values.get(file_variable) or "").strip()
    if not path_text:
        return
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


# Parsers: (variable name, stripped non-empty text) -> value, or SettingsError.


def parse_database_url(name: str, raw: str) -> str:
    """A ``postgresql://`` URL; the message never repeats it (it can hold a password)."""
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


def parse_host(name: str, raw: str) -> str:
    """A host name or IP address."""
    if not _HOST_RE.match(raw):
        raise SettingsError(name, f"{raw!r} is not a host name or IP address")
    return raw


def int_between(low: int, high: int) -> Callable[[str, str], int]:
    """A parser of integers from ``low`` to ``high``."""

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


parse_port: Final = int_between(1, 65535)


def parse_log_level(name: str, raw: str) -> str:
    """One of :data:`LOG_LEVELS`, any case."""
    level = raw.lower()
    if level not in LOG_LEVELS:
        raise SettingsError(name, f"must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def parse_log_format(name: str, raw: str) -> LogFormat:
    """``json``, ``console`` or ``auto``, any case."""
    fmt = raw.lower()
    if fmt == "json":
        return "json"
    if fmt == "console":
        return "console"
    if fmt == "auto":
        return "auto"
    raise SettingsError(name, f"must be one of {', '.join(LOG_FORMATS)}, got {raw!r}")


def parse_path(name: str, raw: str) -> Path:
    """A path; ``~`` is expanded."""
    return Path(raw).expanduser()


def parse_bool(name: str, raw: str) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``), any case."""
    word = raw.lower()
    if word in ("true", "1", "yes", "on"):
        return True
    if word in ("false", "0", "no", "off"):
        return False
    raise SettingsError(name, f"must be true or false, got {raw!r}")


def parse_text(name: str, raw: str) -> str:
    """Any text."""
    return raw


def float_between(low: float, high: float) -> Callable[[str, str], float]:
    """A parser of seconds from ``low`` to ``high``."""

    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(name, f"must be a number of seconds, got {raw!r}") from None
        if not low <= value <= high:
            raise SettingsError(name, f"must be between {low:g} and {high:g}, got {value:g}")
        return value

    return parse


def parse_token(name: str, raw: str) -> str:
    """A shared secret of 16+ characters without spaces or commas (never echoed)."""
    if len(raw) < 16:
        raise SettingsError(name, "must be at least 16 characters long")
    if any(c.isspace() or c == "," for c in raw):
        raise SettingsError(name, "must not contain spaces or commas")
    if not raw.isascii():
        raise SettingsError(name, "must be ASCII (it is sent in an HTTP header)")
    return raw


def parse_tokens(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated tokens, each as :func:`parse_token` wants it."""
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for key in keys:
        parse_token(name, key)
    return keys


def parse_secret(name: str, raw: str) -> str:
    """A credential or an identifier without whitespace (never echoed)."""
    if any(c.isspace() for c in raw):
        raise SettingsError(name, "must not contain whitespace")
    return raw


parse_identifier: Final = parse_secret


def _http_url_problem(url: str) -> str | None:
    """What keeps ``url`` from being an http(s) base URL, or None."""
    if not url.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError for a port that is not one
    except ValueError:
        return "has an invalid port"
    if not parts.hostname:
        return "must name a host"
    if parts.query or parts.fragment:
        return "must hold no ? or #"
    return None


def parse_http_url(name: str, raw: str) -> str:
    """An ``http://`` or ``https://`` base URL naming a host, without its trailing slash."""
    problem = _http_url_problem(raw)
    if problem is not None:
        # The value is not echoed: a URL may carry credentials (user:password@host).
        raise SettingsError(name, f"is not a usable http:// or https:// URL: it {problem}")
    return raw.rstrip("/")


_CONNECTOR_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_connector_urls(name: str, raw: str) -> dict[str, str]:
    """``name=url,...``."""
    urls: dict[str, str] = {}
    for entry in (e.strip() for e in raw.split(",") if e.strip()):
        connector, sep, url = entry.partition("=")
        connector, url = connector.strip(), url.strip()
        if not sep or not _CONNECTOR_NAME_RE.match(connector):
            raise SettingsError(name, f"entries must be name=url, got {entry!r}")
        # ASCII too: runtime.http1 writes the host into the Host header as it is.
        problem = _http_url_problem(url) or (None if url.isascii() else "must be ASCII")
        if problem is not None:
            raise SettingsError(name, f"the URL of {connector} {problem}")
        urls[connector] = url.rstrip("/")
    return urls


class ProcessSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every process reads: where it listens, how it logs, its database."""

    database_url: Annotated[
        str | None,
        env(
            "DATABASE_URL",
            parse_database_url,
            "a postgresql:// URL; unset means the embedded PostgreSQL in dev",
        ),
        CREDENTIAL_FILE,
    ] = None
    host: Annotated[str, env("DW_HOST", parse_host, "the address the component binds")] = (
        "127.0.0.1"
    )
    port: Annotated[
        int | None,
        env(
            "DW_PORT",
            parse_port,
            "the port (unset: engine 8080, slack-bot 8090, tracker 8091, console 8092, "
            "connectors 8100-8105, sandboxes 8201-8204)",
        ),
    ] = None
    log_level: Annotated[
        str, env("DW_LOG_LEVEL", parse_log_level, "debug, info, warning, error or critical")
    ] = "info"
    log_format: Annotated[
        LogFormat,
        env(
            "DW_LOG_FORMAT",
            parse_log_format,
            "auto (default: console on a terminal, json otherwise), json or console",
        ),
    ] = "auto"
    data_dir: Annotated[
        Path, env("DW_DATA_DIR", parse_path, "where dev keeps the embedded database and keys")
    ] = Path(".dataworkflows")
    db_pool_max: Annotated[
        int,
        env("DW_DB_POOL_MAX", int_between(1, 1000), "the most connections one process opens"),
    ] = 10
    service_token: Annotated[
        str | None,
        env("DW_SERVICE_TOKEN", parse_token, "the token between the engine and connectors"),
        SECRET,
    ] = None
    connector_urls: Annotated[
        dict[str, str],
        env("DW_CONNECTOR_URLS", parse_connector_urls, "name=url,... of connector processes"),
    ] = msgspec.field(default_factory=dict)

    def port_or(self, default: int) -> int:
        """The configured port, or ``default`` for the component being served."""
        return self.port if self.port is not None else default
