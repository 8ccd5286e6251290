"""The Kubernetes manifests against the Kubernetes API schemas, offline (kubernetes-validate ships them), in strict
mode: an unknown or misspelt field fails, as `kubectl apply --validate=strict` would on a real cluster.

KServe's InferenceService is a custom resource: kubernetes-validate has no schema for it. Its pod-level fields are
checked against the Kubernetes PodSpec schema (KServe inlines a PodSpec in the predictor), the KServe fields
against the names and rules of KServe's v1beta1 API (ComponentExtensionSpec, the custom predictor, the webhook's
name and protocol checks); see kserve_problems().
"""

from __future__ import annotations

import re
import shutil
from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kv

from tests.deploy.kustomize import merge, render, render_in_python
from tests.deploy.repo import DEPLOY

K8S = DEPLOY / "k8s"
# The oldest Kubernetes still widely run (the manifests need autoscaling/v2 and policy/v1) and the newest known.
VERSIONS = ["1.29", kv.major_minor(kv.latest_version())]


def schema_dir(version: str) -> str:
    full = [v for v in kv.all_versions() if kv.major_minor(v) == version][-1]
    return f"kubernetes-json-schema/v{full}-local-strict"


@cache
def definition_validator(version: str, definition: str) -> jsonschema.Validator:
    """A strict validator for one definition (e.g. io.k8s.api.core.v1.PodSpec), with the version's $refs."""
    from referencing import Registry, Resource

    definitions = kv.schema_contents(f"{schema_dir(version)}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ Registry()
    return jsonschema.Draft202012Validator({"$ref": f"{definitions['$id']}#/$defs/{definition}"}, registry=registry)


def errors(validator: jsonschema.Validator, doc: Any) -> list[str]:
    return [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("folder", ["base", "gpu"])
def test_kustomize_output_is_valid_kubernetes(folder: str, version: str) -> None:
    docs = render(K8S / folder)
    assert {d["kind"] for d in docs} == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    for doc in docs:
        kv.validate(doc, version, strict=True)  # raises with the offending path


@pytest.mark.parametrize("version", VERSIONS)
def test_a_misspelt_field_fails_strict_validation(version: str) -> None:
    (deployment,) = [d for d in render(K8S / "base") if d["kind"] == "Deployment"]
    broken = merge(
        deployment,
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": deployment["spec"]["template"]["spec"]["containers"][0]["name"],
                                "readinesProbe": {},
                            }
                        ]
                    }
                }
            }
        },
    )
    with pytest.raises(kv.ValidationError, match="readinesProbe"):
        kv.validate(broken, version, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed: nothing to compare with")
def test_the_python_renderer_agrees_with_kustomize() -> None:
    """Where kubectl exists, the fallback renderer (used where it does not) must give the same objects."""
    for folder in ("base", "gpu"):

        def key(d: dict[str, Any]) -> tuple[str, str]:
            return d["kind"], d["metadata"]["name"]

        expected = {key(d): d for d in render(K8S / folder)}
        actual = {key(d): d for d in render_in_python(K8S / folder)}
        assert set(actual) == set(expected)
        for k, doc in expected.items():
            assert canonical(actual[k]) == canonical(doc), f"{folder}: {k} differs"


def canonical(value: Any) -> Any:
    """Lists of named objects compared as sets (strategic merge may order appended items differently)."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, dict) and "name" in x for x in value):
        return sorted((canonical(x) for x in value), key=lambda x: str(x["name"]))
    if isinstance(value, list):
        return [canonical(x) for x in value]
    return value


# ---- KServe -------------------------------------------------------------------------------------------------------

ISVC = K8S / "kserve" / "inferenceservice.yaml"
# KServe v1beta1 ComponentExtensionSpec (pkg/apis/serving/v1beta1/component.go), inlined in the predictor.
COMPONENT_EXTENSION = {
    "minReplicas",
    "maxReplicas",
    "scaleTarget",
    "scaleMetric",
    "containerConcurrency",
    "timeout",
    "canaryTrafficPercent",
    "logger",
    "batcher",
    "labels",
    "annotations",
    "deploymentStrategy",
}
SCALE_METRICS = {"cpu", "memory", "concurrency", "rps"}
DEPLOYMENT_MODES = {"Serverless", "RawDeployment", "Standard", "ModelMesh"}
AUTOSCALER_CLASSES = {"hpa", "external", "none", "keda"}
ISVC_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def kserve_problems(isvc: dict[str, Any], version: str) -> list[str]:
    """What KServe's CRD schema and admission webhook would reject, for a custom-predictor InferenceService."""
    problems: list[str] = []
    if (isvc.get("apiVersion"), isvc.get("kind")) != ("serving.kserve.io/v1beta1", "InferenceService"):
        return [f"not a v1beta1 InferenceService: {isvc.get('apiVersion')} {isvc.get('kind')}"]
    metadata = isvc["metadata"]
    problems += errors(definition_validator(version, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"), metadata)
    if not ISVC_NAME.fullmatch(metadata.get("name", "")):
        problems.append(f"metadata.name {metadata.get('name')!r} does not match {ISVC_NAME.pattern}")
    annotations = metadata.get("annotations", {})
    if annotations.get("serving.kserve.io/deploymentMode", "Serverless") not in DEPLOYMENT_MODES:
        problems.append(f"unknown deploymentMode {annotations['serving.kserve.io/deploymentMode']!r}")
    if annotations.get("serving.kserve.io/autoscalerClass", "hpa") not in AUTOSCALER_CLASSES:
        problems.append(f"unknown autoscalerClass {annotations['serving.kserve.io/autoscalerClass']!r}")
    spec = isvc.get("spec", {})
    if set(spec) - {"predictor", "transformer", "explainer"} or "predictor" not in spec:
        problems.append(f"spec has {sorted(spec)}; it needs a predictor (and may have transformer, explainer)")
        return problems
    predictor = spec["predictor"]
    pod_fields = {k: v for k, v in predictor.items() if k not in COMPONENT_EXTENSION}
    problems += [
        f"predictor.{e}" for e in errors(definition_validator(version, "io.k8s.api.core.v1.PodSpec"), pod_fields)
    ]
    for field in ("minReplicas", "maxReplicas", "scaleTarget"):
        if field in predictor and not (isinstance(predictor[field], int) and predictor[field] >= 0):
            problems.append(f"predictor.{field} must be a non-negative integer")
    if predictor.get("maxReplicas", 0) and predictor.get("minReplicas", 1) > predictor["maxReplicas"]:
        problems.append("predictor.minReplicas cannot be greater than maxReplicas")
    if "scaleMetric" in predictor and predictor["scaleMetric"] not in SCALE_METRICS:
        problems.append(f"predictor.scaleMetric must be one of {sorted(SCALE_METRICS)}")
    containers = pod_fields.get("containers", [])
    if not containers:
        return [*problems, "a custom predictor needs containers"]
    protocol = {e["name"]: e.get("value") for e in containers[0].get("env", [])}.get("PROTOCOL", "v1")
    if protocol not in {"v1", "v2"}:
        problems.append(f"PROTOCOL {protocol!r} must be v1 or v2")
    if "kserve-container" not in {c["name"] for c in containers}:
        problems.append("no container named kserve-container: KServe would not find the predictor")
    if annotations.get("serving.kserve.io/deploymentMode", "Serverless") == "Serverless" and any(
        len(c.get("ports", [])) > 1 for c in containers
    ):
        problems.append("Knative (Serverless mode) allows one port per container")
    return problems


@pytest.fixture(scope="module")
def isvc() -> dict[str, Any]:
    (doc,) = [d for d in yaml.safe_load_all(ISVC.read_text()) if d]
    return dict(doc)


@pytest.mark.parametrize("version", VERSIONS)
def test_inference_service_passes_the_kserve_checks(isvc: dict[str, Any], version: str) -> None:
    assert kserve_problems(isvc, version) == []


@pytest.mark.parametrize(
    "broken",
    [
        {"metadata": {"name": "GANserve"}},
        {"spec": {"predictor": {"containers": [{"name": "kserve-container", "imagePullPolcy": "Always"}]}}},
        {"spec": {"predictor": {"scaleMetric": "gpu"}}},
        {"spec": {"predictor": {"minReplicas": 5, "maxReplicas": 2}}},
        {
            "spec": {
                "predictor": {
                    "containers": [{"name": "kserve-container", "env": [{"name": "PROTOCOL", "value": "grpc-v2"}]}]
                }
            }
        },
        {"metadata": {"annotations": {"serving.kserve.io/deploymentMode": "Serverless"}}},
    ],
)
def test_the_kserve_checks_catch_mistakes(isvc: dict[str, Any], broken: dict[str, Any]) -> None:
    assert kserve_problems(merge(isvc, broken), VERSIONS[-1]) != []


def test_the_kserve_checks_want_the_predictor_container_by_name(isvc: dict[str, Any]) -> None:
    renamed = merge(isvc, {})
    renamed["spec"]["predictor"]["containers"][0]["name"] = "server"
    assert kserve_problems(renamed, VERSIONS[-1]) == [
        "no container named kserve-container: KServe would not find the predictor"
    ]


def test_inference_service_runs_the_image_like_the_deployment(isvc: dict[str, Any]) -> None:
    """Same image, probes, drain arithmetic and hardening as deploy/k8s/base, plus the OIP gRPC port."""
    (deployment,) = [d for d in render(K8S / "base") if d["kind"] == "Deployment"]
    pod, predictor = deployment["spec"]["template"]["spec"], isvc["spec"]["predictor"]
    (base,), (custom,) = pod["containers"], predictor["containers"]
    env = {e["name"]: e["value"] for e in custom["env"]}
    assert env["PROTOCOL"] == "v2"  # the Open Inference Protocol
    ports = {p["name"]: p["containerPort"] for p in custom["ports"]}
    assert list(ports) == ["http1", "h2c"]  # first port: the one KServe's Service maps to 80
    assert ports == {"http1": int(env["GANSERVE_PORT"]), "h2c": int(env["GANSERVE_GRPC_PORT"])}
    assert custom["image"] == base["image"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert custom[probe]["httpGet"]["path"] == base[probe]["httpGet"]["path"]
        assert custom[probe]["httpGet"]["port"] == ports["http1"]
    assert custom["lifecycle"] == base["lifecycle"] and custom["securityContext"] == base["securityContext"]
    assert predictor["securityContext"] == pod["securityContext"]
    assert predictor["terminationGracePeriodSeconds"] == pod["terminationGracePeriodSeconds"]
    base_env = {e["name"]: e["value"] for e in base["env"]}
    assert env["GANSERVE_DRAIN_TIMEOUT_S"] == base_env["GANSERVE_DRAIN_TIMEOUT_S"]
    annotations = isvc["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "RawDeployment"  # keeps both ports
    assert int(annotations["prometheus.io/port"]) == ports["http1"]
