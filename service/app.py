"""The application factory.

    uvicorn service.app:create_app --factory          # settings from GANSERVE_* environment variables
    ganserve serve --port 8000 --models-dir models   # the same, with uvloop/httptools and a clean drain

`create_app(settings)` builds nothing heavy: the lifespan loads the registry (sessions, warm-up, batchers),
marks the service ready, installs the SIGTERM drain and starts the gRPC server (GANSERVE_GRPC_PORT, same
batchers); on the way out it stops the gRPC server, then the batchers.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI

from service.access import RequestTracker
from service.auth import check_admin_key, check_api_key
from service.http_errors import install_error_handlers
from service.lifecycle import RequestGate, install_drain_on_sigterm
from service.metrics import Metrics
from service.openapi import install_openapi
from service.registry import load_registry
from service.repository import ModelRepository
from service.routes import generate, health, images, interpolate, models, repository, translate, v2
from service.routes import metrics as scrape
from service.rpc.server import GrpcServer, start_grpc
from service.runtime import cuda_usable
from service.settings import Settings
from service.shedding import EarlyRefusal
from service.state import Service
from service.static import static_files

if TYPE_CHECKING:
    from service.tracing import Tracer

log = logging.getLogger("ganserve")

# Routers behind the API key, then open ones (metrics checks the key itself when GANSERVE_PROTECT_METRICS is set).
PROTECTED_ROUTERS: list[APIRouter] = [
    models.router,
    generate.router,
    translate.router,
    interpolate.router,
    images.router,
    v2.router,
]
OPEN_ROUTERS: list[APIRouter] = [health.router, scrape.router]
STATIC_DIR = Path(__file__).parent / "static"
# FastAPI >= 0.165 asks the OpenTelemetry API on every request whether tracing, metrics or logs are configured
# (~3-7% of the event loop under load); we export Prometheus ourselves, so switch that check off where it exists.
_NO_OTEL: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def create_app(
    settings: Settings | None = None, metrics: Metrics | None = None, tracer: Tracer | None = None
) -> FastAPI:
    settings = settings or Settings()
    metrics = metrics or Metrics(latency_buckets=settings.latency_buckets, batch_buckets=settings.batch_buckets)
    if tracer is None and settings.tracing:
        from service import tracing  # only then: nothing of OpenTelemetry's SDK is loaded otherwise

        tracer = tracing.Tracer()
    service = Service(settings, metrics, tracer=tracer)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)
        service.encoders = service.encode_pool(gpu=cuda_usable(settings.provider))
        log.info("encode pool: %d threads, room for %d images", service.encoders.workers, service.encoders.capacity)
        service.registry = await asyncio.to_thread(load_registry, settings, metrics, service.encoders)
        await service.registry.start()
        service.repository = ModelRepository(service.registry, settings, metrics)
        # with model control, an empty repository is a valid start: models can be loaded later
        service.lifecycle.ready = bool(service.registry.models) or settings.model_control != "none"
        if not service.lifecycle.ready:
            log.error("no model could be loaded from %s: readiness stays 503", settings.models_dir)
        poller = asyncio.create_task(service.repository.poll_forever()) if settings.model_control == "poll" else None
        restore = install_drain_on_sigterm(service.lifecycle, settings.drain_timeout_s)
        metrics.worker_started()
        grpc_server: GrpcServer | None = None
        try:
            grpc_server = await start_grpc(service)
            yield
        finally:
            metrics.workers.set(0)
            restore()
            if poller is not None:
                poller.cancel()
            service.lifecycle.ready = False
            if grpc_server is not None:
                await grpc_server.stop()
            await service.registry.stop()
            await service.encoders.stop()
            sys.setswitchinterval(switch_interval)
            if tracer is not None:
                tracer.shutdown()

    app = FastAPI(
        title="ganserve",
        version="0.1.0",
        lifespan=lifespan,
        **_NO_OTEL,
        description="Serve GAN generators exported to ONNX, with dynamic batching.",
    )
    app.state.service = service
    for router in PROTECTED_ROUTERS:
        app.include_router(router, dependencies=[Depends(check_api_key)])
    app.include_router(repository.router, dependencies=[Depends(check_admin_key)])
    for router in OPEN_ROUTERS:
        app.include_router(router)
    install_error_handlers(app, settings.overload_status)
    app.add_middleware(
        RequestGate, lifecycle=service.lifecycle, model_metrics=service.model_metrics, routes=app.router.routes
    )
    install_openapi(app, settings)
    app.add_middleware(RequestTracker, tracer=tracer, access_log=settings.access_log)  # sees every other answer
    if settings.early_refusal:  # outermost: a full queue's refusals skip everything else (service/shedding.py)
        app.add_middleware(EarlyRefusal, service=service)
    if STATIC_DIR.is_dir():
        app.mount("/", static_files(STATIC_DIR, app.router.routes), name="static")
    return app
