"""deploy/kubernetes: what the rendered manifests promise an operator, checked on the
output of `kubectl kustomize` for every overlay (.ci/kubernetes also validates it with
kubernetes-validate --strict against a pinned Kubernetes version)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from dataworkflows.composition.settings import credential_variables
from tests.deploy.conftest import ROOT, run_command

CREDENTIAL_VARIABLES = credential_variables()

KUSTOMIZE_ROOT = ROOT / "deploy" / "kubernetes"
TARGETS = ["base", *(f"overlays/{p.name}" for p in sorted((KUSTOMIZE_ROOT / "overlays").iterdir()))]
CONNECTORS = ("monday", "tasktracker", "slack", "confluence", "outlook")
SANDBOXES = ("sandbox-monday", "sandbox-slack", "sandbox-confluence", "sandbox-outlook")
CREDENTIALS_SECRET = "dataworkflows-credentials"


def render(target: str) -> list[dict[str, Any]]:
    """`kubectl kustomize deploy/kubernetes/<target>`, parsed."""
    kubectl = os.environ.get("DW_KUBECTL", "kubectl")
    output = run_command([kubectl, "kustomize", str(KUSTOMIZE_ROOT / target)], env={}, timeout=60)
    return [doc for doc in yaml.safe_load_all(output.stdout) if doc]


@pytest.fixture(scope="module", params=TARGETS)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """Every object of one kustomization."""
    return render(str(request.param))


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]


def test_the_manifests_hold_no_credentials(rendered: list[dict[str, Any]]) -> None:
    """No Secret is rendered: the credentials Secret is referenced, never contained."""
    assert [o["metadata"]["name"] for o in rendered if o["kind"] == "Secret"] == []
    referenced = {
        volume["secret"]["secretName"]
        for _, spec in pod_specs(rendered)
        for volume in spec.get("volumes", [])
        if "secret" in volume
    }
    assert referenced == {CREDENTIALS_SECRET}


def test_every_credential_is_a_mounted_file(rendered: list[dict[str, Any]]) -> None:
    """Credentials arrive as *_FILE paths to keys the pod mounts; no credential variable is
    set directly and nothing secret comes from the ConfigMap."""
    config = next(o for o in rendered if o["kind"] == "ConfigMap")
    assert not set(config["data"]) & set(CREDENTIAL_VARIABLES)
    for where, spec in pod_specs(rendered):
        mounted: set[str] = set()
        for volume in spec.get("volumes", []):
            if "secret" not in volume:
                continue
            mount = next(
                m["mountPath"]
                for c in spec["containers"]
                for m in c.get("volumeMounts", [])
                if m["name"] == volume["name"]
            )
            mounted |= {f"{mount}/{item['path']}" for item in volume["secret"]["items"]}
        for container in spec["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            assert not set(env) & set(CREDENTIAL_VARIABLES), where
            for name, entry in env.items():
                if name.endswith("_FILE"):
                    assert entry["value"] in mounted, f"{where}: {name} -> {entry['value']}"
            for ref in (
                e["valueFrom"]["configMapKeyRef"] for e in env.values() if "valueFrom" in e
            ):
                assert ref["name"] == config["metadata"]["name"], where
                assert ref["key"] in config["data"], f"{where}: {ref['key']}"


def test_every_container_is_bounded_and_unprivileged(rendered: list[dict[str, Any]]) -> None:
    """Each container has requests and limits; ours run as non-root with a read-only root
    file system and no capabilities."""
    for where, spec in pod_specs(rendered):
        for container in spec["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert {"cpu", "memory"} <= set(resources["limits"]), where
            if container["image"].startswith("postgres"):
                continue
            assert spec["securityContext"]["runAsNonRoot"] is True, where
            assert spec["securityContext"]["runAsUser"] == 10001, where
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where


def test_the_engine_is_replicated_probed_and_protected(rendered: list[dict[str, Any]]) -> None:
    """Two or more engines, ready on /readyz and alive on /healthz, behind a Service, a
    PodDisruptionBudget and a HorizontalPodAutoscaler; migrations come from one Job."""
    engine = named(rendered, "Deployment", "engine")
    assert engine["spec"]["replicas"] >= 2
    container = engine["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["serve", "engine"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert _config(rendered)["DW_MIGRATIONS"] == "wait"
    assert env["DW_PORT"] == "8080"
    labels = engine["spec"]["selector"]["matchLabels"]
    assert named(rendered, "Service", "engine")["spec"]["selector"] == labels
    pdb = named(rendered, "PodDisruptionBudget", "engine")
    assert pdb["spec"]["selector"]["matchLabels"] == labels
    assert pdb["spec"]["minAvailable"] == 1
    hpa = named(rendered, "HorizontalPodAutoscaler", "engine")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "engine"
    assert hpa["spec"]["minReplicas"] >= 2
    job = named(rendered, "Job", "migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"][0] == "migrate"


def test_each_connector_and_the_bot_have_a_deployment_and_service(
    rendered: list[dict[str, Any]],
) -> None:
    """One Deployment and Service per connector and for the bot, on the ports the
    engine's DW_CONNECTOR_URLS names."""
    urls = dict(entry.split("=", 1) for entry in _config(rendered)["DW_CONNECTOR_URLS"].split(","))
    assert set(urls) == set(CONNECTORS)
    for connector, url in urls.items():
        name = f"connector-{connector}"
        deployment = named(rendered, "Deployment", name)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["serve", "connector", connector]
        port = int(url.rsplit(":", 1)[1])
        assert named(rendered, "Service", name)["spec"]["ports"][0]["port"] == port
        assert container["ports"][0]["containerPort"] == port
    bot = named(rendered, "Deployment", "slack-bot")
    assert bot["spec"]["template"]["spec"]["containers"][0]["args"] == ["serve", "slack-bot"]
    named(rendered, "Service", "slack-bot")


