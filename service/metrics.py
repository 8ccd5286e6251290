"""Prometheus collectors (names fixed by the API contract), on an injectable CollectorRegistry.

Histograms are in base units (seconds, items); bucket boundaries come from settings. Per-model children are
bound once per model (`ModelMetrics`), so the hot path never looks labels up. Every gauge says how several
worker processes combine it (`multiprocess_mode`, see `service.multiproc`).
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from service import multiproc

REJECT_REASONS = ("queue_full", "expired", "cancelled", "failed", "draining")

__all__ = ["CONTENT_TYPE_LATEST", "REJECT_REASONS", "Metrics", "ModelMetrics"]


class Metrics:
    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        latency_buckets: Sequence[float],
        batch_buckets: Sequence[float],
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.request_duration = Histogram(
            "ganserve_request_duration_seconds",
            "Time from request received to response sent.",
            ["model", "endpoint", "status"],
            buckets=latency_buckets,
            registry=r,
        )
        self.queue_wait = Histogram(
            "ganserve_queue_wait_seconds",
            "Time items waited in the batch queue before their batch started.",
            ["model"],
            buckets=latency_buckets,
            registry=r,
        )
        self.inference_duration = Histogram(
            "ganserve_inference_duration_seconds",
            "onnxruntime time per batch.",
            ["model"],
            buckets=latency_buckets,
            registry=r,
        )
        self.encode_duration = Histogram(
            "ganserve_encode_duration_seconds",
            "Time an encoder thread spent on one hand-over (its share of a batch).",
            ["model"],
            buckets=latency_buckets,
            registry=r,
        )
        self.batch_size = Histogram(
            "ganserve_batch_size_items", "Items (images) per batch run.", ["model"], buckets=batch_buckets, registry=r
        )
        self.queue_items = Gauge(
            "ganserve_queue_items",
            "Items waiting in the batch queue.",
            ["model"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.images = Counter("ganserve_images_total", "Images (output rows) produced.", ["model"], registry=r)
        self.rejected = Counter(
            "ganserve_requests_rejected_total",
            "Requests refused or abandoned, by reason.",
            ["model", "reason"],
            registry=r,
        )
        self.model_info = Gauge(
            "ganserve_model_info",
            "Served model versions (always 1).",
            ["model", "version", "kind", "provider"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.workers = Gauge(
            "ganserve_workers",
            "Server worker processes serving (summed over live workers).",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.worker_starts = Counter(
            "ganserve_worker_starts",
            "Worker processes started; more than GANSERVE_WORKERS means workers died and were replaced.",
            registry=r,
        )

    def worker_started(self) -> None:
        self.workers.set(1)
        self.worker_starts.inc()

    def for_model(self, model: str) -> ModelMetrics:
        return ModelMetrics(self, model)

    def render(self) -> bytes:
        return multiproc.render() if multiproc.active() else generate_latest(self.registry)


class ModelMetrics:
    """The children of every per-model collector for one model: what the batcher and routes observe."""

    def __init__(self, metrics: Metrics, model: str) -> None:
        self.model = model
        self._request_duration = metrics.request_duration
        self._requests: dict[tuple[str, int], Histogram] = {}
        self.queue_wait = metrics.queue_wait.labels(model=model)
        self.inference_duration = metrics.inference_duration.labels(model=model)
        self.encode_duration = metrics.encode_duration.labels(model=model)
        self.batch_size = metrics.batch_size.labels(model=model)
        self.queue_items = metrics.queue_items.labels(model=model)
        self.images = metrics.images.labels(model=model)
        self._rejected = {reason: metrics.rejected.labels(model=model, reason=reason) for reason in REJECT_REASONS}

    def rejected(self, reason: str) -> None:
        self._rejected[reason].inc()

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        child = self._requests.get((endpoint, status))
        if child is None:
            child = self._request_duration.labels(model=self.model, endpoint=endpoint, status=str(status))
            self._requests[(endpoint, status)] = child
        child.observe(seconds)
