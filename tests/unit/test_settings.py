"""Configuration parsing: defaults, the .env file, and one clear error per bad variable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataworkflows.composition.settings import (
    Settings,
    credential_variables,
    load_settings,
    settings_sections,
)
from dataworkflows.runtime.settings import SettingsError, parse_http_url, section_variables


def test_defaults_when_nothing_is_set() -> None:
    """With no variables at all, every setting has its documented default."""
    settings = load_settings({}, env_file=None)
    assert msgspec.structs.replace(settings, connectors={}) == Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port is None
    assert settings.port_or(8080) == 8080
    assert settings.log_format == "auto"
    assert settings.log_level == "info"
    assert settings.database_url is None


def test_values_are_parsed_into_types() -> None:
    """Variables become typed values (ints, paths, normalised names)."""
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://dw:secret@db.internal:5433/dw",
            "DW_HOST": "0.0.0.0",
            "DW_PORT": "9000",
            "DW_LOG_LEVEL": "DEBUG",
            "DW_LOG_FORMAT": "Console",
            "DW_DATA_DIR": "/var/lib/dw",
            "DW_DB_POOL_MAX": "20",
        },
        env_file=None,
    )
    assert settings.database_url == "postgresql://dw:secret@db.internal:5433/dw"
    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.port_or(8080) == 9000
    assert settings.log_level == "debug"
    assert settings.log_format == "console"
    assert settings.data_dir == Path("/var/lib/dw")
    assert settings.db_pool_max == 20


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    """A .env file supplies values; a real environment variable overrides it."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        'DW_PORT=9100\nDW_LOG_LEVEL="warning"\n# a comment\nexport DW_HOST=0.0.0.0\n'
    )
    settings = load_settings({"DW_PORT": "9200"}, env_file=env_file)
    assert settings.port == 9200
    assert settings.log_level == "warning"
    assert settings.host == "0.0.0.0"


def test_empty_values_mean_default() -> None:
    """An empty variable (DW_PORT=) counts as unset, as in most twelve-factor tools."""
    blank = load_settings({"DW_PORT": "", "DATABASE_URL": "  "}, env_file=None)
    assert blank == load_settings({}, env_file=None)
    assert (blank.port, blank.database_url) == (None, None)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DW_PORT", "99999", "between 1 and 65535"),
        ("DW_PORT", "0", "between 1 and 65535"),
        ("DW_PORT", "eighty", "must be an integer"),
        ("DW_LOG_LEVEL", "verbose", "must be one of debug, info, warning, error, critical"),
        ("DW_LOG_FORMAT", "xml", "must be one of json, console, auto"),
        ("DATABASE_URL", "mysql://root@localhost/db", "must be a postgresql:// URL"),
        ("DATABASE_URL", "localhost:5432", "must be a postgresql:// URL"),
        ("DATABASE_URL", "postgresql://u@h:notaport/db", "not a valid PostgreSQL connection URL"),
        ("DW_HOST", "bad host!", "not a host name"),
        ("DW_DB_POOL_MAX", "0", "between 1 and 1000"),
    ],
)
def test_invalid_value_names_variable_and_problem(variable: str, value: str, expected: str) -> None:
    """Each invalid value raises one error that names the variable and the problem."""
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: value}, env_file=None)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert expected in str(caught.value)


def test_database_url_error_never_echoes_the_password() -> None:
    """A malformed DATABASE_URL is reported without repeating its secret parts."""
    with pytest.raises(SettingsError) as caught:
        load_settings({"DATABASE_URL": "postgresql://u:hunter2@h:notaport/db"}, env_file=None)
    assert "hunter2" not in str(caught.value)


@given(st.text(max_size=12))
def test_any_port_text_parses_or_fails_cleanly(raw: str) -> None:
    """Arbitrary DW_PORT text gives a valid port or a SettingsError, never anything else."""
    error: SettingsError | None = None
    try:
        settings = load_settings({"DW_PORT": raw}, env_file=None)
    except SettingsError as exc:
        error = exc
    if error is not None:
        assert error.variable == "DW_PORT"
    else:
        assert settings.port is None or 1 <= settings.port <= 65535


