"""bench.sweep.accepted_quantile: the latency of accepted requests when fast refusals share wrk's histogram."""

from __future__ import annotations

import pytest

from bench.sweep import accepted_quantile


def test_without_refusals_it_is_the_plain_percentile() -> None:
    permille = list(range(1001))  # latency (us) equal to the permille rank
    assert accepted_quantile(permille, 0.0, 0.99) == pytest.approx(990)
    assert accepted_quantile(permille, 0.0, 0.5) == pytest.approx(500)


def test_refusals_at_the_bottom_are_skipped() -> None:
    # 40% of answers are instant refusals (1 us); accepted requests take 1000 + rank us
    permille = [1 if i < 400 else 1000 + i for i in range(1001)]
    # the accepted median is the overall 70th percentile, the accepted p99 the overall 99.4th
    assert accepted_quantile(permille, 0.4, 0.5) == pytest.approx(1700)
    assert accepted_quantile(permille, 0.4, 0.99) == pytest.approx(1994)
    assert accepted_quantile(permille, 1.0, 0.99) == 2000  # everything refused: the top, never out of range


def test_quantiles_near_the_top_stay_monotone() -> None:
    # 99.9% refused: the accepted requests' quantiles all fall between the last two permille points
    permille = [1] * 1000 + [5000]
    values = [accepted_quantile(permille, 0.999, q) for q in (0.5, 0.95, 0.99)]
    assert values == sorted(values) and values[-1] <= 5000
