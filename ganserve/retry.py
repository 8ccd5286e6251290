"""When and how long the client waits before trying a refused request again.

The server refuses work at once with 503 (or 429) and a `Retry-After` header when its queue is full.
Generation has no side effects, so trying again is always safe; the only question is how long to wait.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Retry:
    """Retry settings. `Retry(attempts=1)` turns retries off."""

    attempts: int = 4  # tries in all, the first one included
    backoff: float = 0.25  # seconds before the 2nd try when the server sends no Retry-After; doubles per try
    max_wait: float = 30.0  # cap on any single wait, Retry-After included
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 503}))

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"Retry.attempts must be >= 1 (1 means no retries), got {self.attempts}")
        if self.backoff < 0 or self.max_wait < 0:
            raise ValueError("Retry.backoff and Retry.max_wait must be >= 0")

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed try number `attempt` (0-based).

        The server's Retry-After wins when present; otherwise exponential back-off with jitter
        (between half and all of `backoff * 2**attempt`), so clients refused together do not return together.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        ceiling = self.backoff * 2.0**attempt
        return min(ceiling * random.uniform(0.5, 1.0), self.max_wait)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (delay in seconds, or an HTTP date) as seconds from now; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)
