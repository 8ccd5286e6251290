"""How long a refused client should wait: the `Retry-After` of a full queue, from its depth and recent throughput.

    estimate = RetryAfter(low_s=1, high_s=30)
    estimate.completed(items=64, busy_s=0.02)   # the batcher reports every finished batch
    estimate.seconds(queued=1024)               # -> 1 or 2 on a fast CPU model, up to 30 on a slow one

The formula (documented in docs/performance.md, "Adaptive Retry-After"):

    rate   = items per second of engine time: sum(items) / sum(busy_s) over recent batches, each batch's weight
             decaying as exp(-age / TAU_S); idle time does not count, so a pause does not make the engine look slow
    drain  = queued / rate               seconds the queue needs to empty (low_s while no batch has finished)
    wait   = max(drain, low_s) * (1 + JITTER * u)            u ~ U[0, 1): spread clients over half a drain time more
    header = clamp(floor(wait + v), low_s, high_s)           v ~ U[0, 1): stochastic rounding to whole seconds

A client that waits `drain` finds room again; the jitter spreads the refused clients over the next half drain so
that they do not come back in step, and stochastic rounding keeps a spread when drain is under a second (1 or 2,
not always 1). The clock and the random source are injectable so tests need no sleeps.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

TAU_S = 2.0  # time constant of the throughput average: follows a change of load within a few seconds
JITTER = 0.5


class RetryAfter:
    def __init__(
        self,
        *,
        low_s: int = 1,
        high_s: int = 30,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not 1 <= low_s <= high_s:
            raise ValueError(f"need 1 <= low_s <= high_s, got {low_s} and {high_s}")
        self.low_s, self.high_s = low_s, high_s
        self.clock, self.rng = clock, rng
        self._items = 0.0  # decayed sums over finished batches
        self._busy_s = 0.0
        self._last = 0.0  # when the sums were last decayed

    def completed(self, items: int, busy_s: float) -> None:
        """Record a batch of `items` that kept the engine busy `busy_s` seconds (inference and encoding)."""
        now = self.clock()
        decay = math.exp(-(now - self._last) / TAU_S)
        self._items = self._items * decay + items
        self._busy_s = self._busy_s * decay + busy_s
        self._last = now

    def rate(self) -> float:
        """Items per second the engine finishes while busy; 0.0 until a batch has finished."""
        return self._items / self._busy_s if self._busy_s > 0 else 0.0

    def seconds(self, queued: int) -> int:
        """The Retry-After value for a refusal while `queued` items wait."""
        rate = self.rate()
        drain = queued / rate if rate > 0 else self.low_s
        wait = max(drain, self.low_s) * (1 + JITTER * self.rng())
        return min(max(math.floor(wait + self.rng()), self.low_s), self.high_s)
