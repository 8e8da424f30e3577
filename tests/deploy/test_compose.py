"""compose.yaml does the product's work: brought up with the README's commands, it serves
the engine (two replicas), runs Monday and tracker workflows through the connector
containers, answers /dw in the Slack sandbox, survives losing an engine mid-run, and
`down` leaves nothing running.

The tests run in file order on one deployment (the module's fixture): the engine-kill
test comes last but one, the `down` test last.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.deploy.conftest import ROOT, Containers, run_command
from tests.support.net import free_port
from tests.support.slack import APOLLO_CHANNEL, BOT_USER_ID
from tests.support.waiting import eventually

DEMO_BOARD = "5012345601"  # Apollo's first board in the Monday sandbox


@dataclass
class Deployment:
    """A running compose project and clients for what it publishes on 127.0.0.1."""

    project: str
    containers: Containers
    engine: httpx.Client
    engine_2: httpx.Client
    slack_sandbox: httpx.Client
    console: httpx.Client
    api_key: str

    def labelled(self) -> list[str]:
        """Names of every container of this project, running or not."""
        listed = self.containers.run(
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--format",
            "{{.Names}}",
        )
        return listed.stdout.split()

    def logs(self, service: str) -> str:
        """Everything one service's containers logged."""
        result = self.containers.compose_run(self.project, "logs", service, timeout=60)
        return result.stdout + result.stderr


def _ready(client: httpx.Client) -> dict[str, Any] | None:
    try:
        response = client.get("/readyz")
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None


@pytest.fixture(scope="module")
def deployment(containers: Containers) -> Iterator[Deployment]:
    """`deploy/compose-secrets.sh` then `compose up -d --build`, as the README says."""
    project = f"dwci{os.getpid()}"
    ports = {name: free_port() for name in ("engine", "engine_2", "bot", "slack", "console")}
    env = {
        "DW_ENGINE_PORT": str(ports["engine"]),
        "DW_ENGINE_2_PORT": str(ports["engine_2"]),
        "DW_BOT_PORT": str(ports["bot"]),
        "DW_SLACK_SANDBOX_PORT": str(ports["slack"]),
        "DW_CONSOLE_PORT": str(ports["console"]),
        # A killed engine's runs move to the other replica after this many seconds.
        "DW_LEASE_SECONDS": "10",
    }
    compose = Containers(engine=containers.engine, compose=containers.compose, env=env)
    created = run_command([str(ROOT / "deploy" / "compose-secrets.sh")], env={}, timeout=30)
    api_key = (ROOT / "secrets" / "api_key").read_text().strip()
    assert api_key in created.stdout
    try:
        compose.compose_run(project, "up", "-d", "--build", timeout=900)
        headers = {"Authorization": f"Bearer {api_key}"}
        with (
            httpx.Client(
                base_url=f"http://127.0.0.1:{ports['engine']}", headers=headers, timeout=90
            ) as engine,
            httpx.Client(
                base_url=f"http://127.0.0.1:{ports['engine_2']}", headers=headers, timeout=90
            ) as engine_2,
            httpx.Client(base_url=f"http://127.0.0.1:{ports['slack']}", timeout=30) as slack,
            httpx.Client(base_url=f"http://127.0.0.1:{ports['console']}", timeout=30) as console,
        ):
            yield Deployment(project, compose, engine, engine_2, slack, console, api_key)
    finally:
        compose.compose_run(project, "down", "-v", "-t", "5", timeout=300, check=False)


def test_both_engines_become_ready(deployment: Deployment) -> None:
    """Each engine's /readyz turns 200 with every check ok: the database, the migration
    (run once by its own service), every connector container, every shipped workflow."""
    for client in (deployment.engine, deployment.engine_2):
        ready = eventually(
            lambda c=client: _ready(c), timeout=240, every=0.5, what="the engine's /readyz"
        )
        checks = ready["checks"]
        assert set(checks.values()) == {"ok"}, checks
        assert {"database", "migrations", "workflows", "connector:monday"} <= set(checks)
    migrate = deployment.logs("migrate")
    assert migrate.count("applied  0001_engine_schema.sql") == 1, migrate
    for engine in ("engine", "engine-2"):
        assert "migration applied" not in deployment.logs(engine)


