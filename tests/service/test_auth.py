"""The optional API key: bearer or X-API-Key on model endpoints; health (and metrics unless protected) stay open."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.server import Server

KEY = "s3cret-key-for-tests"


def test_api_key_protects_models_and_inference_only(start_server: Callable[..., Server], models_dir: Path) -> None:
    server = start_server(models_dir, env={"GANSERVE_API_KEY": KEY})
    gen = server.url + "/v1/models/gen/generate"
    for headers in (
        {},
        {"Authorization": "Bearer wrong-key-123"},
        {"X-API-Key": KEY[:-1]},
        {"Authorization": f"Basic {KEY}"},
    ):
        r = httpx.post(gen, json={}, headers=headers)
        assert r.status_code == 401 and r.json()["type"] == "unauthorized", r.text
    assert httpx.get(server.url + "/v1/models").status_code == 401
    assert httpx.get(server.url + "/v2/models/gen").status_code == 401
    assert httpx.post(gen, json={}, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert httpx.post(gen, json={}, headers={"X-API-Key": KEY}).status_code == 200
    assert httpx.get(server.url + "/v2/health/ready").status_code == 200
    assert httpx.get(server.url + "/metrics").status_code == 200


def test_protect_metrics(start_server: Callable[..., Server], models_dir: Path) -> None:
    server = start_server(models_dir, env={"GANSERVE_API_KEY": KEY, "GANSERVE_PROTECT_METRICS": "true"})
    assert httpx.get(server.url + "/metrics").status_code == 401
    assert httpx.get(server.url + "/metrics", headers={"X-API-Key": KEY}).status_code == 200