def test_the_console_runs_apart_and_reads_the_engine(rendered: list[dict[str, Any]]) -> None:
    """`serve console` has its Deployment and Service; it reads the engine at the
    configured DW_ENGINE_URL with its own key, and signs people in with the API keys."""
    console = named(rendered, "Deployment", "console")
    container = console["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["serve", "console"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DW_ENGINE_URL"]["valueFrom"]["configMapKeyRef"]["key"] == "DW_ENGINE_URL"
    assert {"DW_API_KEYS_FILE", "DW_ENGINE_API_KEY_FILE"} <= set(env)
    service = named(rendered, "Service", "console")
    assert service["spec"]["ports"][0]["port"] == container["ports"][0]["containerPort"] == 8092


def test_connectors_accept_traffic_only_from_the_engine(rendered: list[dict[str, Any]]) -> None:
    """Every connector pod is selected by a NetworkPolicy that admits the engine (and, for
    Slack, the bot) and nothing else."""
    policies = [o for o in rendered if o["kind"] == "NetworkPolicy"]
    for connector in CONNECTORS:
        labels = named(rendered, "Deployment", f"connector-{connector}")["spec"]["template"][
            "metadata"
        ]["labels"]
        selecting = [p for p in policies if _selects(p["spec"]["podSelector"], labels)]
        assert len(selecting) == 1, connector
        policy = selecting[0]["spec"]
        assert policy["policyTypes"] == ["Ingress"]
        sources = [peer["podSelector"] for rule in policy["ingress"] for peer in rule["from"]]
        allowed = {
            component
            for component in ("engine", "slack-bot", "sandbox-monday", "tracker")
            if any(
                _selects(
                    s,
                    {
                        "app.kubernetes.io/name": "dataworkflows",
                        "app.kubernetes.io/component": component,
                    },
                )
                for s in sources
            )
        }
        assert allowed == ({"engine", "slack-bot"} if connector == "slack" else {"engine"})


def test_the_demo_overlay_adds_the_sandboxes() -> None:
    """overlays/demo adds PostgreSQL, the mock tracker and the four sandboxes, and points
    the connectors at them."""
    demo = render("overlays/demo")
    for name in (*SANDBOXES, "tracker"):
        named(demo, "Deployment", name)
        named(demo, "Service", name)
    named(demo, "StatefulSet", "postgres")
    config = _config(demo)
    assert config["MONDAY_API_URL"] == "http://sandbox-monday:8201/v2"
    assert config["TRACKER_URL"] == "http://tracker:8091"
    base = _config(render("base"))
    assert base["MONDAY_API_URL"] == "", "the base calls the real monday.com"


def _config(objects: list[dict[str, Any]]) -> dict[str, str]:
    return dict(next(o for o in objects if o["kind"] == "ConfigMap")["data"])


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector matches ``labels``."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        present = expression["key"] in labels
        value = labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and present and value in expression["values"]:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def test_every_kustomization_is_checked() -> None:
    """Every kustomization directory is one this module renders (none is left unchecked)."""
    found = sorted(
        str(p.parent.relative_to(KUSTOMIZE_ROOT))
        for p in KUSTOMIZE_ROOT.rglob("kustomization.yaml")
    )
    assert found == sorted(TARGETS)
