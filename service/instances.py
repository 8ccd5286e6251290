"""A model's instances as the batcher sees them: how many batches may run at once, and which are running.

slots = Instances(2, name="dcgan:1")
await slots.acquire()                       # wait for an idle instance
slots.start(batcher._execute(parts), parts)  # run the batch as a task; the instance is free when it ends
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from service.batch_queue import Part

log = logging.getLogger("ganserve.batcher")


class Instances:
    def __init__(self, count: int, name: str) -> None:
        if count < 1:
            raise ValueError("a model needs at least one instance")
        self.count = count
        self.name = name
        self._free = asyncio.Semaphore(count)
        self._running: dict[asyncio.Task[None], list[Part]] = {}

    @property
    def busy(self) -> int:
        return len(self._running)

    @property
    def idle(self) -> int:
        return self.count - len(self._running)

    def parts(self) -> list[Part]:
        """Every part of every running batch."""
        return [part for parts in self._running.values() for part in parts]

    async def acquire(self) -> None:
        await self._free.acquire()

    def release(self) -> None:
        """Give back an instance acquired for a batch that turned out empty."""
        self._free.release()

    def start(self, batch: Coroutine[Any, Any, None], parts: list[Part]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(batch)
        self._running[task] = parts
        task.add_done_callback(self._finished)
        return task

    async def cancel(self) -> None:
        """Cancel every running batch and wait for each to end."""
        for task in list(self._running):
            task.cancel()
            await asyncio.wait([task])

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._free.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("batcher %s: unexpected error in a batch", self.name, exc_info=task.exception())