def test_engine_variables_are_parsed() -> None:
    """Keys, token, connector URLs and engine limits become typed values."""
    settings = load_settings(
        {
            "DW_API_KEYS": "key-one-0123456789, key-two-0123456789",
            "DW_SERVICE_TOKEN": "service-token-0123456789",
            "DW_CONNECTOR_URLS": "monday=http://connector-monday:8101/, core=https://core.internal",
            "DW_MAX_RUNS": "5000",
            "DW_LEASE_SECONDS": "12.5",
            "DW_STEP_TIMEOUT": "60",
            "DW_WORKFLOWS_DIR": "/etc/dw/workflows",
        },
        env_file=None,
    )
    assert settings.engine.api_keys == ("key-one-0123456789", "key-two-0123456789")
    assert settings.connector_urls == {
        "monday": "http://connector-monday:8101",
        "core": "https://core.internal",
    }
    engine = settings.engine
    assert (engine.max_runs, engine.lease_seconds, engine.step_timeout) == (5000, 12.5, 60.0)
    assert engine.workflows_dir == Path("/etc/dw/workflows")
    assert set(settings.secrets()) == {
        "key-one-0123456789",
        "key-two-0123456789",
        "service-token-0123456789",
    }


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DW_API_KEYS", "short", "at least 16 characters"),
        ("DW_SERVICE_TOKEN", "has a space in it 12345", "must not contain spaces"),
        ("DW_CONNECTOR_URLS", "monday", "entries must be name=url"),
        ("DW_CONNECTOR_URLS", "monday=ftp://x", "must start with http:// or https://"),
        ("DW_CONNECTOR_URLS", "monday=http://", "name a host"),
        ("DW_CONNECTOR_URLS", "monday=http://m:99999", "invalid port"),
        ("DW_CONNECTOR_URLS", "monday=http://m:81/?x=1", "hold no ? or #"),
        ("DW_CONNECTOR_URLS", "monday=http://m\u00fcnchen:81", "must be ASCII"),
        ("DW_SERVICE_TOKEN", "s\u00e9rvice-token-0123456789", "must be ASCII"),
        ("DW_MAX_RUNS", "0", "between 1 and 100000"),
        ("DW_LEASE_SECONDS", "soon", "must be a number of seconds"),
    ],
)
def test_invalid_engine_variables_are_named(variable: str, value: str, expected: str) -> None:
    """Bad engine settings fail with the variable's name and never echo a secret."""
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: value}, env_file=None)
    assert caught.value.variable == variable
    assert expected in str(caught.value)
    if variable in ("DW_API_KEYS", "DW_SERVICE_TOKEN"):
        assert value not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ftp://slack.internal", "must start with http:// or https://"),
        ("http:///slack", "must name a host"),
        ("http://user:hunter2-secret@:8080", "must name a host"),
        ("http://bot.internal:80800", "has an invalid port"),
        ("https://bot.internal/slack?x=1", "must hold no ? or #"),
        ("https://bot.internal/slack#top", "must hold no ? or #"),
    ],
)
def test_a_url_setting_that_is_not_a_usable_base_url_is_named(value: str, expected: str) -> None:
    """A URL variable names itself and the problem, never echoing the value."""
    with pytest.raises(SettingsError) as caught:
        parse_http_url("SLACK_BOT_URL", value)
    assert caught.value.variable == "SLACK_BOT_URL"
    assert expected in str(caught.value)
    assert value not in str(caught.value)


def test_a_url_setting_loses_only_its_trailing_slash() -> None:
    """A good base URL is kept as written, less its trailing slash."""
    assert parse_http_url("DW_PUBLIC_URL", "https://dw.example:8443/base/") == (
        "https://dw.example:8443/base"
    )


