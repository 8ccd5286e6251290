"""Prometheus collectors: fixed names, per-app registries, per-model children bound once, no client-minted labels."""

from __future__ import annotations

import pytest

from service.metrics import REJECT_REASONS, Metrics


def make() -> Metrics:
    return Metrics(latency_buckets=(0.01, 0.1, 1.0), batch_buckets=(1, 8))


def test_request_durations_are_labelled_by_model_endpoint_and_status() -> None:
    metrics = make()
    model = metrics.for_model("gen")
    model.request("generate", 200, 0.05)
    model.request("generate", 200, 0.5)
    model.request("generate", 422, 0.001)
    sample = metrics.registry.get_sample_value
    labels = {"model": "gen", "endpoint": "generate"}
    assert sample("ganserve_request_duration_seconds_count", labels | {"status": "200"}) == 2
    assert sample("ganserve_request_duration_seconds_bucket", labels | {"status": "200", "le": "0.1"}) == 1
    assert sample("ganserve_request_duration_seconds_count", labels | {"status": "422"}) == 1


def test_rejections_count_only_the_known_reasons() -> None:
    metrics = make()
    model = metrics.for_model("gen")
    for reason in REJECT_REASONS:
        model.rejected(reason)
    model.rejected("queue_full")
    sample = metrics.registry.get_sample_value
    assert sample("ganserve_requests_rejected_total", {"model": "gen", "reason": "queue_full"}) == 2
    assert sample("ganserve_requests_rejected_total", {"model": "gen", "reason": "cancelled"}) == 1
    with pytest.raises(KeyError):
        model.rejected("made-up")  # a typo must fail loudly in tests, not mint a new series


def test_every_app_has_its_own_registry_and_the_documented_names() -> None:
    first, second = make(), make()
    first.for_model("gen").images.inc(3)
    assert second.registry.get_sample_value("ganserve_images_total", {"model": "gen"}) is None
    text = first.render().decode()
    for name in (
        "ganserve_request_duration_seconds",
        "ganserve_queue_wait_seconds",
        "ganserve_inference_duration_seconds",
        "ganserve_encode_duration_seconds",
        "ganserve_batch_size_items",
        "ganserve_queue_items",
        "ganserve_images_total",
        "ganserve_requests_rejected_total",
        "ganserve_model_info",
    ):
        assert f"# TYPE {name}" in text
    assert 'ganserve_images_total{model="gen"} 3.0' in text
    assert 'le="8.0"' in text and 'le="0.01"' in text  # buckets from settings, not prometheus' defaults
