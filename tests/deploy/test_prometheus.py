"""Prometheus (compose): every replica is a scrape target, the rules are loaded, Grafana's step matches the scrape."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from typing import Any

import pytest

from tests.deploy.repo import DEPLOY, ROOT, load_yaml


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    return data


def job(config: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [j for j in config["scrape_configs"] if j["job_name"] == name]
    return dict(found)


def test_every_replica_is_discovered_through_dns(config: dict[str, Any]) -> None:
    compose = load_yaml(ROOT / "docker-compose.yml")
    replica_port = int(compose["services"]["ganserve"]["environment"]["GANSERVE_PORT"])
    ganserve = job(config, "ganserve")
    assert ganserve.get("metrics_path", "/metrics") == "/metrics"
    (sd,) = ganserve["dns_sd_configs"]
    # The compose service name: Docker's DNS answers it with one A record per replica, --scale included.
    assert sd["names"] == ["ganserve"] and sd["type"] == "A" and sd["port"] == replica_port
    assert "static_configs" not in ganserve  # a fixed list would miss scaled replicas


def test_scrapes_are_frequent_and_finish_in_time(config: dict[str, Any]) -> None:
    interval = int(config["global"]["scrape_interval"].rstrip("s"))
    assert int(config["global"]["scrape_timeout"].rstrip("s")) < interval <= 15
    (source,) = load_yaml(DEPLOY / "grafana/provisioning/datasources/prometheus.yml")["datasources"]
    # Grafana's $__rate_interval is computed from this: it must be the real scrape interval.
    assert source["jsonData"]["timeInterval"] == config["global"]["scrape_interval"]


def test_rule_files_are_the_ones_compose_mounts(config: dict[str, Any]) -> None:
    compose = load_yaml(ROOT / "docker-compose.yml")
    mounts = dict(v.split(":")[:2] for v in compose["services"]["prometheus"]["volumes"] if v.startswith("./"))
    loaded = []
    for source, target in mounts.items():
        for path in (ROOT / source).rglob("*") if (ROOT / source).is_dir() else []:
            in_container = f"{target}/{path.relative_to(ROOT / source)}"
            if any(fnmatch.fnmatch(in_container, pattern) for pattern in config["rule_files"]):
                loaded.append(path.name)
    assert loaded == ["ganserve.yml"]
    groups = load_yaml(DEPLOY / "prometheus" / "rules" / "ganserve.yml")["groups"]
    assert {r["alert"] for g in groups for r in g["rules"] if "alert" in r} >= {"GanserveReplicaDown"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian package prometheus)")
def test_promtool_accepts_the_config_and_the_rules() -> None:
    for command in (
        ["check", "config", "--syntax-only", str(DEPLOY / "prometheus" / "prometheus.yml")],
        ["check", "rules", str(DEPLOY / "prometheus" / "rules" / "ganserve.yml")],
    ):
        result = subprocess.run(["promtool", *command], check=False, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
