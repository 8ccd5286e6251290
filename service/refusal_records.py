"""What the early refusal layer (service/shedding.py) remembers of its refusals: per connection, until when it
was asked to wait (to hold clients that come back early), and a count per model for one log line now and then."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable

from service.logs import log_event

log = logging.getLogger("ganserve.shedding")
Connection = tuple[str, int] | None  # ASGI's scope["client"]


class RetryWindows:
    """Per connection, until when its last refusal asked it to wait (monotonic seconds). Bounded: entries leave
    once their time has passed (checked oldest first on every refusal), and past `limit` the oldest go."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, limit: int = 65_536) -> None:
        self.clock, self.limit = clock, limit
        self._until: dict[Connection, tuple[float, int]] = {}  # until when, and the room its refusal found

    def early_by(self, connection: Connection) -> float:
        """Seconds until `connection` was asked to come back (0.0 if it was not, or that time has passed)."""
        entry = self._until.get(connection)
        return 0.0 if entry is None else max(0.0, entry[0] - self.clock())

    def room_then(self, connection: Connection) -> int:
        """The queue's room when the regular path refused `connection` (-1: refused here, for a full queue)."""
        entry = self._until.get(connection)
        return -1 if entry is None else entry[1]

    def refused(self, connection: Connection, retry_after_s: float, room: int = -1) -> None:
        now = self.clock()
        self._until.pop(connection, None)  # re-inserted last: the dict stays (roughly) in order of expiry
        self._until[connection] = (now + retry_after_s, room)
        excess = len(self._until) - self.limit
        stale: list[Connection] = []
        for key, (until, _) in itertools.islice(self._until.items(), max(8, excess)):
            if until > now and len(stale) >= excess:
                break
            stale.append(key)
        for key in stale:
            del self._until[key]

    def __len__(self) -> int:
        return len(self._until)


class RefusalSummary:
    """One log line per model at most every PERIOD_S, with the refusals since the last one, instead of an access
    line per refusal: during a storm those lines would cost more CPU than the refusals themselves."""

    PERIOD_S = 10.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._counts: dict[str, int] = {}
        self._last: dict[str, float] = {}

    def refused(self, model: str, retry_after_s: float) -> None:
        self._counts[model] = self._counts.get(model, 0) + 1
        now = self.clock()
        if now - self._last.get(model, -self.PERIOD_S) >= self.PERIOD_S:
            log_event(log, logging.WARNING, "queue full: refusing early", model=model,
                      refused=self._counts.pop(model), retry_after_s=retry_after_s)  # fmt: skip
            self._last[model] = now
