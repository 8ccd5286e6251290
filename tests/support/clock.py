"""A manual clock and timer for code that takes both seams (`Batcher(clock=c, timer=c.call_later)`).

    clock = ManualClock()
    clock.advance(0.5)      # time moves only when the test says; callbacks now due run, in order
    clock.pending           # timers armed and not yet fired or cancelled

Callbacks run inside `advance`, on the caller's thread (the event loop's, in async tests).
"""

from __future__ import annotations

from collections.abc import Callable


class Handle:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self._timers: list[Handle] = []

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle:
        handle = Handle(self.now + delay, callback)
        self._timers.append(handle)
        return handle

    @property
    def pending(self) -> int:
        return sum(1 for h in self._timers if not h.cancelled)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while due := sorted((h for h in self._timers if not h.cancelled and h.when <= self.now), key=lambda h: h.when):
            handle = due[0]
            self._timers.remove(handle)
            handle.callback()
        self._timers = [h for h in self._timers if not h.cancelled]
