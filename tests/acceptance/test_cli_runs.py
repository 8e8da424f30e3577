"""The command line as a client of a running engine: `run --follow` shows each step and
ends with the run's output and exit status, `runs` lists them, `logs` replays one (named by its id or the start of it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.engine import API_KEY, engine_process_env
from tests.support.processes import CliProcess, run_cli

pytestmark = pytest.mark.acceptance

GREET = """\
name: greet
inputs:
  name: {type: string}
  times: {type: integer, default: 1}
steps:
  - {id: hello, uses: core.echo, with: {message: "Hello, {{ inputs.name }}!"}}
  - {id: again, uses: core.echo, needs: [hello], with: {times: "{{ inputs.times }}"}}
output: {message: "{{ steps.hello.output.message }}", times: "{{ steps.again.output.times }}"}
"""
BOOM = """\
name: boom
steps:
  - id: explode
    uses: core.fail
    retry: {attempts: 1}
    with: {code: invalid_input, message: the board is gone, retryable: false}
"""


def test_run_follow_runs_and_logs(empty_database_url: str, tmp_path: Path) -> None:
    """A succeeded run exits 0 with its output, a failed one 1 with its error, bad inputs
    2 naming the input; `runs` and `logs` show what happened."""
    engine_url, env = engine_process_env(
        empty_database_url, tmp_path, {"greet.yaml": GREET, "boom.yaml": BOOM}
    )
    client = {"DW_ENGINE_URL": engine_url, "DW_ENGINE_API_KEY": API_KEY}
    with CliProcess("serve", "engine", env=env, cwd=tmp_path) as engine:
        engine.wait_http(f"{engine_url}/readyz")

        good = run_cli("run", "greet", "name=Ada", "times=3", "--follow", env=client, cwd=tmp_path)
        assert good.returncode == 0, good.stderr
        assert "✓ hello  core.echo" in good.stdout
        assert "✓ again  core.echo" in good.stdout
        assert "succeeded" in good.stdout
        assert '"message": "Hello, Ada!"' in good.stdout
        assert '"times": 3' in good.stdout
        assert "HTTP Request" not in good.stderr, "the client's own requests are not logged"

        bad = run_cli("run", "boom", "--follow", env=client, cwd=tmp_path)
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert "✗ explode  core.fail" in bad.stdout
        assert "the board is gone" in bad.stdout

        refused = run_cli("run", "greet", "times=many", env=client, cwd=tmp_path)
        assert refused.returncode == 2
        assert "times must be a whole number" in refused.stderr
        assert "name is required" in refused.stderr
        unknown = run_cli("run", "gret", env=client, cwd=tmp_path)
        assert unknown.returncode == 2
        assert "no workflow called 'gret'; did you mean 'greet'?" in unknown.stderr
        unknown_filter = run_cli("runs", "--workflow", "gret", env=client, cwd=tmp_path)
        assert unknown_filter.returncode == 2
        assert "no workflow called 'gret'" in unknown_filter.stderr

        listed = run_cli("runs", env=client, cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert lines[0].startswith("RUN")
        assert "boom" in lines[1]
        assert "failed" in lines[1]
        assert "greet" in lines[2]
        assert "succeeded" in lines[2]
        run_id = lines[2].split()[0]

        logs = run_cli("logs", run_id, env=client, cwd=tmp_path)
        assert logs.returncode == 0, logs.stderr
        assert f"Run {run_id}  greet v1  succeeded" in logs.stdout
        assert "trigger cli" in logs.stdout
        assert "✓ hello" in logs.stdout
        short = run_cli("logs", run_id[:8], env=client, cwd=tmp_path)
        assert short.returncode == 0, short.stderr
        assert f"Run {run_id}  greet v1  succeeded" in short.stdout
        for word, said in (("not-an-id!", "is not a run id"), ("fffff0000", "no run whose id")):
            unknown_run = run_cli("logs", word, env=client, cwd=tmp_path)
            assert unknown_run.returncode == 2
            assert said in unknown_run.stderr

        wrong_key = run_cli("runs", env={**client, "DW_ENGINE_API_KEY": "x" * 20}, cwd=tmp_path)
        assert wrong_key.returncode == 2
        assert "refused the API key" in wrong_key.stderr
        assert engine.stop() == 0

    down = run_cli("runs", env=client, cwd=tmp_path)
    assert down.returncode == 1
    assert "does not answer" in down.stderr
    assert "Traceback" not in down.stderr