def test_env_example_and_readme_list_every_variable() -> None:
    """.env.example and the README document every variable of every section, the
    installed connectors' and sandboxes' included."""
    variables = {
        field.var.name for _, section in settings_sections() for field in section_variables(section)
    }
    root = Path(__file__).parents[2]
    example = (root / ".env.example").read_text()
    readme = (root / "README.md").read_text()
    assert len(variables) > 40
    assert {v for v in variables if v not in example} == set()
    assert {v for v in variables if f"`{v}`" not in readme} == set()


def test_secrets_are_found_by_their_type() -> None:
    """Every field marked SECRET, in every section, is masked; identifiers are not."""
    values = {
        "DW_API_KEYS": "api-key-0123456789abcdef",
        "DW_SERVICE_TOKEN": "service-token-0123456789",
        "DW_ENGINE_API_KEY": "engine-key-0123456789ab",
        "MONDAY_API_TOKEN": "monday-token-value",
        "TRACKER_USERNAME": "tracker-user",
        "TRACKER_PASSWORD": "tracker-password-value",
        "SLACK_BOT_TOKEN": "xoxb-secret-value",
        "SLACK_SIGNING_SECRET": "signing-secret-value",
        "CONFLUENCE_EMAIL": "me@example.com",
        "CONFLUENCE_API_TOKEN": "confluence-token-value",
        "GRAPH_CLIENT_ID": "client-id-value",
        "GRAPH_CLIENT_SECRET": "graph-secret-value",
    }
    masked = set(load_settings(values, env_file=None).secrets())
    identifiers = {"tracker-user", "me@example.com", "client-id-value"}
    assert masked == set(values.values()) - identifiers


def test_slack_run_allow_rules() -> None:
    """SLACK_RUN_ALLOW names who may run which workflow where; * opens a workflow to all."""
    settings = load_settings(
        {"SLACK_RUN_ALLOW": "monday-to-tracker=U0ALICE1,C0PROJ1; hello-world=*"}, env_file=None
    )
    sync, hello = settings.bot.run_allow
    assert sync.allows("monday-to-tracker", user="U0ALICE1", channel="C0PROJ1")
    assert not sync.allows("monday-to-tracker", user="U0BOB22", channel="C0PROJ1")
    assert not sync.allows("monday-to-tracker", user="U0ALICE1", channel="C0OTHER")
    assert not sync.allows("hello-world", user="U0ALICE1", channel="C0PROJ1")
    assert hello.allows("hello-world", user="U0ANYONE", channel="D0DIRECT")
    assert load_settings({}, env_file=None).bot.run_allow == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("monday-to-tracker", "entries must be workflow=subjects"),
        ("hello-world=", "lists nobody"),
        ("hello-world=alice", "is not a Slack user id"),
        ("Bad Name=U0ALICE1", "entries must be workflow=subjects"),
    ],
)
def test_invalid_run_allow_is_named(value: str, expected: str) -> None:
    """A malformed allow-list fails on start, naming SLACK_RUN_ALLOW and the entry."""
    with pytest.raises(SettingsError) as caught:
        load_settings({"SLACK_RUN_ALLOW": value}, env_file=None)
    assert caught.value.variable == "SLACK_RUN_ALLOW"
    assert expected in str(caught.value)


def test_credentials_are_read_from_files(tmp_path: Path) -> None:
    """Every credential's *_FILE form reads the value from the file, trailing newline dropped."""
    values = {
        "DATABASE_URL": "postgresql://dw:pw@db:5432/dw",
        "DW_API_KEYS": "first-key-16-chars-long,second-key-16-chars-long",
        "DW_SERVICE_TOKEN": "service-token-16-chars",
        "DW_ENGINE_API_KEY": "engine-key-16-chars-long",
        "MONDAY_API_TOKEN": "monday-token",
        "MONDAY_SIGNING_SECRET": "monday-signing-secret",
        "TRACKER_PASSWORD": "tracker-password",
        "TRACKER_JWT_SECRET": "tracker-jwt-secret-16-chars",
        "SLACK_BOT_TOKEN": "xoxb-from-a-file",
        "SLACK_SIGNING_SECRET": "slack-signing-secret",
        "CONFLUENCE_API_TOKEN": "confluence-token",
        "GRAPH_CLIENT_SECRET": "graph-client-secret",
        "DW_SECRETS_KEY": "0123456789abcdef" * 4,
    }
    assert set(values) == set(credential_variables())
    environ = {}
    for name, value in values.items():
        path = tmp_path / name.lower()
        path.write_text(value + "\n")
        environ[f"{name}_FILE"] = str(path)
    from_files = load_settings(environ, env_file=None)
    assert from_files == load_settings(values, env_file=None)
    assert from_files.connectors["slack"].bot_token == "xoxb-from-a-file"
    assert from_files.engine.api_keys == ("first-key-16-chars-long", "second-key-16-chars-long")


