"""docker-compose.yml brought up for real: two replicas of the CPU image, nginx in front, Prometheus scraping them.
Ports are published on loopback only; images come from the tier (the CPU image, and stand-ins for the official
nginx and Prometheus images built from Debian's packages), passed in through the compose file's variables.

- requests through nginx reach both replicas (nginx's access log names the replica of each request);
- gRPC (tritonclient) through nginx's HTTP/2 side reaches a replica's gRPC port;
- Prometheus finds both replicas in Docker's DNS and scrapes them (its HTTP API: `up`, a ganserve series);
- one replica stopped the way compose stops it (SIGTERM, then stop_grace_period) under steady load through nginx
  loses no request; the counts are printed with the tier's figures.

Grafana is not started: there is no image for it here (its dashboard is checked offline, test_dashboard.py).

    python -m pytest -m containers tests/deploy/test_compose_stack.py
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton

from deploy.nginx.render import upstream_servers
from tests.deploy import images
from tests.deploy.engine import Engine
from tests.deploy.figures import record
from tests.deploy.load import Load
from tests.deploy.repo import ROOT

pytestmark = pytest.mark.containers

PROJECT = "ganserve-tier"
SERVICES = ["ganserve", "nginx", "prometheus"]
MODEL = "dcgan-mnist"
REPLICA_PORT = 8000
REPLICA_GRPC_PORT = 8001


@dataclass
class Stack:
    engine: Engine
    env: dict[str, str]
    url: str  # nginx, on loopback
    prometheus: str
    grpc: str = ""  # nginx's gRPC side, host:port on loopback

    def compose(self, *args: str, **kwargs: Any) -> str:
        files = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(Path(__file__).parent / "compose.tier.yml")]
        return self.engine.compose("-p", PROJECT, *files, *args, env=self.env, cwd=ROOT, **kwargs).stdout

    def replicas(self) -> dict[str, str]:
        """Running replica containers: name -> address on the stack's network."""
        names = self.compose("ps", "--format", "{{.Name}}", "ganserve").split()
        return {
            name: self.engine.docker(
                "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name
            ).stdout.strip()
            for name in names
        }

    def upstreams(self) -> list[str]:
        """The replica address of each request in nginx's access log (after retries, the one that answered)."""
        logs = self.compose("logs", "--no-log-prefix", "nginx")
        return [m.split(", ")[-1].rsplit(":", 1)[0] for m in re.findall(r'upstream="([^"]+)"', logs)]


def stand_in(engine: Engine, name: str, base: str, packages: tuple[str, ...], paths: list[str], tmp: Path) -> str:
    root = images.debian_root(*packages)
    tag = f"ganserve-tier/{name}:debian"
    images.build(engine, tag, images.stand_in_context(name, tmp, root, paths), args={"BASE_IMAGE": base})
    return tag


