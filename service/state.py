"""What the lifespan owns and every request may need: `request.app.state.service` (see `get_service`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, cast

from starlette.requests import Request

from service.formats import Codec
from service.layout import configured_layout, default_workers, host_cores
from service.lifecycle import Lifecycle
from service.metrics import Metrics, ModelMetrics
from service.pipeline import INLINE_VALUES, EncodePool
from service.registry import Registry
from service.repository import ModelRepository
from service.settings import Settings

if TYPE_CHECKING:
    from service.tracing import Tracer


@dataclass(eq=False)
class Service:
    settings: Settings
    metrics: Metrics
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    registry: Registry = field(default_factory=Registry)
    repository: ModelRepository | None = None  # live model management; built by the lifespan
    tracer: Tracer | None = None  # OpenTelemetry, when GANSERVE_TRACING is on
    encoders: EncodePool | None = None  # stage two, shared by every model; built by the lifespan

    @cached_property
    def codec(self) -> Codec:
        s = self.settings
        return Codec(png_level=s.png_level, jpeg_quality=s.jpeg_quality, webp_quality=s.webp_quality)

    def encode_pool(self, gpu: bool) -> EncodePool:
        """The encode pool these settings ask for (GANSERVE_ENCODE_WORKERS, 0: what the cores allow)."""
        s = self.settings
        workers = s.encode_workers or default_workers(host_cores(), configured_layout(s, gpu).threads, gpu)
        return EncodePool(workers, s.encode_queue_items, inline_values=INLINE_VALUES)

    def model_metrics(self, name: str) -> ModelMetrics | None:
        """Per-model metrics for a *served* name only, so clients cannot mint label values."""
        versions = self.registry.models.get(name)
        return next(iter(versions.values())).metrics if versions else None

    def timeout(self, deadline_ms: int | None) -> float:
        """Seconds this request may take: the server's deadline, shortened by the client's if it asked."""
        ms = self.settings.deadline_ms if deadline_ms is None else min(deadline_ms, self.settings.deadline_ms)
        return ms / 1000


def get_service(request: Request) -> Service:
    return cast(Service, request.app.state.service)
