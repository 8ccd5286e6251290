"""Read one histogram back from the service's /metrics text, and the change between two scrapes.

The benchmark scrapes before and after each load point, so the batch-size distribution it reports belongs to that
point alone (warm-up batches and earlier points are subtracted out).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Histogram:
    buckets: dict[float, float]  # cumulative count per upper bound (le), +Inf included
    count: float
    sum: float

    def __sub__(self, other: Histogram) -> Histogram:
        return Histogram(
            buckets={le: n - other.buckets.get(le, 0.0) for le, n in self.buckets.items()},
            count=self.count - other.count,
            sum=self.sum - other.sum,
        )

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def per_bucket(self) -> dict[str, int]:
        """Non-cumulative counts keyed by the bucket's upper bound, e.g. {"1": 10, "2": 0, ..., "+Inf": 0}."""
        out: dict[str, int] = {}
        below = 0.0
        for le in sorted(self.buckets):
            key = "+Inf" if math.isinf(le) else f"{le:g}"
            out[key] = round(self.buckets[le] - below)
            below = self.buckets[le]
        return out


def read_histogram(text: str, name: str, labels: dict[str, str]) -> Histogram:
    """Sum the series of histogram `name` whose labels include `labels` (e.g. across worker processes)."""
    buckets: dict[float, float] = {}
    count = total = 0.0
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None or not m["name"].startswith(name):
            continue
        have = dict(_LABEL.findall(m["labels"] or ""))
        if any(have.get(k) != v for k, v in labels.items()):
            continue
        value = float(m["value"])
        suffix = m["name"][len(name) :]
        if suffix == "_bucket":
            le = float(have["le"].replace("+Inf", "inf"))
            buckets[le] = buckets.get(le, 0.0) + value
        elif suffix == "_count":
            count += value
        elif suffix == "_sum":
            total += value
    return Histogram(buckets=buckets, count=count, sum=total)