@pytest.fixture(scope="module")
def stack(engine: Engine, base_image: str, cpu_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stand-ins")
    started = time.monotonic()
    nginx = stand_in(
        engine, "nginx", base_image, ("nginx", "nginx-common"), ["etc/nginx", "usr/sbin/nginx", "usr/share/nginx"], tmp
    )
    prometheus = stand_in(engine, "prometheus", base_image, ("prometheus",), ["usr/bin/prometheus"], tmp)
    record("nginx and Prometheus images from Debian's packages", f"{time.monotonic() - started:.1f} s")
    env = {
        "PYTHON_IMAGE": base_image,
        "PIP_NO_INDEX": "1",
        "NGINX_IMAGE": nginx,
        "PROMETHEUS_IMAGE": prometheus,
        # Debian's nginx (1.22) has no `resolve`: the name is resolved once, at start, to both replicas.
        "GANSERVE_UPSTREAM_SERVERS": upstream_servers([f"ganserve:{REPLICA_PORT}"]),
        "GANSERVE_GRPC_UPSTREAM_SERVERS": upstream_servers([f"ganserve:{REPLICA_GRPC_PORT}"]),
        "GANSERVE_HTTP_PORT": "127.0.0.1:",
        "GANSERVE_GRPC_PUBLIC_PORT": "127.0.0.1:",
        "PROMETHEUS_PORT": "127.0.0.1:",
        "GRAFANA_PORT": "127.0.0.1:",
        "GANSERVE_INTRA_OP_THREADS": "1",
    }
    partial = Stack(engine, env, "", "")
    started = time.monotonic()
    try:
        partial.compose(
            "up", "--detach", "--no-build", "--pull", "never", "--wait", "--wait-timeout", "180", *SERVICES, timeout=300
        )
        record("compose up --wait (2 replicas healthy, nginx, Prometheus)", f"{time.monotonic() - started:.1f} s")
        nginx_port = partial.compose("port", "nginx", "80").strip().rsplit(":", 1)[1]
        prometheus_port = partial.compose("port", "prometheus", "9090").strip().rsplit(":", 1)[1]
        grpc_port = partial.compose("port", "nginx", "81").strip().rsplit(":", 1)[1]
        yield Stack(
            engine,
            env,
            f"http://127.0.0.1:{nginx_port}",
            f"http://127.0.0.1:{prometheus_port}",
            f"127.0.0.1:{grpc_port}",
        )
    finally:
        partial.compose("down", "--volumes", "--timeout", "30", check=False, timeout=120)


def test_the_compose_file_resolves_with_the_tiers_variables(stack: Stack) -> None:
    """Compose's own reading of the file: images, loopback ports and build args come from the variables."""
    config = json.loads(stack.compose("config", "--format", "json"))
    services = config["services"]
    assert services["nginx"]["image"] == stack.env["NGINX_IMAGE"]
    assert services["prometheus"]["image"] == stack.env["PROMETHEUS_IMAGE"]
    assert services["ganserve"]["build"]["args"] == {"PYTHON_IMAGE": stack.env["PYTHON_IMAGE"], "PIP_NO_INDEX": "1"}
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published and all(p.get("host_ip") == "127.0.0.1" for p in published), published


def test_requests_through_nginx_reach_both_replicas(stack: Stack) -> None:
    replicas = stack.replicas()
    assert len(replicas) == 2
    with httpx.Client(timeout=30) as client:
        for seed in range(40):
            response = client.post(f"{stack.url}/v1/models/{MODEL}/generate", json={"n": 2, "seed": seed})
            assert response.status_code == 200, response.text
    served = stack.upstreams()
    counts = {name: served.count(address) for name, address in replicas.items()}
    record("balancing through nginx", f"40 requests: {counts}")
    assert all(count > 0 for count in counts.values()), counts


def test_grpc_through_nginx_reaches_the_replicas(stack: Stack) -> None:
    """The Open Inference Protocol over gRPC: nginx's HTTP/2 side (grpc_pass) to the replicas' gRPC port."""
    noise = triton.InferInput("z", [2, 65], "FP32")  # dcgan-mnist's input: 65 noise values per image
    noise.set_data_from_numpy(np.zeros((2, 65), dtype=np.float32))
    client = triton.InferenceServerClient(stack.grpc)
    try:
        assert client.is_server_ready() and client.is_model_ready(MODEL)
        images = client.infer(MODEL, [noise]).as_numpy("image")
    finally:
        client.close()
    assert images is not None and images.shape[0] == 2
    logs = stack.compose("logs", "--no-log-prefix", "nginx")
    assert "ModelInfer" in logs


def query(stack: Stack, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.prometheus}/api/v1/query", params={"query": promql}, timeout=10)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"timed out after {timeout} s waiting until {what}"
        time.sleep(1)
    return time.monotonic() - started


def test_prometheus_discovers_and_scrapes_both_replicas(stack: Stack) -> None:
    expected = {f"{address}:{REPLICA_PORT}" for address in stack.replicas().values()}

    def instances(promql: str) -> set[str]:
        return {r["metric"]["instance"] for r in query(stack, promql) if float(r["value"][1]) > 0}

    waited = until("both replicas are up in Prometheus", lambda: instances('up{job="ganserve"}') == expected)
    # A series the service itself exports, from each replica (every replica has loaded its models).
    until(
        "ganserve series from both replicas",
        lambda: instances('sum by (instance) (ganserve_model_info{job="ganserve"})') == expected,
    )
    record("Prometheus", f"both replicas up (DNS discovery) {waited:.0f} s after the test began")


def test_stopping_a_replica_under_load_loses_no_request(stack: Stack) -> None:
    replicas = stack.replicas()
    victim = max(replicas)
    grace = json.loads(stack.compose("config", "--format", "json"))["services"]["ganserve"]["stop_grace_period"]
    grace_s = int(re.fullmatch(r"(\d+)s", grace)[1])  # type: ignore[index]
    before = len(stack.upstreams())

    async def run() -> tuple[Load, float, float]:
        async with Load(
            f"{stack.url}/v1/models/{MODEL}/generate", concurrency=8, images=4, max_requests=20_000
        ) as load:
            while len(load.outcomes) < 80:  # steady load on both replicas first
                await asyncio.sleep(0.1)
            stop_at = time.monotonic()
            # What `docker compose stop` does to each container: SIGTERM, SIGKILL after stop_grace_period.
            await asyncio.to_thread(stack.engine.docker, "stop", "--time", str(grace_s), victim)
            stopped_at = time.monotonic()
            until_after = len(load.outcomes) + 80
            while len(load.outcomes) < until_after:  # and on, on the one left
                await asyncio.sleep(0.1)
        return load, stop_at, stopped_at

    load, stop_at, stopped_at = asyncio.run(run())
    exit_code = int(stack.engine.docker("inspect", "--format", "{{.State.ExitCode}}", victim).stdout)
    during = [o for o in load.outcomes if stop_at <= o.started <= stopped_at]
    logs = stack.compose("logs", "--no-log-prefix", "nginx")
    retried = len(re.findall(r'upstream_status="[^"]*, ', logs))
    record(
        "replica stopped under load (through nginx)",
        f"{len(load.outcomes)} requests, {len(load.failures())} failed, {len(during)} sent while it drained "
        f"({stopped_at - stop_at:.1f} s, exit code {exit_code}), {retried} retried by nginx on the other replica",
    )
    assert load.failures() == [], load.failures()[:5]
    assert exit_code == 0
    assert len(stack.upstreams()) > before
