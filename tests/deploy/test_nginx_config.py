"""The load balancer's configuration: least-connections, keep-alive, safe retries, limits that fit the service."""

from __future__ import annotations

import inspect
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import uvicorn

from deploy.nginx.render import SERVER_PARAMS, TEMPLATE, render, upstream_servers
from service.settings import Settings
from tests.deploy.balancer import check_config, nginx_binary, write_config
from tests.deploy.nginxconf import Directive, args, block, parse
from tests.deploy.repo import ROOT, load_yaml

UPSTREAMS = ["127.0.0.1:18001", "127.0.0.1:18002"]


@pytest.fixture(scope="module")
def http() -> list[Directive]:
    return parse(
        render(
            {
                "NGINX_PORT": "8080",
                "NGINX_RESOLVER": "127.0.0.11",
                "GANSERVE_UPSTREAM_SERVERS": upstream_servers(UPSTREAMS),
            }
        )
    )


@pytest.fixture(scope="module")
def server(http: list[Directive]) -> list[Directive]:
    return block(http, "server")


def size_bytes(text: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmM]?)", text)
    assert match, text
    return int(match[1]) * {"": 1, "k": 1024, "m": 1024**2}[match[2].lower()]


def duration_s(text: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)?", text)
    assert match, text
    return int(match[1]) * {"ms": 0.001, "s": 1, None: 1, "m": 60}[match[2]]


def test_upstream_balances_by_least_connections_with_keepalive(http: list[Directive]) -> None:
    upstream = block(http, "upstream", "ganserve")
    assert args(upstream, "least_conn") == []
    assert args(upstream, "zone")[0]
    assert int(args(upstream, "keepalive")[0]) >= 16
    servers = [d.args for d in upstream if d.name == "server"]
    assert servers == [[a, *SERVER_PARAMS.split()] for a in UPSTREAMS]


def test_each_replica_has_a_connection_cap_the_replica_can_take(http: list[Directive]) -> None:
    # nginx sheds (503 via @no_replica) once every replica has max_conns requests in flight; the cap must sit
    # below the replica's own connection limit, or the replica would refuse first, with uvicorn's plain 503
    upstream = block(http, "upstream", "ganserve")
    caps = {int(p.split("=")[1]) for d in upstream if d.name == "server" for p in d.args if p.startswith("max_conns=")}
    assert len(caps) == 1
    (cap,) = caps
    assert 1 <= cap < Settings().limit_concurrency


def test_upstream_keepalive_ends_before_the_replicas_does(http: list[Directive]) -> None:
    # If nginx reused a connection the replica was closing at that moment, the request would fail on it.
    replica_keepalive = inspect.signature(uvicorn.Config).parameters["timeout_keep_alive"].default
    assert duration_s(args(block(http, "upstream", "ganserve"), "keepalive_timeout")[0]) < replica_keepalive


def test_keepalive_needs_http11_without_connection_close(server: list[Directive]) -> None:
    assert args(server, "proxy_http_version") == ["1.1"]
    assert ["Connection", ""] in [d.args for d in server if d.name == "proxy_set_header"]
    assert args(block(server, "location", "/"), "proxy_pass") == ["http://ganserve"]


def test_retries_only_what_the_service_did_not_do(server: list[Directive]) -> None:
    conditions = set(args(server, "proxy_next_upstream"))
    # Connection failures and "refused before any work" answers (draining, queue full) go to another replica;
    # POSTs are retried too (non_idempotent) because every POST of this service is a pure function.
    assert {"error", "timeout", "http_503", "http_429", "non_idempotent"} <= conditions
    # A passed deadline (504) or a server bug (500) would only repeat on another replica.
    assert not conditions & {"http_500", "http_502", "http_504", "off"}
    assert 2 <= int(args(server, "proxy_next_upstream_tries")[0]) <= 3
    assert duration_s(args(server, "proxy_next_upstream_timeout")[0]) > 0


def test_timeouts_leave_the_deadline_to_the_service(server: list[Directive]) -> None:
    settings = Settings()
    assert duration_s(args(server, "proxy_read_timeout")[0]) > settings.deadline_ms / 1000
    assert duration_s(args(server, "proxy_connect_timeout")[0]) <= 5
    for name in ("client_body_timeout", "client_header_timeout", "send_timeout"):
        assert 0 < duration_s(args(server, name)[0]) <= 60


def test_body_limit_fits_the_largest_upload_the_service_accepts(server: list[Directive]) -> None:
    largest_upload = Settings().max_upload_bytes
    base64_in_json = math.ceil(largest_upload / 3) * 4 + 1024
    limit = size_bytes(args(server, "client_max_body_size")[0])
    assert base64_in_json <= limit <= 4 * largest_upload


def test_nginx_errors_keep_the_json_error_shape(server: list[Directive]) -> None:
    pages = {d.args[0]: d.args[-1] for d in server if d.name == "error_page"}
    assert set(pages) == {"502", "504", "413"}
    for location in pages.values():
        returned = args(block(server, "location", location), "return")
        assert '"error"' in returned[1] and '"type"' in returned[1]
    unavailable = block(server, "location", pages["502"])
    assert args(unavailable, "return")[0] == "503"
    assert ["Retry-After", "1", "always"] in [d.args for d in unavailable if d.name == "add_header"]


def test_metrics_are_scraped_per_replica_not_through_the_balancer(server: list[Directive]) -> None:
    assert args(block(server, "location", "=", "/metrics"), "return")[0] == "404"


def test_access_log_records_each_upstream_tried(http: list[Directive]) -> None:
    (fmt,) = [d for d in http if d.name == "log_format"]
    assert "$upstream_addr" in "".join(fmt.args) and "$upstream_status" in "".join(fmt.args)


def test_render_refuses_missing_values() -> None:
    with pytest.raises(ValueError, match="missing template values"):
        render({"NGINX_PORT": "80"})


@pytest.mark.nginx
@pytest.mark.skipif(nginx_binary() is None, reason="nginx binary not installed (apt-get install nginx)")
def test_nginx_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    write_config(tmp_path, 18080, UPSTREAMS)
    result = check_config(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst not installed (Debian package gettext-base)")
def test_compose_renders_the_template_like_render_py() -> None:
    """The nginx image's entrypoint runs envsubst over every variable defined in the container; the tests render
    with render.py. Both must produce the same file, and the image's own variables must not leak into it."""
    compose = load_yaml(ROOT / "docker-compose.yml")
    values = {k: str(v) for k, v in compose["services"]["nginx"]["environment"].items()}
    container_env = {
        "PATH": "/usr/sbin:/usr/bin",
        "HOME": "/root",
        "HOSTNAME": "a1b2c3",
        "NGINX_VERSION": "1.28.0",
        "PKG_RELEASE": "1",
        "NJS_VERSION": "0.8.10",
    } | values
    defined = " ".join(f"${{{name}}}" for name in container_env)  # as 20-envsubst-on-templates.sh builds it
    rendered = subprocess.run(
        ["envsubst", defined], input=TEMPLATE.read_text(), env=container_env, check=True, capture_output=True, text=True
    ).stdout
    assert rendered == render(values)
