"""Which metrics and labels a PromQL expression (as written in the dashboard and rules) refers to.

A lexical reading, not a parser: strings, range selectors and Grafana variables are blanked, then every bare
identifier that is not a function, an aggregation or a keyword is a metric name. Unknown functions raise, so a
typo cannot hide as a "metric" nobody checks.
"""

from __future__ import annotations

import re

FUNCTIONS = frozenset(
    {
        "sum",
        "avg",
        "min",
        "max",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "histogram_quantile",
        "clamp_min",
        "clamp_max",
        "abs",
        "vector",
        "scalar",
        "time",
        "label_replace",
        "label_join",
        "sort",
        "sort_desc",
        "avg_over_time",
        "max_over_time",
        "min_over_time",
        "sum_over_time",
        "absent",
        "round",
        "ceil",
        "floor",
    }
)
KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
)
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_SELECTOR = re.compile(r"(?<![\w:])([A-Za-z_:][\w:]*)\s*\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")
_IDENT = re.compile(r"(?<![\w.:$])([A-Za-z_:][\w:]*)")


def metric_names(expr: str) -> set[str]:
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\$\w+", " ", text)
    names = set()
    for match in _IDENT.finditer(text):
        name = match.group(1)
        follows_paren = text[match.end() :].lstrip().startswith("(")
        if name in KEYWORDS:
            continue
        if follows_paren:
            if name not in FUNCTIONS:
                raise ValueError(f"unknown PromQL function {name!r} in {expr!r}")
            continue
        names.add(name)
    return names


def selector_labels(expr: str) -> dict[str, set[str]]:
    """metric name -> label names its `{...}` matchers use."""
    text = _STRING.sub('""', expr)
    found: dict[str, set[str]] = {}
    for match in _SELECTOR.finditer(text):
        found.setdefault(match.group(1), set()).update(_MATCHER_LABEL.findall(match.group(2)))
    return found


def grouping_labels(expr: str) -> set[str]:
    """Label names in `by (...)`, `without (...)`, `on (...)`, `ignoring (...)`."""
    return {label.strip() for group in _GROUPING.findall(expr) for label in group.split(",") if label.strip()}
