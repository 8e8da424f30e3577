"""The tools the deploy tests drive, and the skip when none is configured.

The container tests build and run containers: ``.ci/container`` sets
``DW_CONTAINER_ENGINE`` (``podman`` or ``docker``) and ``DW_COMPOSE`` (the compose
command, e.g. ``podman-compose`` or ``docker compose``) and runs them. The Kubernetes
tests render the manifests: ``.ci/kubernetes`` sets ``DW_KUBECTL``. ``make test`` has
neither tool and leaves them out.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "dataworkflows:local"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests here ``container`` or ``kubernetes``; skip them without their tool."""
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if not path.is_relative_to(here):
            continue
        if path.name == "test_kubernetes.py":
            item.add_marker(pytest.mark.kubernetes)
            if not os.environ.get("DW_KUBECTL"):
                item.add_marker(
                    pytest.mark.skip(
                        reason="set DW_KUBECTL=kubectl to run the manifest tests "
                        "(.ci/kubernetes does)"
                    )
                )
            continue
        item.add_marker(pytest.mark.container)
        if not os.environ.get("DW_CONTAINER_ENGINE"):
            item.add_marker(
                pytest.mark.skip(
                    reason="set DW_CONTAINER_ENGINE=podman|docker and DW_COMPOSE to run the "
                    "container tests (.ci/container does)"
                )
            )


@dataclass(frozen=True)
class Containers:
    """The container engine and compose command the tests drive."""

    engine: str
    compose: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``<engine> <args>``, its output captured."""
        return run_command([self.engine, *args], env=self.env, timeout=timeout, check=check)

    def compose_run(
        self, project: str, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``<compose> -p <project> <args>`` in the repository's root, as a user runs it."""
        return run_command(
            [*self.compose, "-p", project, *args], env=self.env, timeout=timeout, check=check
        )


def run_command(
    command: Sequence[str], *, env: dict[str, str], timeout: float, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the repository's root; fail with its output if it fails."""
    result = subprocess.run(
        list(command),
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{shlex.join(command)} exited with {result.returncode}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


@pytest.fixture(scope="session")
def containers() -> Containers:
    """The configured container engine and compose command."""
    engine = os.environ["DW_CONTAINER_ENGINE"]
    compose = tuple(shlex.split(os.environ.get("DW_COMPOSE", f"{engine} compose")))
    return Containers(engine=engine, compose=compose)
