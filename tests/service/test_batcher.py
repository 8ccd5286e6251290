"""The dynamic batcher on its own: fake engines that the test holds busy, an injected clock and timer, no HTTP.

Time never passes by itself here: the queue delay and deadlines fire when a test advances the `ManualClock`.
Waiting happens only for the worker thread, through `until(condition)`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import numpy as np
import onnxruntime as ort
import pytest

from service.batcher import Batcher
from service.codecs import encode_png, to_uint8
from service.errors import DeadlineExceeded, Draining, InferenceFailed, Overloaded
from service.metrics import Metrics
from service.noise import seeded_noise
from tests.support.clock import ManualClock
from tests.support.models import dcgan_generator


class Engine:
    """Doubles its input; records every batch; can be held inside a batch until `release()`."""

    def __init__(self, fn: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None, held: bool = False):
        self.fn = fn or (lambda feeds: feeds["x"] * 2)
        self.batches: list[np.ndarray] = []
        self._gate = threading.Event()
        if not held:
            self._gate.set()

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        self.batches.append(feeds["x"].copy())
        assert self._gate.wait(10), "test never released the engine"
        return self.fn(feeds)

    def release(self) -> None:
        self._gate.set()

    @property
    def sizes(self) -> list[int]:
        return [len(b) for b in self.batches]


async def until(condition: Callable[[], bool], timeout: float = 5.0, msg: Callable[[], object] = str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.001)
    except TimeoutError:
        raise AssertionError(f"condition not met: {msg()}") from None


def rows(*values: float) -> dict[str, np.ndarray]:
    return {"x": np.array(values, dtype=np.float32).reshape(-1, 1)}


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(latency_buckets=(0.01, 1.0), batch_buckets=(1, 4, 8))


@pytest.fixture
async def make(metrics: Metrics) -> Iterator[Callable[..., Batcher]]:
    made: list[Batcher] = []

    async def build(engine: Engine, **kw: object) -> Batcher:
        clock = kw.pop("clock", None) or ManualClock()
        assert isinstance(clock, ManualClock)
        options: dict[str, object] = {
            "max_batch_size": 4,
            "max_queue_delay_s": 0.0,
            "capacity": 64,
            "metrics": metrics.for_model("m"),
            "clock": clock,
            "timer": clock.call_later,
        } | kw
        batcher = Batcher(engine, **options)  # type: ignore[arg-type]
        await batcher.start()
        made.append(batcher)
        return batcher

    yield build
    for batcher in made:
        await batcher.stop()


def counter(metrics: Metrics, reason: str) -> float:
    return metrics.registry.get_sample_value("ganserve_requests_rejected_total", {"model": "m", "reason": reason}) or 0


async def test_an_item_that_finds_the_engine_idle_runs_at_once(make: Callable[..., Batcher]) -> None:
    engine = Engine()
    batcher = await make(engine, max_queue_delay_s=1000.0)  # and the clock never moves
    assert [float(r[0]) for r in await batcher.run(rows(3.0))] == [6.0]
    assert engine.sizes == [1]


async def test_items_queued_behind_a_busy_engine_form_a_full_batch(make: Callable[..., Batcher]) -> None:
    clock, engine = ManualClock(), Engine(held=True)
    batcher = await make(engine, clock=clock, max_queue_delay_s=1000.0)
    first = asyncio.ensure_future(batcher.run(rows(0)))
    await until(lambda: engine.sizes == [1])
    waiting = [asyncio.ensure_future(batcher.run(rows(i))) for i in range(1, 6)]
    await until(lambda: batcher.queued_items == 5)
    engine.release()
    await until(lambda: engine.sizes == [1, 4], msg=lambda: engine.sizes)  # full: no waiting for the delay
    assert [float(x) for x in engine.batches[1].ravel()] == [1, 2, 3, 4]
    await until(lambda: clock.pending == 1)  # the 6th item waits for companions or the delay: a timer is armed
    assert engine.sizes == [1, 4] and batcher.queued_items == 1
    await batcher.stop()
    await first
    assert [float(r[0]) for w in waiting[:4] for r in await w] == [2, 4, 6, 8]
    with pytest.raises(Draining):
        await waiting[4]


async def test_a_partial_batch_runs_once_its_oldest_item_waited_max_queue_delay(make: Callable[..., Batcher]) -> None:
    clock, engine = ManualClock(), Engine(held=True)
    batcher = await make(engine, clock=clock, max_batch_size=8, max_queue_delay_s=10.0)
    first = asyncio.ensure_future(batcher.run(rows(0)))
    await until(lambda: engine.sizes == [1])
    b = asyncio.ensure_future(batcher.run(rows(1)))
    await until(lambda: batcher.queued_items == 1)
    clock.advance(4.0)
    c = asyncio.ensure_future(batcher.run(rows(2)))
    await until(lambda: batcher.queued_items == 2)
    engine.release()
    await first
    await until(lambda: clock.pending == 1)  # 2 of 8 items, oldest waited 4 s of 10: gathering until t = 10
    clock.advance(5.9)
    assert engine.sizes == [1] and batcher.queued_items == 2
    clock.advance(0.1)
    await until(lambda: engine.sizes == [1, 2])
    assert [float((await t)[0][0]) for t in (b, c)] == [2, 4]


async def test_a_request_larger_than_the_batch_limit_is_split_in_order(make: Callable[..., Batcher]) -> None:
    engine = Engine()
    batcher = await make(engine, max_batch_size=4)
    out = await batcher.run(rows(*range(10)))
    assert engine.sizes == [4, 4, 2]
    assert [float(r[0]) for r in out] == [2.0 * i for i in range(10)]


async def test_items_of_different_shapes_never_share_a_batch(make: Callable[..., Batcher]) -> None:
    engine = Engine(held=True)
    batcher = await make(engine, max_batch_size=8)
    first = asyncio.ensure_future(batcher.run(rows(0)))
    await until(lambda: engine.sizes == [1])
    wide = {"x": np.ones((2, 3), np.float32)}
    tasks = [
        asyncio.ensure_future(batcher.run(rows(1, 2))),
        asyncio.ensure_future(batcher.run(wide)),
        asyncio.ensure_future(batcher.run(rows(3))),
    ]
    await until(lambda: batcher.queued_items == 5)
    engine.release()
    await asyncio.gather(first, *tasks)
    assert [b.shape for b in engine.batches[1:]] == [(3, 1), (2, 3)]


async def test_a_full_queue_refuses_at_once(make: Callable[..., Batcher], metrics: Metrics) -> None:
    engine = Engine(held=True)
    batcher = await make(engine, capacity=4)
    first = asyncio.ensure_future(batcher.run(rows(0)))
    await until(lambda: engine.sizes == [1])
    queued = asyncio.ensure_future(batcher.run(rows(1, 2, 3)))
    await until(lambda: batcher.queued_items == 3)
    with pytest.raises(Overloaded):
        await batcher.run(rows(4, 5))  # 3 + 2 > 4 items
    assert counter(metrics, "queue_full") == 1
    with pytest.raises(Overloaded):
        batcher.ensure_room(2)  # what routes ask before preparing inputs: the same refusal, counted the same
    assert counter(metrics, "queue_full") == 2
    batcher.ensure_room(1)  # 3 + 1 fits
    assert batcher.queued_items == 3
    engine.release()
    await asyncio.gather(first, queued)
    assert len(await batcher.run(rows(1, 2, 3, 4))) == 4  # and it serves again once there is room


async def test_items_whose_deadline_passes_in_the_queue_never_run(
    make: Callable[..., Batcher], metrics: Metrics
) -> None:
    clock, engine = ManualClock(), Engine(held=True)
    batcher = await make(engine, clock=clock)
    first = asyncio.ensure_future(batcher.run(rows(0)))
    await until(lambda: engine.sizes == [1])
    late = asyncio.ensure_future(batcher.run(rows(1, 2), timeout=0.02))
    await until(lambda: batcher.queued_items == 2)
    clock.advance(0.019)
    assert not late.done()
    clock.advance(0.001)
    with pytest.raises(DeadlineExceeded, match="20 ms deadline"):
        await late
    assert batcher.queued_items == 0 and counter(metrics, "expired") == 1
    engine.release()
    await first
    assert len(await batcher.run(rows(7))) == 1
    assert engine.sizes == [1, 1]  # the expired rows were dropped, not run


async def test_cancelling_a_caller_drops_its_unstarted_items(make: Callable[..., Batcher], metrics: Metrics) -> None:
    engine = Engine(held=True)
    batcher = await make(engine)
    first = asyncio.ensure_future(batcher.run(rows(0)))
    await until(lambda: engine.sizes == [1])
    gone = asyncio.ensure_future(batcher.run(rows(1, 2, 3)))
    kept = asyncio.ensure_future(batcher.run(rows(4)))
    await until(lambda: batcher.queued_items == 4)
    gone.cancel()  # what a client disconnect does
    await until(lambda: batcher.queued_items == 1)
    engine.release()
    assert float((await kept)[0][0]) == 8.0
    await first
    assert engine.sizes == [1, 1] and counter(metrics, "cancelled") == 1


async def test_a_failing_request_fails_alone_and_the_batcher_keeps_serving(
    make: Callable[..., Batcher], metrics: Metrics
) -> None:
    def fragile(feeds: dict[str, np.ndarray]) -> np.ndarray:
        if (feeds["x"] < 0).any():
            raise RuntimeError("negative input breaks this model")
        return feeds["x"] * 2

    engine = Engine(fragile, held=True)
    batcher = await make(engine, max_batch_size=8)
    first = asyncio.ensure_future(batcher.run(rows(0)))
    await until(lambda: engine.sizes == [1])
    good1, bad, good2 = (asyncio.ensure_future(batcher.run(rows(*v))) for v in ((1,), (2, -1), (3,)))
    await until(lambda: batcher.queued_items == 4)
    engine.release()
    await first
    with pytest.raises(InferenceFailed, match="negative input"):
        await bad
    assert [float((await g)[0][0]) for g in (good1, good2)] == [2.0, 6.0]
    assert engine.sizes[:2] == [1, 4]  # they shared a batch, which was then retried request by request
    assert counter(metrics, "failed") == 1
    assert float((await batcher.run(rows(5)))[0][0]) == 10.0


async def test_a_wrong_row_count_fails_the_batch_clearly(make: Callable[..., Batcher]) -> None:
    batcher = await make(Engine(lambda feeds: feeds["x"][:-1]))
    with pytest.raises(InferenceFailed, match="returned 1 rows for a batch of 2"):
        await batcher.run(rows(1, 2))


async def test_a_failing_finish_fails_only_its_request(make: Callable[..., Batcher]) -> None:
    def broken(rows: np.ndarray, start: int) -> list[object]:
        raise ValueError("encoder bug")

    batcher = await make(Engine())
    with pytest.raises(InferenceFailed, match="encoding the answer failed: ValueError: encoder bug"):
        await batcher.run(rows(1), broken)
    assert len(await batcher.run(rows(1))) == 1


@pytest.fixture(scope="module")
def dcgan() -> ort.InferenceSession:
    return ort.InferenceSession(dcgan_generator().SerializeToString(), providers=["CPUExecutionProvider"])


async def test_a_seeded_request_gives_identical_pngs_alone_and_inside_a_full_batch(
    make: Callable[..., Batcher], dcgan: ort.InferenceSession
) -> None:
    """Noise depends only on (seed, i), and the engine's rows must not depend on batch size or position."""

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        out: np.ndarray = dcgan.run(None, {"z": feeds["x"]})[0]
        return out

    def pngs(out: np.ndarray, start: int) -> list[bytes]:
        return [encode_png(p) for p in to_uint8(out, (-1.0, 1.0))]

    def request(seeds: range) -> dict[str, np.ndarray]:
        return {"x": seeded_noise(seeds, 64)}

    alone = await (await make(Engine(run), max_batch_size=64)).run(request(range(5, 8)), pngs)
    engine = Engine(run, held=True)
    batcher = await make(engine, max_batch_size=64)
    blocker = asyncio.ensure_future(batcher.run(request(range(1, 2)), pngs))
    await until(lambda: engine.sizes == [1])
    crowd = [asyncio.ensure_future(batcher.run(request(range(100 + 3 * i, 103 + 3 * i)), pngs)) for i in range(10)]
    mine = asyncio.ensure_future(batcher.run(request(range(5, 8)), pngs))
    crowd += [asyncio.ensure_future(batcher.run(request(range(200 + i, 201 + i)), pngs)) for i in range(31)]
    await until(lambda: batcher.queued_items == 64)
    engine.release()
    await asyncio.gather(blocker, *crowd)
    assert engine.sizes == [1, 64]  # mine ran as rows 30..32 of a full batch
    assert await mine == alone


async def test_stop_fails_running_and_queued_requests_instead_of_leaving_them_waiting(
    make: Callable[..., Batcher],
) -> None:
    engine = Engine(held=True)
    batcher = await make(engine)
    running = asyncio.ensure_future(batcher.run(rows(0)))
    await until(lambda: engine.sizes == [1])
    queued = asyncio.ensure_future(batcher.run(rows(1)))
    await until(lambda: batcher.queued_items == 1)
    engine.release()  # stop() waits for the worker thread to finish its batch
    await batcher.stop()
    for task in (running, queued):
        with pytest.raises(Draining):
            await task
    with pytest.raises(Draining):
        await batcher.run(rows(2))
