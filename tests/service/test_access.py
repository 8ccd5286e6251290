"""Request IDs, access lines and bug handling (service.access) against real servers and in-process."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.logs import fields_of
from service.settings import Settings
from tests.support.server import Server, running_server

GOOD_ID = "checkout-42.a:b@c+d=e/f~g_h"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/v1/models/gen/generate", {"n": 1, "seed": 1}, 200),
        ("POST", "/v1/models/nope/generate", {}, 404),
        ("POST", "/v1/models/gen/generate", {"n": 0}, 422),
        ("OPTIONS", "/v1/models/gen/generate", None, 405),
        ("GET", "/no/such/page", None, 404),
        ("GET", "/v2/health/ready", None, 200),
    ],
)
def test_a_safe_request_id_comes_back_on_every_answer(
    server: Server, method: str, path: str, body: dict[str, Any] | None, status: int
) -> None:
    answer = httpx.request(method, server.url + path, json=body, headers={"X-Request-ID": GOOD_ID})
    assert answer.status_code == status
    assert answer.headers["x-request-id"] == GOOD_ID


@pytest.mark.parametrize("bad", ["two words", "x" * 129, "semi;colon", 'quote"d', "caf\u00e9"])
def test_an_unsafe_request_id_is_replaced_not_echoed(server: Server, bad: str) -> None:
    answer = httpx.post(
        server.url + "/v1/models/gen/generate", json={"n": 1}, headers=[(b"X-Request-ID", bad.encode())]
    )
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] != bad and len(answer.headers["x-request-id"]) == 32


def test_without_a_request_id_each_answer_gets_its_own(server: Server) -> None:
    ids = {httpx.get(server.url + "/v1/models").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_the_v2_body_id_is_echoed_beside_the_header(server: Server) -> None:
    tensor = {"name": "z", "shape": [1, 8], "datatype": "FP32", "data": [0.0] * 8}
    answer = httpx.post(
        server.url + "/v2/models/gen/infer", json={"id": "oip-7", "inputs": [tensor]}, headers={"X-Request-ID": GOOD_ID}
    )
    assert answer.json()["id"] == "oip-7" and answer.headers["x-request-id"] == GOOD_ID


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.support.models import write_model_repo

    models = write_model_repo(tmp_path_factory.mktemp("json-logs") / "models")
    with running_server(models, {"GANSERVE_LOG_FORMAT": "json", "GANSERVE_MAX_BATCH_SIZE": "4"}) as server:
        yield server


def log_lines(server: Server) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


def wait_for_line(server: Server, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [line for line in log_lines(server) if match(line)]
        if found:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no such log line in:\n{server.log()}")


def test_json_logs_are_one_object_per_line_with_an_access_line_per_request(json_server: Server) -> None:
    answer = httpx.post(
        json_server.url + "/v1/models/cgen/generate", json={"n": 3, "seed": 5}, headers={"X-Request-ID": "json-1"}
    )
    assert answer.status_code == 200
    line = wait_for_line(json_server, lambda d: d.get("request_id") == "json-1")
    assert line["logger"] == "ganserve.access" and line["level"] == "info"
    assert {k: line[k] for k in ("method", "route", "path", "model", "version", "status", "images")} == {
        "method": "POST",
        "route": "/v1/models/{name}/generate",
        "path": "/v1/models/cgen/generate",
        "model": "cgen",
        "version": "1",
        "status": 200,
        "images": 3,
    }
    assert 1 <= line["batch_size"] <= 4 and 0 <= line["queue_wait_ms"] <= line["duration_ms"]
    host, port = line["client"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    startup = [d for d in log_lines(json_server) if d["message"] == "model loaded"]
    assert {(d["model"], d["version"], d["kind"]) for d in startup} == {
        ("gen", "1", "unconditional"),
        ("cgen", "1", "conditional"),
        ("translate", "1", "translation"),
    }


def test_an_error_has_its_access_line_too_and_health_checks_stay_quiet(json_server: Server) -> None:
    httpx.get(json_server.url + "/v2/health/ready", headers={"X-Request-ID": "health-1"})
    httpx.post(json_server.url + "/v1/models/gen/generate", json={"n": -1}, headers={"X-Request-ID": "json-422"})
    line = wait_for_line(json_server, lambda d: d.get("request_id") == "json-422")
    assert (line["status"], line["model"], line["images"]) == (422, None, 0)
    assert not any(d.get("request_id") == "health-1" for d in log_lines(json_server))  # debug level


def test_a_client_that_leaves_mid_body_gets_an_access_line_and_no_traceback(json_server: Server) -> None:
    url = urlparse(json_server.url)
    with socket.create_connection((url.hostname, url.port)) as conn:
        conn.sendall(
            b"POST /v1/models/gen/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'X-Request-ID: leaver-1\r\nContent-Length: 1000\r\n\r\n{"n": '
        )
    line = wait_for_line(json_server, lambda d: d.get("request_id") == "leaver-1")
    assert line["status"] == 499
    assert "Traceback" not in json_server.log() and not any("exception" in d for d in log_lines(json_server))


async def test_a_bug_is_a_json_500_with_the_id_and_one_logged_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app: FastAPI = create_app(Settings(models_dir=tmp_path, grpc_port=0))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    app.router.routes.insert(0, app.router.routes.pop())  # before the static files' catch-all mount
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.get("/boom", headers={"X-Request-ID": "bug-1"})
    assert answer.status_code == 500 and answer.json() == {"error": "internal server error", "type": "internal"}
    assert answer.headers["x-request-id"] == "bug-1"
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "a bug" in str(tracebacks[0].exc_info[1])
    access = [fields_of(r) for r in caplog.records if r.name == "ganserve.access"]
    assert [(f["status"], f["request_id"]) for f in access] == [(500, "bug-1")]
