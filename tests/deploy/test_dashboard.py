"""The Grafana dashboard and the Prometheus rules query only series that service/metrics.py really exports."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.deploy.dashboard import (
    dashboard,
    dashboard_queries,
    panels,
    recorded_names,
    rule_queries,
    unknown_references,
)
from tests.deploy.exported import from_registry, from_text, with_scrape_labels
from tests.deploy.repo import DEPLOY, load_yaml
from tests.support.server import Server


@pytest.fixture(scope="module")
def exported() -> dict[str, set[str]]:
    return with_scrape_labels(from_registry())


def test_dashboard_names_only_exported_metrics_and_labels(exported: dict[str, set[str]]) -> None:
    assert unknown_references(dashboard_queries(), exported) == []


def test_rules_name_only_exported_metrics_and_labels(exported: dict[str, set[str]]) -> None:
    recorded = {name: {"model"} | {"instance", "job"} for name in recorded_names()}
    assert unknown_references(rule_queries(), exported | recorded) == []


def test_the_check_catches_a_misspelt_metric(exported: dict[str, set[str]]) -> None:
    wrong = {
        "p": 'sum by (reason) (rate(ganserve_request_rejected_total{model="m"}[5m]))',
        "q": 'sum by (nope) (rate(ganserve_images_total{modle="m"}[5m]))',
    }
    assert unknown_references(wrong, exported) == [
        "p: metric ganserve_request_rejected_total",
        "p: by (reason)",
        "q: label ganserve_images_total{modle}",
        "q: by (nope)",
    ]


def test_latency_quantiles_aggregate_buckets_across_replicas() -> None:
    exprs = [t["expr"] for p in panels() if p["title"] == "Request latency p50 / p95 / p99" for t in p["targets"]]
    quantiles = []
    for expr in exprs:
        match = re.fullmatch(
            r"histogram_quantile\((0\.\d+), sum by \(le\) \(rate\("
            r"ganserve_request_duration_seconds_bucket\{[^}]*\}\[\$__rate_interval\]\)\)\)",
            expr,
        )
        assert match, f"not a cross-replica quantile: {expr}"
        quantiles.append(match[1])
    assert quantiles == ["0.5", "0.95", "0.99"]


@pytest.mark.parametrize(
    "needle",
    [
        "ganserve_request_duration_seconds_count",  # throughput
        "ganserve_images_total",  # images/s
        "ganserve_batch_size_items",
        "ganserve_queue_items",
        "sum by (reason) (rate(ganserve_requests_rejected_total",  # refusals by reason
        'status=~"4..|5.."',  # errors by status
        "ganserve_queue_wait_seconds_bucket",
        "ganserve_inference_duration_seconds_bucket",
    ],
)
def test_dashboard_covers(needle: str) -> None:
    assert any(needle in expr for expr in dashboard_queries().values()), f"no panel queries {needle}"


def test_dashboard_uses_the_provisioned_datasource() -> None:
    (source,) = load_yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert source["url"] == "http://prometheus:9090"
    uids = {p["datasource"]["uid"] for p in panels() if "datasource" in p}
    uids |= {t["datasource"]["uid"] for p in panels() for t in p.get("targets", [])}
    assert uids == {source["uid"]}
    assert dashboard()["uid"] == "ganserve"


def test_panels_do_not_overlap() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in panels():
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24
        cells = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & taken, f"panel {panel['title']!r} overlaps another"
        taken |= cells
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))


def test_dashboard_provider_points_where_compose_mounts_the_dashboards() -> None:
    (provider,) = load_yaml(DEPLOY / "grafana/provisioning/dashboards/ganserve.yml")["providers"]
    compose = load_yaml(DEPLOY.parent / "docker-compose.yml")
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in compose["services"]["grafana"]["volumes"]


def test_dashboard_matches_what_a_live_replica_exports(models_dir: Path, start_server: Callable[..., Server]) -> None:
    replica = start_server(models_dir)
    for seed in range(3):  # histograms and counters get their first samples
        assert httpx.post(f"{replica.url}/v1/models/gen/generate", json={"n": 2, "seed": seed}).status_code == 200
    live = with_scrape_labels(from_text(httpx.get(f"{replica.url}/metrics").text))
    assert unknown_references(dashboard_queries(), live) == []
    recorded = {name: {"model", "instance", "job"} for name in recorded_names()}
    assert unknown_references(rule_queries(), live | recorded) == []
