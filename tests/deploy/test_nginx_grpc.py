"""The load balancer's gRPC side: HTTP/2 in, grpc_pass to every replica's gRPC port, the same template in compose
and render.py; and, where nginx is installed, tritonclient.grpc through a real nginx to a real server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as triton

from deploy.nginx.render import GRPC_TEMPLATE, GRPC_VARIABLES, SERVER_PARAMS, render, render_grpc
from tests.deploy.balancer import Balancer, nginx_binary
from tests.deploy.nginxconf import Directive, args, block, parse
from tests.deploy.repo import ROOT, compose_default, load_yaml
from tests.support.server import Server, free_port

UPSTREAMS = ["127.0.0.1:18101", "127.0.0.1:18102"]


@pytest.fixture(scope="module")
def http() -> list[Directive]:
    return parse(render_grpc("8081", UPSTREAMS))


def test_grpc_is_http2_in_and_grpc_pass_out_to_every_replica(http: list[Directive]) -> None:
    upstream = block(http, "upstream", "ganserve_grpc")
    assert args(upstream, "least_conn") == [] and int(args(upstream, "keepalive")[0]) >= 16
    assert [d.args for d in upstream if d.name == "server"] == [[a, *SERVER_PARAMS.split()] for a in UPSTREAMS]
    server = block(http, "server")
    assert args(server, "listen") == ["8081", "http2"]
    assert args(block(server, "location", "/"), "grpc_pass") == ["grpc://ganserve_grpc"]
    # only calls that never reached a replica are replayed; a gRPC refusal is an answer
    assert args(server, "grpc_next_upstream") == ["error", "timeout", "non_idempotent"]


def test_compose_publishes_grpc_through_nginx_to_the_replicas_grpc_port() -> None:
    compose = load_yaml(ROOT / "docker-compose.yml")
    replica, nginx = compose["services"]["ganserve"], compose["services"]["nginx"]
    port = replica["environment"]["GANSERVE_GRPC_PORT"]
    assert port in replica["expose"]
    env = nginx["environment"]
    assert compose_default(env["GANSERVE_GRPC_UPSTREAM_SERVERS"]) == f"server ganserve:{port} resolve {SERVER_PARAMS};"
    assert any(p.endswith(f":{env['NGINX_GRPC_PORT']}") for p in nginx["ports"])


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst not installed (Debian package gettext-base)")
def test_compose_renders_the_grpc_template_like_render_py() -> None:
    env = {
        k: compose_default(str(v))
        for k, v in load_yaml(ROOT / "docker-compose.yml")["services"]["nginx"]["environment"].items()
    }
    defined = " ".join(f"${{{name}}}" for name in env)
    rendered = subprocess.run(
        ["envsubst", defined], input=GRPC_TEMPLATE.read_text(), env=env, check=True, capture_output=True, text=True
    ).stdout
    assert rendered == render(env, GRPC_TEMPLATE, GRPC_VARIABLES)


@pytest.mark.nginx
@pytest.mark.skipif(nginx_binary() is None, reason="nginx binary not installed (apt-get install nginx)")
def test_tritonclient_grpc_through_nginx_gets_the_replicas_answer(server: Server, tmp_path: Path) -> None:
    grpc_port = free_port()
    lb = Balancer(tmp_path / "nginx", free_port(), [server.url.removeprefix("http://")])
    (lb.prefix / "conf.d" / "ganserve-grpc.conf").write_text(render_grpc(f"127.0.0.1:{grpc_port}", [server.grpc]))
    z = triton.InferInput("z", [2, 8], "FP32")
    z.set_data_from_numpy(np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8))
    direct = triton.InferenceServerClient(server.grpc).infer("gen", [z]).as_numpy("image")
    with lb:
        client = triton.InferenceServerClient(f"127.0.0.1:{grpc_port}")
        assert client.is_server_ready() and client.is_model_ready("gen")
        through = client.infer("gen", [z]).as_numpy("image")
        client.close()
    assert through is not None and direct is not None and through.tobytes() == direct.tobytes()
    assert any("ModelInfer" in line["request"] for line in lb.access_log())
