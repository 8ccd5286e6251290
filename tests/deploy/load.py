"""Steady closed-loop load through the balancer: `concurrency` clients, each sending its next request as soon as
the previous one is answered, until stopped (or `max_requests`, a safety bound). Every outcome is kept.

    async with Load(lb.url + "/v1/models/gen/generate", concurrency=8) as load:
        ...                                  # signal replicas meanwhile
    load.failures()                          # requests without a 200, with what they got instead
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import httpx


@dataclass(frozen=True)
class Outcome:
    started: float  # time.monotonic()
    status: int | None  # None: no HTTP answer at all
    detail: str  # response body or exception, for failures


class Load:
    def __init__(self, url: str, *, concurrency: int = 8, images: int = 2, max_requests: int = 50_000) -> None:
        self.url = url
        self.concurrency = concurrency
        self.images = images
        self.max_requests = max_requests
        self.outcomes: list[Outcome] = []
        self._stop = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(max_connections=concurrency))
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Self:
        self._tasks = [asyncio.create_task(self._client_loop(i)) for i in range(self.concurrency)]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        await self._client.aclose()

    async def _client_loop(self, worker: int) -> None:
        seed = worker * 1_000_000
        while not self._stop.is_set() and len(self.outcomes) < self.max_requests:
            started = time.monotonic()
            try:
                response = await self._client.post(self.url, json={"n": self.images, "seed": seed})
                ok = response.status_code == 200 and len(response.json()["images"]) == self.images
                self.outcomes.append(Outcome(started, response.status_code, "" if ok else response.text[:300]))
            except httpx.HTTPError as exc:
                self.outcomes.append(Outcome(started, None, repr(exc)))
            seed += self.images

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != 200 or o.detail]
