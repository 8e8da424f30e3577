"""The container image: it runs each command, as a numeric non-root user, with no build
tools or test code inside (the image itself is built by .ci/container from the Dockerfile)."""

from __future__ import annotations

import json

from tests.deploy.conftest import IMAGE, Containers


def test_image_runs_version_help_and_migrate(containers: Containers) -> None:
    """`version`, `serve engine --help` and `migrate` (embedded PostgreSQL) work in the image."""
    version = containers.run("run", "--rm", IMAGE, "version")
    assert version.stdout.startswith("dataworkflows ")
    help_text = containers.run("run", "--rm", IMAGE, "serve", "engine", "--help").stdout
    assert "usage: dataworkflows serve engine" in help_text
    assert "DW_MIGRATIONS" in help_text
    migrated = containers.run("run", "--rm", IMAGE, "migrate", timeout=180)
    assert "applied  0001_engine_schema.sql" in migrated.stdout
    assert "migration(s) to the socket in /home/dw/state/pgdata" in migrated.stdout


def test_image_runs_as_a_numeric_non_root_user(containers: Containers) -> None:
    """The image's user is numeric (Kubernetes' runAsNonRoot can check it) and not root."""
    config = json.loads(containers.run("image", "inspect", IMAGE).stdout)[0]["Config"]
    user, _, group = config["User"].partition(":")
    assert user.isdigit()
    assert int(user) != 0
    assert group.isdigit()
    assert config["Entrypoint"] == ["dataworkflows"]
    identity = containers.run("run", "--rm", "--entrypoint", "id", IMAGE).stdout
    assert identity.startswith(f"uid={user}(dw) gid={group}(dw)")


def test_image_carries_no_build_tools_and_no_tests(containers: Containers) -> None:
    """No compiler, make or uv, no tests or benchmarks, no dev dependencies in the image."""
    script = (
        "for tool in gcc cc c++ make uv; do command -v $tool && echo FOUND $tool; done; "
        "find / -xdev \\( -path /proc -o -path /sys \\) -prune -o "
        "\\( -name 'test_*.py' -path '*dataworkflows*' -o -name conftest.py "
        "-path '*dataworkflows*' -o -type d -name bench -path '/app/*' \\) -print; "
        "python -c 'import importlib.util as u; "
        'print([m for m in ("pytest", "hypothesis", "mypy", "ruff") if u.find_spec(m)])\''
    )
    found = containers.run("run", "--rm", "--entrypoint", "sh", IMAGE, "-c", script).stdout
    assert "FOUND" not in found, found
    assert found.strip() == "[]", found


def test_image_holds_the_bundled_migrations_and_workflows(containers: Containers) -> None:
    """The installed package carries the SQL migrations, shipped workflows and templates."""
    script = (
        "import dataworkflows.runtime.resources as r; "
        "print(sorted(p.name for p in r.bundled_dir('migrations').glob('*.sql'))[0]); "
        "print(sorted(p.name for p in r.bundled_dir('workflows').glob('*.yaml')))"
    )
    out = containers.run("run", "--rm", "--entrypoint", "python", IMAGE, "-c", script).stdout
    assert out.startswith("0001_engine_schema.sql")
    assert "project-status-report.yaml" in out