def test_monday_board_snapshot_runs_through_the_connector_container(
    deployment: Deployment,
) -> None:
    """monday-board-snapshot on the demo board succeeds, its calls served by the separate
    connector-monday container."""
    response = deployment.engine.post(
        "/v1/workflows/monday-board-snapshot/runs",
        params={"wait": 60},
        json={"inputs": {"board_id": DEMO_BOARD}},
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "succeeded", run["error"]
    assert run["output"]["items"] > 0
    assert sum(run["output"]["by_status"].values()) == run["output"]["items"]
    assert "/v1/actions/monday.list_items" in deployment.logs("connector-monday")


def test_monday_to_tracker_creates_tasks_once(deployment: Deployment) -> None:
    """monday-to-tracker creates a task per item; a second run (on the other replica)
    creates none."""

    def sync(client: httpx.Client) -> dict[str, Any]:
        response = client.post(
            "/v1/workflows/monday-to-tracker/runs",
            params={"wait": 90},
            json={"inputs": {"board_id": DEMO_BOARD}},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == "succeeded", body["error"]
        return dict(body["output"])

    first = sync(deployment.engine)
    assert first["created"] == first["items"] > 0
    assert first["failed"] == 0
    second = sync(deployment.engine_2)
    assert second["created"] == 0
    assert second["unchanged"] == first["items"]
    tasks = deployment.engine.post(
        "/v1/connectors/tasktracker/actions/list_tasks", json={"input": {"limit": 500}}
    )
    assert tasks.status_code == 200, tasks.text
    refs = [t["external_ref"] for t in tasks.json()["output"]["tasks"]]
    assert len(refs) == len(set(refs)) >= first["items"]


def test_dw_status_in_the_slack_sandbox_posts_the_report(deployment: Deployment) -> None:
    """/dw status apollo, typed into the Slack sandbox container (which signs it for the
    bot container), gets the project's report into #proj-apollo."""

    def channel() -> list[dict[str, Any]]:
        messages = deployment.slack_sandbox.get(f"/sandbox/channels/{APOLLO_CHANNEL}/messages")
        assert messages.status_code == 200, messages.text
        return list(messages.json())

    # The demo channel holds earlier reports: only messages new since the command count.
    before = {m["ts"] for m in channel()}
    typed = deployment.slack_sandbox.post("/sandbox/send/command", json={"text": "status apollo"})
    assert typed.status_code == 200, typed.text
    answer = typed.json()
    assert answer["status"] == 200, answer
    assert answer["within_deadline"], answer

    def new_from_bot(what: str) -> Callable[[], dict[str, Any] | None]:
        def probe() -> dict[str, Any] | None:
            return next(
                (
                    m
                    for m in channel()
                    if m["ts"] not in before
                    and m.get("user") == BOT_USER_ID
                    and what in str(m.get("blocks")) + m.get("text", "")
                ),
                None,
            )

        return probe

    def report_post() -> dict[str, Any] | None:
        # The report itself: a top-level message of the bot's that names the project,
        # not the bot's message about the run (which lists the run's output) nor a reply.
        return next(
            (
                m
                for m in channel()
                if m["ts"] not in before
                and m.get("user") == BOT_USER_ID
                and m.get("thread_ts") in (None, m["ts"])
                and "Apollo Website Relaunch" in str(m.get("blocks"))
                and "project-status-report" not in m.get("text", "")
            ),
            None,
        )

    report = eventually(
        report_post,
        timeout=120,
        every=0.5,
        what="the report in #proj-apollo",
    )
    assert report["blocks"][0]["type"] == "header"
    status = eventually(
        new_from_bot("project-status-report* succeeded"),
        timeout=60,
        every=0.5,
        what="the bot's message that the run succeeded",
    )
    assert "Maya" in status["text"] or "<@" in status["text"]


def test_a_run_survives_losing_its_engine(deployment: Deployment) -> None:
    """A run started on one replica is followed on the other; killing the container that
    runs it leaves the other replica to finish it."""
    definition = (
        "name: compose-slow-steps\n"
        "description: Six pauses of two seconds, one after another.\n"
        "steps:\n"
        + "".join(
            f"  - {{id: pause{i}, uses: core.sleep, with: {{seconds: 2}}}}\n" for i in range(6)
        )
    )
    registered = deployment.engine.put(
        "/v1/workflows/compose-slow-steps",
        content=definition,
        headers={"Content-Type": "application/yaml"},
    )
    assert registered.status_code in (200, 201), registered.text
    started = deployment.engine.post("/v1/workflows/compose-slow-steps/runs", json={})
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]

    def claimed_by() -> str | None:
        detail = deployment.engine_2.get(f"/v1/runs/{run_id}").json()
        steps_done = sum(1 for a in detail["steps"] if a["status"] == "succeeded")
        claims = [e for e in detail["events"] if e["kind"] == "claimed"]
        return str(claims[0]["detail"]["engine"]) if claims and steps_done >= 1 else None

    engine_id = eventually(
        claimed_by, timeout=60, every=0.5, what="the run to be claimed and under way"
    )
    # An engine's id starts with its host name, which is its container's id.
    container = engine_id.split(":", 1)[0]
    deployment.containers.run("kill", container)

    def finished() -> dict[str, Any] | None:
        try:
            detail = deployment.engine_2.get(f"/v1/runs/{run_id}").json()
        except httpx.TransportError:
            return None
        return detail if detail["run"]["status"] not in ("queued", "running") else None

    detail = eventually(finished, timeout=120, every=0.5, what="the other engine to finish the run")
    assert detail["run"]["status"] == "succeeded", detail["run"]["error"]
    recovered = [e for e in detail["events"] if e["kind"] == "recovered"]
    assert recovered, detail["events"]
    assert recovered[-1]["detail"]["previous_engine"] == engine_id
    assert not recovered[-1]["detail"]["engine"].startswith(container)
    done = [a["step_id"] for a in detail["steps"] if a["status"] == "succeeded"]
    assert sorted(done) == [f"pause{i}" for i in range(6)], "every step once"


def test_the_console_container_shows_the_engines_runs(deployment: Deployment) -> None:
    """The console service signs a person in with an API key and lists a run the
    engines made, reading them over their API from its own container."""
    # engine-2: an earlier test stops the first replica; "engine" reaches either.
    started = deployment.engine_2.post("/v1/workflows/hello-world/runs?wait=30", json={})
    assert started.status_code in (200, 201), started.text
    run_id = started.json()["id"]
    eventually(
        lambda: _ready(deployment.console), timeout=120, every=0.5, what="the console's /readyz"
    )
    signed_in = deployment.console.post(
        "/sign-in", data={"api_key": deployment.api_key, "next": f"/runs/{run_id}"}
    )
    assert signed_in.status_code == 303, signed_in.text
    page = deployment.console.get(f"/runs/{run_id}")
    assert page.status_code == 200, page.text
    assert "hello-world" in page.text
    assert "succeeded" in page.text


def test_down_leaves_nothing_running(deployment: Deployment) -> None:
    """`compose down` stops and removes every container of the deployment."""
    assert deployment.labelled(), "the deployment has containers before down"
    deployment.containers.compose_run(deployment.project, "down", "-v", "-t", "5", timeout=300)
    assert deployment.labelled() == []
