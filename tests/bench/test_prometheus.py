"""bench.prometheus reads the histogram the service exports, and the change between two scrapes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.prometheus import read_histogram


def _scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_difference_between_scrapes_counts_only_the_batches_in_between() -> None:
    registry = CollectorRegistry()
    batches = Histogram("ganserve_batch_size_items", "items per batch", ["model"], buckets=(1, 8, 64),
                        registry=registry)  # fmt: skip
    batches.labels("other").observe(64)  # another model's series must not leak in
    batches.labels("gen").observe(1)
    before = read_histogram(_scrape(registry), "ganserve_batch_size_items", {"model": "gen"})
    for size in (8, 8, 64, 100):
        batches.labels("gen").observe(size)
    after = read_histogram(_scrape(registry), "ganserve_batch_size_items", {"model": "gen"})

    delta = after - before
    assert delta.count == 4
    assert delta.mean == (8 + 8 + 64 + 100) / 4
    assert delta.per_bucket() == {"1": 0, "8": 2, "64": 1, "+Inf": 1}


def test_series_of_several_processes_are_summed() -> None:
    lines = [
        'ganserve_batch_size_items_bucket{le="4.0",model="gen",pid="1"} 2.0',
        'ganserve_batch_size_items_bucket{le="+Inf",model="gen",pid="1"} 3.0',
        'ganserve_batch_size_items_count{model="gen",pid="1"} 3.0',
        'ganserve_batch_size_items_sum{model="gen",pid="1"} 12.0',
        'ganserve_batch_size_items_bucket{le="4.0",model="gen",pid="2"} 1.0',
        'ganserve_batch_size_items_bucket{le="+Inf",model="gen",pid="2"} 1.0',
        'ganserve_batch_size_items_count{model="gen",pid="2"} 1.0',
        'ganserve_batch_size_items_sum{model="gen",pid="2"} 4.0',
    ]
    hist = read_histogram("\n".join(lines), "ganserve_batch_size_items", {"model": "gen"})
    assert (hist.count, hist.sum) == (4.0, 16.0)
    assert hist.per_bucket() == {"4": 3, "+Inf": 1}
