"""Configuration parsing: defaults, the .env file, and one clear error per bad variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataworkflows.runtime.settings import Settings, SettingsError, load_settings


def test_defaults_when_nothing_is_set() -> None:
    """With no variables at all, every setting has its documented default."""
    settings = load_settings({}, env_file=None)
    assert settings == Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port is None
    assert settings.port_or(8080) == 8080
    assert settings.log_format == "json"
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
    assert load_settings({"DW_PORT": "", "DATABASE_URL": "  "}, env_file=None) == Settings()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DW_PORT", "99999", "between 1 and 65535"),
        ("DW_PORT", "0", "between 1 and 65535"),
        ("DW_PORT", "eighty", "must be an integer"),
        ("DW_LOG_LEVEL", "verbose", "must be one of debug, info, warning, error, critical"),
        ("DW_LOG_FORMAT", "xml", "must be one of json, console"),
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
    assert settings.api_keys == ("key-one-0123456789", "key-two-0123456789")
    assert settings.connector_urls == {
        "monday": "http://connector-monday:8101",
        "core": "https://core.internal",
    }
    assert (settings.max_runs, settings.lease_seconds, settings.step_timeout) == (5000, 12.5, 60.0)
    assert settings.workflows_dir == Path("/etc/dw/workflows")
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


def test_env_example_lists_every_variable() -> None:
    """.env.example documents every variable the settings read."""
    import re

    source = (Path(__file__).parents[2] / "src/dataworkflows/runtime/settings.py").read_text()
    variables = set(re.findall(r'get\("([A-Z_]+)"', source))
    example = (Path(__file__).parents[2] / ".env.example").read_text()
    assert variables
    assert {v for v in variables if v not in example} == set()


def test_slack_run_allow_rules() -> None:
    """SLACK_RUN_ALLOW names who may run which workflow where; * opens a workflow to all."""
    settings = load_settings(
        {"SLACK_RUN_ALLOW": "monday-to-tracker=U0ALICE1,C0PROJ1; hello-world=*"}, env_file=None
    )
    sync, hello = settings.slack_run_allow
    assert sync.allows("monday-to-tracker", user="U0ALICE1", channel="C0PROJ1")
    assert not sync.allows("monday-to-tracker", user="U0BOB22", channel="C0PROJ1")
    assert not sync.allows("monday-to-tracker", user="U0ALICE1", channel="C0OTHER")
    assert not sync.allows("hello-world", user="U0ALICE1", channel="C0PROJ1")
    assert hello.allows("hello-world", user="U0ANYONE", channel="D0DIRECT")
    assert load_settings({}, env_file=None).slack_run_allow == ()


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
