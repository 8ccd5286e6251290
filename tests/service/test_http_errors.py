"""The one mapping from domain errors to HTTP: status, JSON type, headers, body; and the handlers that use it."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from service import errors
from service.errors import (
    Cancelled,
    DeadlineExceeded,
    Draining,
    GanserveError,
    InferenceFailed,
    InvalidRequest,
    NotReady,
    Overloaded,
    Unauthorized,
    UnknownModel,
)
from service.http_errors import STATUS, install_error_handlers, send_error, to_http

SERVICE = Path(__file__).resolve().parents[2] / "service"


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (InvalidRequest("n: too big"), 422, "invalid_request"),
        (UnknownModel("unknown model 'x'"), 404, "unknown_model"),
        (Overloaded("full"), 503, "queue_full"),
        (NotReady("loading"), 503, "not_ready"),
        (DeadlineExceeded("late"), 504, "deadline_exceeded"),
        (Cancelled("gone"), 499, "cancelled"),
        (InferenceFailed("broke"), 500, "inference_failed"),
        (GanserveError("bug"), 500, "internal"),
    ],
)
def test_each_error_has_one_status_and_type(error: GanserveError, status: int, kind: str) -> None:
    mapped = to_http(error)
    assert (mapped.status, mapped.kind, mapped.message) == (status, kind, error.message)
    assert json.loads(mapped.body()) == {"error": error.message, "type": kind}


def test_every_domain_error_class_is_mapped() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, GanserveError)]
    assert set(classes) == set(STATUS)


def test_headers_come_from_the_mapping() -> None:
    assert to_http(Overloaded("full"), overload_status=429).status == 429
    assert to_http(Overloaded("full", retry_after_s=2.5)).headers == {"Retry-After": "3"}
    assert to_http(Draining("leaving")).headers == {"Retry-After": "1", "Connection": "close"}
    assert to_http(Unauthorized("key")).headers == {"WWW-Authenticate": 'Bearer realm="ganserve"'}
    assert to_http(InvalidRequest("x")).headers == {}


def test_errors_py_imports_no_web_framework_and_no_other_module_chooses_a_status() -> None:
    tree = ast.parse((SERVICE / "errors.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__"}
    choosers = [
        p.name
        for p in SERVICE.rglob("*.py")
        if p.name != "http_errors.py"
        and ("status_code=4" in p.read_text() or "status_code=5" in p.read_text() or '"status": 5' in p.read_text())
    ]
    assert choosers == []


async def test_send_error_answers_a_raw_asgi_request() -> None:
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await send_error(send, Draining("leaving"))
    start, body = sent
    assert start["status"] == 503
    headers = dict(start["headers"])  # type: ignore[call-overload]
    assert headers[b"retry-after"] == b"1" and headers[b"connection"] == b"close"
    assert int(headers[b"content-length"]) == len(body["body"])  # type: ignore[arg-type]
    assert json.loads(body["body"]) == {"error": "leaving", "type": "draining"}  # type: ignore[arg-type]


async def test_handlers_route_validation_routing_and_bugs_through_the_mapping() -> None:
    app = FastAPI()
    install_error_handlers(app, overload_status=429)

    @app.get("/overloaded")
    async def overloaded() -> None:
        raise Overloaded("full")

    @app.get("/invalid")
    async def invalid() -> None:
        raise RequestValidationError([{"loc": ("body", "n"), "msg": "too big", "type": "x"}])

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("secret detail")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        full = await client.get("/overloaded")
        assert (full.status_code, full.json()["type"], full.headers["retry-after"]) == (429, "queue_full", "1")
        assert (await client.get("/invalid")).json() == {"error": "body.n: too big", "type": "invalid_request"}
        missing = await client.get("/nowhere")
        assert missing.status_code == 404 and missing.json() == {
            "error": "no such endpoint: /nowhere",
            "type": "not_found",
        }
        assert (await client.post("/bug")).json()["type"] == "method_not_allowed"
        broken = await client.get("/bug")
        assert broken.status_code == 500 and broken.json() == {"error": "internal server error", "type": "internal"}
