"""The adaptive Retry-After on its own: an injected clock and random source, no sleeps."""

from __future__ import annotations

import asyncio
import random
import threading

import numpy as np
import pytest

from service.batcher import Batcher
from service.errors import Overloaded
from service.retry_after import JITTER, RetryAfter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def engine_at(rate: float, *, clock: Clock, rng: float = 0.0, low_s: int = 1, high_s: int = 30) -> RetryAfter:
    """An estimate that has seen ten 64-item batches at `rate` items per busy second."""
    estimate = RetryAfter(low_s=low_s, high_s=high_s, clock=clock, rng=lambda: rng)
    for _ in range(10):
        clock.now += 64 / rate
        estimate.completed(64, 64 / rate)
    return estimate


def test_the_rate_is_items_per_busy_second_and_idle_time_does_not_lower_it() -> None:
    clock = Clock()
    estimate = engine_at(100.0, clock=clock)
    assert estimate.rate() == pytest.approx(100.0)
    clock.now += 60.0  # a quiet minute: the engine is not slower for it
    estimate.completed(10, 0.1)
    assert estimate.rate() == pytest.approx(100.0)


def test_recent_batches_outweigh_old_ones() -> None:
    clock = Clock()
    estimate = engine_at(100.0, clock=clock)
    for _ in range(20):  # the engine became ten times slower (a neighbour took the cores) for ~13 s
        clock.now += 0.64
        estimate.completed(64, 6.4)
    assert estimate.rate() == pytest.approx(10.0, rel=0.05)


def test_retry_after_grows_with_the_queue_and_stays_within_its_bounds() -> None:
    clock = Clock()
    estimate = engine_at(100.0, clock=clock)  # 100 items/s: a queue of q items drains in q/100 s
    values = [estimate.seconds(q) for q in (0, 50, 250, 550, 1050, 2050, 5000, 100_000)]
    assert values == sorted(values)
    assert values == [1, 1, 2, 5, 10, 20, 30, 30]  # u = v = 0: floor(drain), at least 1, at most 30
    assert all(1 <= estimate.seconds(q) <= 30 for q in range(0, 10_000, 37))


@pytest.mark.parametrize("u", [0.0, 0.25, 0.5, 0.999])
def test_jitter_spreads_clients_over_half_a_drain_time(u: float) -> None:
    clock = Clock()
    estimate = engine_at(100.0, clock=clock, rng=u)
    drain = 1050 / 100  # seconds
    assert estimate.seconds(1050) == int(drain * (1 + JITTER * u) + u)


def test_clients_refused_together_do_not_all_come_back_together() -> None:
    clock = Clock()
    rng = random.Random(0)
    estimate = RetryAfter(clock=clock, rng=rng.random)
    for _ in range(10):
        clock.now += 0.02
        estimate.completed(64, 0.02)  # a fast engine: the queue drains in well under a second
    values = [estimate.seconds(64) for _ in range(1000)]
    assert set(values) == {1, 2}  # not everyone at 1 s, even when the queue empties at once
    assert 0.15 < values.count(2) / len(values) < 0.35  # P(0.5u + v >= 1) = 1/4


def test_the_configured_bounds_hold() -> None:
    clock = Clock()
    slow = engine_at(1.0, clock=clock, rng=0.999, low_s=2, high_s=5)
    assert slow.seconds(1_000_000) == 5
    fast = engine_at(1e6, clock=clock, rng=0.0, low_s=2, high_s=5)
    assert fast.seconds(1) == 2


def test_before_any_batch_finished_the_lower_bound_is_used() -> None:
    estimate = RetryAfter(clock=Clock(), rng=lambda: 0.0)
    assert estimate.rate() == 0.0 and estimate.seconds(1024) == 1


def test_inconsistent_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="low_s <= high_s"):
        RetryAfter(low_s=10, high_s=5)
    with pytest.raises(ValueError):
        RetryAfter(low_s=0)


async def test_the_batcher_reports_its_batches_and_its_refusals_carry_the_estimate() -> None:
    clock, gate, entered = Clock(), threading.Event(), threading.Event()

    def engine(feeds: dict[str, np.ndarray]) -> np.ndarray:
        entered.set()
        assert gate.wait(10), "the test never released the engine"
        clock.now += 0.5 * len(feeds["x"])  # 2 items per second of engine time
        return feeds["x"]

    batcher = Batcher(engine, max_batch_size=2, max_queue_delay_s=0.0, capacity=8, clock=clock,
                      retry_after=RetryAfter(clock=clock, rng=lambda: 0.0))  # fmt: skip
    await batcher.start()
    try:
        gate.set()
        await batcher.run({"x": np.zeros((2, 1), np.float32)})
        assert batcher.retry_after.rate() == pytest.approx(2.0)
        gate.clear()
        entered.clear()
        first = asyncio.ensure_future(batcher.run({"x": np.zeros((2, 1), np.float32)}))  # runs, held
        assert await asyncio.to_thread(entered.wait, 10)
        queued = asyncio.ensure_future(batcher.run({"x": np.zeros((7, 1), np.float32)}))
        async with asyncio.timeout(10):
            while batcher.queued_items < 7:
                await asyncio.sleep(0.001)
        with pytest.raises(Overloaded) as refused:
            batcher.ensure_room(2)  # 7 queued at 2 items/s: the queue drains in 3.5 s
        assert refused.value.retry_after_s == 3
        gate.set()
        await asyncio.gather(first, queued)
    finally:
        gate.set()
        await batcher.stop()
