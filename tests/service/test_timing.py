"""The time seams: the event loop's timer, and the manual clock the tests use in its place."""

from __future__ import annotations

import asyncio

from service.timing import loop_timer
from tests.support.clock import ManualClock


async def test_the_loop_timer_calls_back_on_the_loop_unless_cancelled() -> None:
    fired: list[str] = []
    loop_timer(0, lambda: fired.append("kept"))
    loop_timer(0, lambda: fired.append("cancelled")).cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert fired == ["kept"]


def test_the_manual_clock_fires_due_callbacks_in_order_when_advanced() -> None:
    clock, fired = ManualClock(), []
    clock.call_later(2.0, lambda: fired.append(2))
    clock.call_later(1.0, lambda: fired.append(1))
    clock.call_later(1.5, lambda: fired.append(0)).cancel()
    clock.advance(0.5)
    assert fired == [] and clock() == 0.5 and clock.pending == 2
    clock.advance(2.0)
    assert fired == [1, 2] and clock.pending == 0
