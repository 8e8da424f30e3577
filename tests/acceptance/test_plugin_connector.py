"""A connector from outside the product, found through its entry point only: the CLI
lists it, `config` documents its settings, and `dev` starts its sandbox, runs its
action in a workflow and knows its secret."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.net import free_port
from tests.support.processes import CliProcess, run_cli

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).parents[2]
GREETER_TOKEN = "greeter-token-0123456789"
GREET = """\
name: greet-someone
inputs:
  who: {type: string}
steps:
  - {id: greet, uses: greeter.greet, with: {who: "{{ inputs.who }}"}}
output: "{{ steps.greet.output.greeting }}"
"""


def install_greeter(tmp_path: Path) -> dict[str, str]:
    """Install tests/plugins/greeter as a distribution would: a dist-info whose
    entry_points.txt names its spec. The environment that makes it importable."""
    site = tmp_path / "site"
    dist = site / "greeter_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: greeter-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[dataworkflows.connectors]\ngreeter = tests.plugins.greeter:SPEC\n"
    )
    return {"PYTHONPATH": f"{site}:{ROOT}"}


def test_the_cli_lists_an_installed_connector_and_its_settings(tmp_path: Path) -> None:
    """`serve` offers the new connector and its sandbox; `config` lists its variables."""
    env = install_greeter(tmp_path)
    help_text = run_cli("serve", "--help", env=env, cwd=tmp_path)
    assert help_text.returncode == 0, help_text.stderr
    assert "greeter" in help_text.stdout
    config = run_cli("config", env=env, cwd=tmp_path)
    assert config.returncode == 0, config.stderr
    assert "[connector greeter]" in config.stdout
    assert "GREETER_URL" in config.stdout
    assert "GREETER_TOKEN            default unset (credential" in config.stdout


def test_a_connector_that_cannot_load_is_named(tmp_path: Path) -> None:
    """An entry point that names nothing importable stops the CLI with one line naming it."""
    env = install_greeter(tmp_path)
    entry = tmp_path / "site" / "greeter_plugin-0.1.dist-info" / "entry_points.txt"
    entry.write_text("[dataworkflows.connectors]\ngreeter = tests.plugins.nowhere:SPEC\n")
    result = run_cli("serve", "--help", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "greeter = tests.plugins.nowhere:SPEC cannot be loaded" in result.stderr
    assert "Traceback" not in result.stderr


def test_dev_runs_an_installed_connector_against_its_sandbox(tmp_path: Path) -> None:
    """dev starts the connector's sandbox, runs its action in a workflow, and treats its
    SECRET-marked token as the deployment's own secret."""
    port = free_port()
    env = {
        **install_greeter(tmp_path),
        "DW_PORT": str(port),
        "DW_DATA_DIR": str(tmp_path / "state"),
        "GREETER_TOKEN": GREETER_TOKEN,
    }
    base = f"http://127.0.0.1:{port}"
    with CliProcess("dev", "--no-browser", env=env, cwd=tmp_path) as dev:
        dev.wait_http(f"{base}/readyz")
        key = (tmp_path / "state" / "api-key").read_text().strip()
        dev.wait_stdout("Press Ctrl-C")
        assert "Sandbox    greeter" in dev.stdout
        auth = {"Authorization": f"Bearer {key}"}
        registered = httpx.put(
            f"{base}/v1/workflows/greet-someone",
            content=GREET,
            headers={**auth, "Content-Type": "application/yaml"},
        )
        assert registered.status_code == 201, registered.text
        run = httpx.post(
            f"{base}/v1/workflows/greet-someone/runs",
            params={"wait": 20},
            json={"inputs": {"who": "Ada"}},
            headers=auth,
            timeout=30,
        )
        assert run.status_code == 200, run.text
        assert run.json()["status"] == "succeeded", run.text
        assert run.json()["output"] == "Hello, Ada!"
        leaked = httpx.post(
            f"{base}/v1/workflows/greet-someone/runs",
            json={"inputs": {"who": f"token {GREETER_TOKEN}"}},
            headers=auth,
        )
        assert leaked.status_code == 422, leaked.text
        assert "own secrets" in leaked.text
        assert GREETER_TOKEN not in leaked.text
