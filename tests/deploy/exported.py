"""The metric series the service really exports: sample name -> label names.

`from_registry()` exercises service/metrics.py (every collector, one child each) without a server;
`from_text()` reads a real /metrics scrape (tests/deploy/test_failover.py scrapes live replicas).
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from service.metrics import REJECT_REASONS, Metrics
from service.settings import Settings

# Labels Prometheus adds to every scraped series, and its own per-target series.
SCRAPE_LABELS = frozenset({"instance", "job"})
SCRAPE_SERIES = {"up": set(SCRAPE_LABELS)}


def from_text(text: str) -> dict[str, set[str]]:
    series: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


def from_registry() -> dict[str, set[str]]:
    settings = Settings()
    metrics = Metrics(latency_buckets=settings.latency_buckets, batch_buckets=settings.batch_buckets)
    model = metrics.for_model("m")
    model.request("generate", 200, 0.01)
    for reason in REJECT_REASONS:
        model.rejected(reason)
    model.queue_wait.observe(0.001)
    model.inference_duration.observe(0.001)
    model.encode_duration.observe(0.001)
    model.batch_size.observe(4)
    model.images.inc()
    model.queue_items.set(0)
    metrics.model_info.labels(model="m", version="1", kind="unconditional", provider="cpu").set(1)
    return from_text(metrics.render().decode())


def with_scrape_labels(series: dict[str, set[str]]) -> dict[str, set[str]]:
    return {name: labels | SCRAPE_LABELS for name, labels in series.items()} | SCRAPE_SERIES
