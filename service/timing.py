"""The two time seams that code with waits takes, so that tests drive time instead of sleeping.

    clock: Clock = time.monotonic               # now, in seconds
    timer: Timer = loop_timer                   # timer(0.002, wake): call wake on the event loop in 2 ms
    handle = timer(0.002, wake); handle.cancel()

Tests pass a `tests.support.clock.ManualClock` as both (`clock=c, timer=c.call_later`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

Clock = Callable[[], float]


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Timer(Protocol):
    """Call `callback` on the event loop after `delay` seconds, unless cancelled first (`loop.call_later`)."""

    def __call__(self, delay: float, callback: Callable[[], None], /) -> Cancellable: ...


def loop_timer(delay: float, callback: Callable[[], None]) -> Cancellable:
    return asyncio.get_running_loop().call_later(delay, callback)