def test_a_credential_file_named_in_the_env_file_is_read(tmp_path: Path) -> None:
    """The *_FILE form works from .env as well as from the environment."""
    secret = tmp_path / "token"
    secret.write_text("xoxb-in-a-file")
    env_file = tmp_path / ".env"
    env_file.write_text(f"SLACK_BOT_TOKEN_FILE={secret}\n")
    assert load_settings({}, env_file=env_file).connectors["slack"].bot_token == "xoxb-in-a-file"


@pytest.mark.parametrize(
    ("prepare", "problem"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_text(""), "is empty"),
        (lambda p: p.write_text("  \n\n"), "is empty"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b"\xff\xfe"), "is not UTF-8 text"),
        (lambda p: p.write_text("x" * 70_000), "larger than 64 KiB"),
    ],
)
def test_a_bad_credential_file_names_the_variable(
    tmp_path: Path, prepare: Callable[[Path], object], problem: str
) -> None:
    """A missing, empty or unreadable secret file stops the start, naming the *_FILE variable."""
    path = tmp_path / "slack_bot_token"
    prepare(path)
    with pytest.raises(SettingsError) as caught:
        load_settings({"SLACK_BOT_TOKEN_FILE": str(path)}, env_file=None)
    assert caught.value.variable == "SLACK_BOT_TOKEN_FILE"
    assert problem in caught.value.problem
    assert str(caught.value).startswith("SLACK_BOT_TOKEN_FILE: ")


def test_both_forms_of_a_credential_are_refused(tmp_path: Path) -> None:
    """Setting SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE is refused without echoing either."""
    path = tmp_path / "token"
    path.write_text("xoxb-in-the-file")
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {"SLACK_BOT_TOKEN": "xoxb-in-the-env", "SLACK_BOT_TOKEN_FILE": str(path)},
            env_file=None,
        )
    assert caught.value.variable == "SLACK_BOT_TOKEN_FILE"
    assert "set either SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE" in str(caught.value)
    assert "xoxb" not in str(caught.value)


def test_a_credential_read_from_a_file_is_checked_like_the_variable(tmp_path: Path) -> None:
    """A file's content goes through the variable's own rule, and the error does not echo it."""
    path = tmp_path / "service_token"
    path.write_text("short")
    with pytest.raises(SettingsError) as caught:
        load_settings({"DW_SERVICE_TOKEN_FILE": str(path)}, env_file=None)
    assert caught.value.variable == "DW_SERVICE_TOKEN"
    assert "at least 16 characters" in caught.value.problem
    assert "short" not in str(caught.value)


def test_engine_start_up_settings() -> None:
    """DW_MIGRATIONS chooses apply or wait; DW_STARTUP_TIMEOUT is a number of seconds."""
    assert Settings().engine.migrations == "apply"
    settings = load_settings({"DW_MIGRATIONS": "Wait", "DW_STARTUP_TIMEOUT": "45"}, env_file=None)
    assert settings.engine.migrations == "wait"
    assert settings.engine.startup_timeout == 45.0
    with pytest.raises(SettingsError, match="DW_MIGRATIONS: must be one of apply, wait"):
        load_settings({"DW_MIGRATIONS": "later"}, env_file=None)
