"""The PromQL the deployment ships: every query of the Grafana dashboard and every Prometheus rule."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.deploy.promql import grouping_labels, metric_names, selector_labels
from tests.deploy.repo import DEPLOY, load_yaml

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "ganserve.json"
RULES = DEPLOY / "prometheus" / "rules" / "ganserve.yml"


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panels() -> Iterator[dict[str, Any]]:
    for panel in dashboard()["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries() -> dict[str, str]:
    """'panel title / refId' -> expression, plus the template variables' queries."""
    queries = {f"{p['title']} / {t['refId']}": t["expr"] for p in panels() for t in p.get("targets", [])}
    for variable in dashboard()["templating"]["list"]:
        # Grafana's label_values(metric, label) is PromQL's group by (label) (metric).
        match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["definition"])
        assert match, f"unsupported variable query {variable['definition']!r}"
        queries[f"variable {variable['name']}"] = f"group by ({match[2]}) ({match[1]})"
    return queries


def rule_queries() -> dict[str, str]:
    return {
        rule.get("record") or rule["alert"]: rule["expr"]
        for group in load_yaml(RULES)["groups"]
        for rule in group["rules"]
    }


def recorded_names() -> set[str]:
    return {rule["record"] for group in load_yaml(RULES)["groups"] for rule in group["rules"] if "record" in rule}


def unknown_references(queries: dict[str, str], series: dict[str, set[str]]) -> list[str]:
    """What the queries name that `series` (sample name -> labels) does not have: metrics, then labels."""
    problems = []
    for where, expr in queries.items():
        names = metric_names(expr)
        problems += [f"{where}: metric {n}" for n in sorted(names - series.keys())]
        for name, labels in selector_labels(expr).items():
            problems += [f"{where}: label {name}{{{label}}}" for label in sorted(labels - series.get(name, labels))]
        available = set().union(*(series.get(n, set()) for n in names)) if names else set()
        problems += [f"{where}: by ({label})" for label in sorted(grouping_labels(expr) - available)]
    return problems
