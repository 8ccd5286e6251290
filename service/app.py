"""The application factory.

    uvicorn service.app:create_app --factory          # settings from GANSERVE_* environment variables
    ganserve serve --port 8000 --models-dir models   # the same, with uvloop/httptools and a clean drain

`create_app(settings)` builds nothing heavy: the lifespan loads the registry (sessions, warm-up, batchers),
marks the service ready, and installs the SIGTERM drain; on the way out it stops the batchers.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from service.auth import check_api_key
from service.errors import GanserveError, error_response, json_error
from service.lifecycle import RequestGate, install_drain_on_sigterm
from service.metrics import Metrics
from service.registry import load_registry
from service.settings import Settings
from service.shedding import EarlyRefusal
from service.state import Service

log = logging.getLogger("ganserve")

# Routers behind the API key, then open ones. A module that is not there yet (features that land later) is skipped.
PROTECTED_ROUTERS = ["models", "generate", "translate", "interpolate", "images", "v2"]
OPEN_ROUTERS = ["health", "metrics"]
STATIC_DIR = Path(__file__).parent / "static"
# FastAPI >= 0.165 asks the OpenTelemetry API on every request whether tracing, metrics or logs are configured
# (~3-7% of the event loop under load); we export Prometheus ourselves, so switch that check off where it exists.
_NO_OTEL: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {}
)


def _routers(names: list[str]) -> list[object]:
    routers = []
    for name in names:
        try:
            module = importlib.import_module(f"service.routes.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"service.routes.{name}":
                raise
            continue
        routers.append(module.router)
    return routers


def create_app(settings: Settings | None = None, metrics: Metrics | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = metrics or Metrics(latency_buckets=settings.latency_buckets, batch_buckets=settings.batch_buckets)
    service = Service(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.registry = await asyncio.to_thread(load_registry, settings, metrics)
        await service.registry.start()
        service.lifecycle.ready = bool(service.registry.models)
        if not service.lifecycle.ready:
            log.error("no model could be loaded from %s: readiness stays 503", settings.models_dir)
        restore = install_drain_on_sigterm(service.lifecycle, settings.drain_timeout_s)
        try:
            yield
        finally:
            restore()
            service.lifecycle.ready = False
            await service.registry.stop()

    app = FastAPI(title="ganserve", version="0.1.0", lifespan=lifespan, **_NO_OTEL,
                  description="Serve GAN generators exported to ONNX, with dynamic batching.")
    app.state.service = service
    for router in _routers(PROTECTED_ROUTERS):
        app.include_router(router, dependencies=[Depends(check_api_key)])  # type: ignore[arg-type]
    for router in _routers(OPEN_ROUTERS):
        app.include_router(router)  # type: ignore[arg-type]
    _install_error_handlers(app, settings.overload_status)
    app.add_middleware(RequestGate, lifecycle=service.lifecycle, model_metrics=service.model_metrics)
    if settings.early_refusal:  # added last, so it runs first: before RequestGate, routing and body parsing
        app.add_middleware(EarlyRefusal, service=service)
    if STATIC_DIR.is_dir():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app


def _install_error_handlers(app: FastAPI, overload_status: int) -> None:
    """Every error leaves as {"error", "type"} JSON: domain errors, FastAPI validation, routing, and bugs."""

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GanserveError)
        return error_response(exc, overload_status)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return json_error(422, "; ".join(parts) or "invalid request", "invalid_request")

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kinds = {404: "not_found", 405: "method_not_allowed"}
        message = {404: f"no such endpoint: {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return json_error(exc.status_code, message, kinds.get(exc.status_code, "http_error"),
                          dict(exc.headers) if exc.headers else None)

    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return json_error(500, "internal server error", "internal")

    app.add_exception_handler(GanserveError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, bug)
