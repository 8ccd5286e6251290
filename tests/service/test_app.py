"""The app factory in-process: lifespan, readiness without models, routers and static files wiring."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from fastapi import FastAPI

from service.app import create_app
from service.settings import Settings


async def call(app: FastAPI, path: str) -> httpx.Response:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)


async def test_without_models_the_server_is_live_but_not_ready(tmp_path: Path) -> None:
    app = create_app(Settings(models_dir=tmp_path))
    ready = await call(app, "/v2/health/ready")
    assert ready.status_code == 503 and ready.headers["retry-after"] == "1"
    assert ready.json() == {"error": "no model is loaded (yet)", "type": "not_ready"}
    assert (await call(app, "/v2/health/live")).status_code == 200
    assert (await call(app, "/v1/models")).json() == {"models": []}


async def test_each_app_has_its_own_metrics_registry(models_dir: Path) -> None:
    first, second = create_app(Settings(models_dir=models_dir)), create_app(Settings(models_dir=models_dir))
    assert 'model="gen"' in (await call(first, "/metrics")).text
    assert first.state.service.metrics.registry is not second.state.service.metrics.registry


async def test_the_gil_switch_interval_is_the_servers_while_it_runs(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    app = create_app(Settings(models_dir=tmp_path, gil_switch_interval_ms=0.25))
    async with app.router.lifespan_context(app):
        assert sys.getswitchinterval() == 0.00025
    assert sys.getswitchinterval() == before
