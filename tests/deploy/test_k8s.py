"""Kubernetes manifests: probes on the v2 health endpoints, a grace period that covers preStop plus the drain,
and a Service, HPA, PDB, ServiceMonitor and GPU overlay that point at what the Deployment really has."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.repo import DEPLOY, ROOT, dockerfile_stages, load_yaml, load_yaml_docs

K8S = DEPLOY / "k8s"


def by_kind(folder: str) -> dict[str, dict[str, Any]]:
    kustomization = load_yaml(K8S / folder / "kustomization.yaml")
    docs = [
        d
        for name in kustomization.get("resources", [])
        if (K8S / folder / name).is_file()
        for d in load_yaml_docs(K8S / folder / name)
    ]
    return {d["kind"]: d for d in docs}


@pytest.fixture(scope="module")
def base() -> dict[str, dict[str, Any]]:
    return by_kind("base")


@pytest.fixture(scope="module")
def container(base: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (found,) = base["Deployment"]["spec"]["template"]["spec"]["containers"]
    return dict(found)


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


def test_kustomization_lists_files_that_exist() -> None:
    for folder in ("base", "gpu"):
        kustomization = load_yaml(K8S / folder / "kustomization.yaml")
        for entry in kustomization.get("resources", []) + [p["path"] for p in kustomization.get("patches", [])]:
            assert (K8S / folder / entry).exists(), f"{folder}/kustomization.yaml names missing {entry}"
    assert set(by_kind("base")) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


def test_probes_use_the_v2_health_endpoints(container: dict[str, Any]) -> None:
    port_names = {p["name"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/v2/health/live"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in port_names
    # Readiness reacts faster than liveness: a busy or draining pod is taken out of rotation, not restarted.
    ready, live = container["readinessProbe"], container["livenessProbe"]
    assert ready["periodSeconds"] * ready["failureThreshold"] < live["periodSeconds"] * live["failureThreshold"]


def test_grace_period_covers_prestop_plus_drain(base: dict[str, dict[str, Any]], container: dict[str, Any]) -> None:
    pod = base["Deployment"]["spec"]["template"]["spec"]
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = float(command[1])
    drain = float(env(container)["GANSERVE_DRAIN_TIMEOUT_S"])
    grace = pod["terminationGracePeriodSeconds"]
    # Kubernetes counts the grace period from the start of preStop; SIGKILL comes when it ends.
    assert pre_stop + drain + 1 <= grace <= pre_stop + drain + 15
    assert pre_stop >= 2  # time for endpoint removal to reach kube-proxy and ingress before the drain starts


def test_ports_agree(base: dict[str, dict[str, Any]], container: dict[str, Any]) -> None:
    port, grpc = container["ports"]
    assert int(env(container)["GANSERVE_PORT"]) == port["containerPort"]
    assert int(env(container)["GANSERVE_GRPC_PORT"]) == grpc["containerPort"]
    annotations = base["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port["containerPort"]
    assert annotations["prometheus.io/path"] == "/metrics"
    service_port, grpc_service_port = base["Service"]["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]
    assert grpc_service_port["targetPort"] == grpc["name"] and grpc_service_port["appProtocol"] == "kubernetes.io/h2c"


def test_selectors_match_the_pods(base: dict[str, dict[str, Any]]) -> None:
    deployment = base["Deployment"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert base["Service"]["spec"]["selector"].items() <= pod_labels.items()
    assert base["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_runs_as_the_images_non_root_user(base: dict[str, dict[str, Any]], container: dict[str, Any]) -> None:
    security = base["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    (user,) = [i.value for i in dockerfile_stages(ROOT / "Dockerfile")[-1] if i.keyword == "USER"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == int(user.split(":")[0])
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_rollouts_and_disruptions_keep_capacity(base: dict[str, dict[str, Any]]) -> None:
    deployment, hpa, pdb = base["Deployment"], base["HorizontalPodAutoscaler"], base["PodDisruptionBudget"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert 2 <= hpa["spec"]["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]
    # With the HPA's minimum, the PDB still lets a node drain evict one pod (it must not block it forever).
    assert pdb["spec"]["maxUnavailable"] == 1
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 60


def test_resources_and_threads_agree(container: dict[str, Any]) -> None:
    limits, requests = container["resources"]["limits"], container["resources"]["requests"]
    assert float(requests["cpu"]) <= float(limits["cpu"])
    threads = int(env(container)["GANSERVE_INSTANCES"]) * int(env(container)["GANSERVE_INTRA_OP_THREADS"])
    assert threads <= float(limits["cpu"])  # every instance busy uses the limit, no more


def test_gpu_overlay_requests_a_gpu(container: dict[str, Any]) -> None:
    kustomization = load_yaml(K8S / "gpu" / "kustomization.yaml")
    assert kustomization["resources"] == ["../base"]
    assert {"name": "ganserve", "newTag": "gpu"} in kustomization["images"]
    assert container["image"].split(":")[0] == "ganserve"
    patch = load_yaml(K8S / "gpu" / "deployment-gpu.yaml")
    (gpu_container,) = patch["spec"]["template"]["spec"]["containers"]
    assert gpu_container["name"] == container["name"]  # strategic merge matches containers by name
    assert gpu_container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert gpu_container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert {e["name"]: e["value"] for e in gpu_container["env"]}["GANSERVE_PROVIDER"] == "cuda"
    assert any(t["key"] == "nvidia.com/gpu" for t in patch["spec"]["template"]["spec"]["tolerations"])
    hpa = load_yaml(K8S / "gpu" / "hpa-gpu.yaml")
    assert hpa["metadata"]["name"] == "ganserve" and hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_service_monitor_scrapes_the_service_port(base: dict[str, dict[str, Any]]) -> None:
    monitor = load_yaml(K8S / "monitoring" / "servicemonitor.yaml")
    assert monitor["kind"] == "ServiceMonitor"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= base["Service"]["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in base["Service"]["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"


def kustomize(folder: str) -> dict[str, dict[str, Any]]:
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / folder)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return {d["kind"]: d for d in yaml.safe_load_all(result.stdout) if d}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed (it renders the overlays)")
def test_gpu_overlay_keeps_probes_and_drain_and_adds_a_gpu(base: dict[str, dict[str, Any]]) -> None:
    assert kustomize("base") == base  # the base is plain YAML: what the other tests read is what gets applied
    gpu = kustomize("gpu")
    assert set(gpu) == set(base)
    pod = gpu["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "ganserve:gpu"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    variables = env(container)
    assert variables["GANSERVE_PROVIDER"] == "cuda" and variables["GANSERVE_DRAIN_TIMEOUT_S"] == "20"
    assert (
        pod["terminationGracePeriodSeconds"]
        == base["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    )
    hpa = gpu["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "ganserve" and hpa["minReplicas"] == 1
    assert hpa["metrics"] == base["HorizontalPodAutoscaler"]["spec"]["metrics"]
