"""The command line: help everywhere, clear one-line errors, the right exit status."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dataworkflows import __version__
from dataworkflows.cli import main
from dataworkflows.runtime.serving import AddressUnavailable, bind_socket
from tests.support.net import free_port


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run each command in an empty directory with no Data Workflows variables set."""
    monkeypatch.chdir(tmp_path)
    for variable in ("DATABASE_URL", "DW_HOST", "DW_PORT", "DW_LOG_LEVEL", "DW_LOG_FORMAT"):
        monkeypatch.delenv(variable, raising=False)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process; return exit status, stdout and stderr."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["dev"],
        ["serve"],
        ["serve", "engine"],
        ["serve", "connector"],
        ["serve", "slack-bot"],
        ["serve", "tracker"],
        ["serve", "sandbox"],
        ["migrate"],
        ["version"],
    ],
)
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` works on the program and on every subcommand and exits 0."""
    status, out, _ = run([*argv, "--help"], capsys)
    assert status == 0
    assert out.startswith("usage: dataworkflows")


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`dataworkflows version` prints the installed version."""
    status, out, _ = run(["version"], capsys)
    assert status == 0
    assert out.strip() == f"dataworkflows {__version__}"


def test_unknown_component_is_refused_with_the_valid_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`serve nonsense` exits 2 and lists every valid component."""
    status, _, err = run(["serve", "nonsense"], capsys)
    assert status == 2
    for component in ("engine", "connector", "slack-bot", "tracker", "sandbox"):
        assert component in err


def test_run_without_a_workflow_names_only_what_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`run` alone exits 2 saying the workflow is required, not its optional inputs."""
    status, _, err = run(["run"], capsys)
    assert status == 2
    assert err.rstrip().endswith("the following arguments are required: workflow")


def test_unknown_connector_is_refused_with_the_valid_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`serve connector jira` exits 2 and lists the connectors there are."""
    status, _, err = run(["serve", "connector", "jira"], capsys)
    assert status == 2
    for name in ("monday", "slack", "confluence", "outlook", "tasktracker"):
        assert name in err


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DW_PORT", "70000"),
        ("DW_LOG_LEVEL", "loud"),
        ("DW_LOG_FORMAT", "yaml"),
        ("DATABASE_URL", "not-a-url"),
    ],
)
def test_invalid_configuration_is_one_line_and_status_2(
    variable: str, value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad variable gives one stderr line naming it, exit status 2, no traceback."""
    monkeypatch.setenv(variable, value)
    status, out, err = run(["migrate", "--status"], capsys)
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"dataworkflows: {variable}: ")
    assert "Traceback" not in err


def test_invalid_value_in_env_file_is_reported_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The .env file is validated like the environment."""
    (tmp_path / ".env").write_text("DW_PORT=-1\n")
    status, _, err = run(["migrate"], capsys)
    assert status == 2
    assert err.startswith("dataworkflows: DW_PORT: ")


def test_migration_status_creates_no_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`migrate --status` without DATABASE_URL, where dev never ran, says so (exit 1)
    instead of creating an embedded database to inspect."""
    status, out, err = run(["migrate", "--status"], capsys)
    assert status == 1
    assert out == ""
    assert "no database to inspect" in err
    assert "DATABASE_URL is unset" in err
    assert not (tmp_path / ".dataworkflows").exists()


def test_unreachable_database_names_host_and_port(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that does not answer gives one line naming host and port, exit 1."""
    port = free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://dw:s3cret@127.0.0.1:{port}/dw")
    monkeypatch.setenv("DW_LOG_LEVEL", "error")
    status, _, err = run(["migrate"], capsys)
    assert status == 1
    assert f"127.0.0.1:{port}" in err
    assert "cannot connect to PostgreSQL" in err
    assert "Traceback" not in err
    assert "s3cret" not in err


def test_serve_engine_requires_a_database_url(capsys: pytest.CaptureFixture[str]) -> None:
    """`serve engine` without DATABASE_URL explains what is missing, exit 2."""
    status, _, err = run(["serve", "engine"], capsys)
    assert status == 2
    assert "DATABASE_URL is not set" in err


def test_port_in_use_is_a_clear_error() -> None:
    """Binding a taken DW_PORT fails with the address and the variable to change."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AddressUnavailable, match=f"127.0.0.1:{port}.*DW_PORT"):
            bind_socket("127.0.0.1", port)


def test_config_shows_defaults_as_they_are_written_in_the_environment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`config` shows a flag's default as false (what DW_... takes), not Python's False."""
    code, out, _ = run(["config"], capsys)
    assert code == 0
    assert "GRAPH_SANDBOX_TLS        default false" in out
    assert "False" not in out
    assert "None" not in out
