"""docker-compose.yml (and the GPU override): replicas behind nginx, Prometheus and Grafana wired to files that exist."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from deploy.nginx.render import SERVER_PARAMS, VARIABLES
from tests.deploy.repo import ROOT, compose_default, dockerfile_stages, load_yaml


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(ROOT / "docker-compose.yml")
    return data


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Compose's merge of `-f a -f b` for mappings (what the GPU override relies on)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", duration)
    assert match, f"unsupported duration {duration!r}"
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2]]


def dockerfile_args(name: str) -> set[str]:
    return {line.split()[1].split("=")[0] for line in (ROOT / name).read_text().splitlines() if line.startswith("ARG ")}


def bind_sources(service: dict[str, Any]) -> list[str]:
    return [v.split(":")[0] for v in service.get("volumes", []) if v.startswith("./")]


def test_the_stack_has_its_four_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"ganserve", "nginx", "prometheus", "grafana"}


def test_replicas_scale_behind_nginx(compose: dict[str, Any]) -> None:
    service = compose["services"]["ganserve"]
    assert service["deploy"]["replicas"] >= 2
    assert "ports" not in service and "container_name" not in service, "would collide under --scale"
    assert service["expose"] == [service["environment"]["GANSERVE_PORT"], service["environment"]["GANSERVE_GRPC_PORT"]]
    build = service["build"]
    assert (build["context"], build["dockerfile"]) == (".", "Dockerfile")
    # Build args pass through from the environment (unset: the Dockerfile's defaults); each one is declared there.
    assert all("=" not in a for a in build["args"]) and set(build["args"]) <= dockerfile_args("Dockerfile")
    assert "PYTHON_IMAGE" in build["args"]
    assert service["environment"]["GANSERVE_HOST"] == "0.0.0.0"


def test_replicas_get_longer_to_stop_than_their_drain(compose: dict[str, Any]) -> None:
    service = compose["services"]["ganserve"]
    drain = float(service["environment"]["GANSERVE_DRAIN_TIMEOUT_S"])
    assert seconds(service["stop_grace_period"]) >= drain + 5


def test_replica_healthcheck_is_the_images_readiness_check(compose: dict[str, Any]) -> None:
    check = compose["services"]["ganserve"]["healthcheck"]
    (image_check,) = [i.value for i in dockerfile_stages(ROOT / "Dockerfile")[-1] if i.keyword == "HEALTHCHECK"]
    assert check["test"] == ["CMD", *json.loads(image_check.split("CMD", 1)[1])]
    assert seconds(check["timeout"]) < seconds(check["interval"])


def test_nginx_renders_the_repo_template_for_every_replica(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    port = compose["services"]["ganserve"]["environment"]["GANSERVE_PORT"]
    assert nginx["depends_on"]["ganserve"]["condition"] == "service_healthy"
    assert "./deploy/nginx/templates:/etc/nginx/templates:ro" in nginx["volumes"]
    assert (ROOT / "deploy/nginx/templates/ganserve.conf.template").is_file()
    env = nginx["environment"]
    assert set(VARIABLES) <= set(env)
    # One DNS name covers every replica; `resolve` follows --scale. Same passive health checks as render.py.
    assert compose_default(env["GANSERVE_UPSTREAM_SERVERS"]) == f"server ganserve:{port} resolve {SERVER_PARAMS};"
    assert env["NGINX_RESOLVER"] == "127.0.0.11"  # Docker's embedded DNS
    published = nginx["ports"][0]
    assert published.endswith(f":{env['NGINX_PORT']}")
    assert nginx["healthcheck"]["test"][-1].endswith("/lb/health")
    # `resolve` in open-source nginx needs 1.27.3 or later.
    major, minor = (int(x) for x in re.match(r"nginx:(\d+)\.(\d+)", compose_default(nginx["image"])).groups())  # type: ignore[union-attr]
    assert (major, minor) >= (1, 28) or (major, minor) == (1, 27)


def test_prometheus_and_grafana_mount_the_repo_configs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("nginx", "prometheus", "grafana"):
        for source in bind_sources(services[name]):
            assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repo"
    prometheus = services["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    grafana = services["grafana"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].startswith("/etc/grafana/dashboards/")
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].rsplit("/", 1)[1]
    assert (ROOT / "deploy/grafana/dashboards" / home).is_file()


def test_images_are_variables_with_todays_defaults(compose: dict[str, Any]) -> None:
    """A registry of your own, or none: every image the stack pulls can be replaced without editing the file."""
    services = compose["services"]
    assert {name: compose_default(s["image"]) for name, s in services.items() if name != "ganserve"} == {
        "nginx": "nginx:1.28-alpine",
        "prometheus": "prom/prometheus:v3.4.1",
        "grafana": "grafana/grafana:11.6.1",
    }
    assert all(s["image"] != compose_default(s["image"]) for name, s in services.items() if name != "ganserve")


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    named = {
        v.split(":")[0]
        for s in compose["services"].values()
        for v in s.get("volumes", [])
        if not v.startswith(("./", "/"))
    }
    assert named == {"prometheus-data", "grafana-data"}
    assert named <= set(compose["volumes"])


def test_published_ports(compose: dict[str, Any]) -> None:
    published = {name: s["ports"] for name, s in compose["services"].items() if "ports" in s}
    assert published == {
        "nginx": ["${GANSERVE_HTTP_PORT:-8080}:80", "${GANSERVE_GRPC_PUBLIC_PORT:-8081}:81"],
        "prometheus": ["${PROMETHEUS_PORT:-9090}:9090"],
        "grafana": ["${GRAFANA_PORT:-3000}:3000"],
    }


def test_gpu_override_reserves_gpus_for_the_cuda_image(compose: dict[str, Any]) -> None:
    gpu = merged(compose, load_yaml(ROOT / "docker-compose.gpu.yml"))
    service = gpu["services"]["ganserve"]
    assert (service["build"]["context"], service["build"]["dockerfile"]) == (".", "Dockerfile.gpu")
    assert (
        {"CUDA_IMAGE", "ONNXRUNTIME_GPU"}
        <= set(service["build"]["args"])
        <= dockerfile_args("Dockerfile.gpu") | {"PYTHON_IMAGE"}
    )
    assert (ROOT / service["build"]["dockerfile"]).is_file()
    assert service["environment"]["GANSERVE_PROVIDER"] == "cuda"
    assert service["environment"]["GANSERVE_DRAIN_TIMEOUT_S"] == "20"  # the base settings survive the merge
    (device,) = service["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert service["healthcheck"]["test"] == compose["services"]["ganserve"]["healthcheck"]["test"]
    assert set(gpu["services"]) == set(compose["services"])
