"""The two stages without HTTP: inference in the model's thread, encoding in the pool, each holding the other's
promises (a slow encoder does not stall inference, failures and cancellations stay with their own request, the
encode queue is bounded). Engines and encoders are held by the test, time is a ManualClock: nothing sleeps."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

import numpy as np
import pytest

from service.batcher import Batcher
from service.errors import DeadlineExceeded, InferenceFailed, Overloaded
from service.metrics import Metrics
from service.pipeline import EncodePool, split
from tests.service.test_batcher import Engine, counter, rows, until
from tests.support.clock import ManualClock


class Encoder:
    """finish(): doubles each row's value, in an encoder thread; the rows of value `hold` wait for `release()`,
    rows of value `fail` raise. Records every row it encoded and the threads it ran on."""

    def __init__(self, hold: float | None = None, fail: float | None = None) -> None:
        self.hold, self.fail = hold, fail
        self.encoded: list[float] = []
        self.threads: set[str] = set()
        self._gate = threading.Event()

    def __call__(self, out: np.ndarray, start: int) -> list[float]:
        self.threads.add(threading.current_thread().name)
        values = [float(r[0]) for r in out]
        if self.hold in values:
            assert self._gate.wait(10), "test never released the encoder"
        if self.fail in values:
            raise ValueError("encoder bug")
        self.encoded += values
        return [v * 10 for v in values]

    def release(self) -> None:
        self._gate.set()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(latency_buckets=(0.01, 1.0), batch_buckets=(1, 4, 8))


@pytest.fixture
async def make(metrics: Metrics) -> AsyncIterator[Callable[..., Batcher]]:
    made: list[Batcher] = []
    pools: list[EncodePool] = []

    async def build(
        engine: Engine, workers: int = 1, encode_capacity: int = 64, inline_values: int = 0, **kw: object
    ) -> Batcher:
        clock = ManualClock()
        pool = EncodePool(workers, encode_capacity, inline_values=inline_values)
        pools.append(pool)
        options: dict[str, object] = {
            "max_batch_size": 4,
            "max_queue_delay_s": 0.0,
            "capacity": 16,
            "metrics": metrics.for_model("m"),
            "clock": clock,
            "timer": clock.call_later,
            "encoders": pool,
        } | kw
        batcher = Batcher(engine, **options)  # type: ignore[arg-type]
        await batcher.start()
        made.append(batcher)
        return batcher

    yield build
    for batcher in made:
        await batcher.stop()
    for pool in pools:
        await pool.stop()


async def test_a_slow_encoder_does_not_stall_inference(make: Callable[..., Batcher]) -> None:
    engine, encoder = Engine(fn=lambda feeds: feeds["x"]), Encoder(hold=1.0)
    batcher = await make(engine)
    slow = asyncio.ensure_future(batcher.run(rows(1), encoder))
    await until(lambda: engine.sizes == [1])
    later = [asyncio.ensure_future(batcher.run(rows(v), encoder)) for v in (2, 3)]
    await until(lambda: sum(engine.sizes) == 3, msg=lambda: engine.sizes)  # inference went on meanwhile
    assert not slow.done() and encoder.encoded == []  # the one encoder thread is still held on the first request
    encoder.release()
    assert [await t for t in (slow, *later)] == [[10.0], [20.0], [30.0]]
    assert {name.split("_")[0] for name in encoder.threads} == {"gs-encode"}  # never the inference thread


async def test_a_failing_encoder_fails_only_its_request(make: Callable[..., Batcher], metrics: Metrics) -> None:
    engine, encoder = Engine(fn=lambda feeds: feeds["x"], held=True), Encoder(fail=2.0)
    batcher = await make(engine)
    first = asyncio.ensure_future(batcher.run(rows(0), encoder))
    await until(lambda: engine.sizes == [1])
    good1, bad, good2 = (asyncio.ensure_future(batcher.run(rows(*v), encoder)) for v in ((1,), (2, 5), (3,)))
    await until(lambda: batcher.queued_items == 4)
    engine.release()
    with pytest.raises(InferenceFailed, match="encoding the answer failed: ValueError: encoder bug"):
        await bad
    assert [await g for g in (first, good1, good2)] == [[0.0], [10.0], [30.0]]
    assert engine.sizes == [1, 4]  # they shared a batch; only the encoding of one failed
    assert counter(metrics, "failed") == 1


async def test_a_request_abandoned_between_the_stages_is_never_encoded(
    make: Callable[..., Batcher], metrics: Metrics
) -> None:
    engine, encoder = Engine(fn=lambda feeds: feeds["x"]), Encoder(hold=1.0)
    batcher = await make(engine)
    blocker = asyncio.ensure_future(batcher.run(rows(1), encoder))  # holds the only encoder thread
    await until(lambda: engine.sizes == [1])
    gone = asyncio.ensure_future(batcher.run(rows(7, 8), encoder))
    await until(lambda: engine.sizes == [1, 2])  # inference done: its rows wait for the encoder
    gone.cancel()  # the client disconnects
    with pytest.raises(asyncio.CancelledError):
        await gone
    encoder.release()
    assert await blocker == [10.0]
    assert await batcher.run(rows(4), encoder) == [40.0]
    assert encoder.encoded == [1.0, 4.0]  # 7 and 8 were dropped, not encoded
    assert counter(metrics, "cancelled") == 1


async def test_the_deadline_covers_the_encode_stage(make: Callable[..., Batcher], metrics: Metrics) -> None:
    engine, encoder = Engine(fn=lambda feeds: feeds["x"]), Encoder(hold=1.0)
    clock = ManualClock()
    batcher = await make(engine, clock=clock, timer=clock.call_later)
    blocker = asyncio.ensure_future(batcher.run(rows(1), encoder))
    await until(lambda: engine.sizes == [1])
    late = asyncio.ensure_future(batcher.run(rows(5), encoder, timeout=0.05))
    await until(lambda: engine.sizes == [1, 1])
    clock.advance(0.05)
    with pytest.raises(DeadlineExceeded, match="50 ms deadline"):
        await late
    encoder.release()
    await blocker
    await batcher.run(rows(6), encoder)
    assert encoder.encoded == [1.0, 6.0] and counter(metrics, "expired") == 1


async def test_the_encode_queue_is_bounded_so_memory_stays_flat(make: Callable[..., Batcher]) -> None:
    """With encoding held, the batcher takes a batch only while the whole of it fits in the encode capacity; then
    it stops taking batches, its own queue fills, and the next request is refused at once: nothing piles up."""
    engine, encoder = Engine(fn=lambda feeds: feeds["x"]), Encoder(hold=0.0)
    batcher = await make(engine, encode_capacity=8, capacity=8)  # batches of 4
    waiting = [asyncio.ensure_future(batcher.run(rows(0), encoder))]
    await until(lambda: engine.sizes == [1])
    waiting += [asyncio.ensure_future(batcher.run(rows(float(i)), encoder)) for i in range(1, 9)]
    await until(lambda: engine.sizes == [1, 4] and batcher.queued_items == 4)
    waiting += [asyncio.ensure_future(batcher.run(rows(float(i)), encoder)) for i in range(9, 13)]
    await until(lambda: batcher.queued_items == 8, msg=lambda: (engine.sizes, batcher.queued_items))
    assert engine.sizes == [1, 4]  # 5 rows wait for the encoder; 4 more would not fit in 8
    await asyncio.sleep(0.05)  # a real pause: nothing more may run however long encoding stays held
    assert engine.sizes == [1, 4] and batcher.queued_items == 8
    with pytest.raises(Overloaded):
        await batcher.run(rows(99), encoder)
    encoder.release()
    assert [(await w)[0] for w in waiting] == [10.0 * i for i in range(13)]


async def test_complete_assembles_whole_and_split_requests_in_the_encode_stage(make: Callable[..., Batcher]) -> None:
    engine, encoder = Engine(fn=lambda feeds: feeds["x"]), Encoder()
    threads: list[str] = []

    def total(results: list[float]) -> float:
        threads.append(threading.current_thread().name)
        return sum(results)

    batcher = await make(engine, workers=2)
    assert await batcher.run(rows(1, 2), encoder, complete=total) == 30.0  # one part: finish and complete together
    assert await batcher.run(rows(*range(10)), encoder, complete=total) == 450.0  # split over 3 batches
    assert engine.sizes == [2, 4, 4, 2] and all(t.startswith("gs-encode") for t in threads)


async def test_finish_sees_each_slice_with_its_offset_in_the_request(make: Callable[..., Batcher]) -> None:
    engine, starts = Engine(fn=lambda feeds: feeds["x"]), []

    def finish(rows: np.ndarray, start: int) -> list[float]:
        starts.append(start)
        return [float(r[0]) + start for r in rows]

    batcher = await make(engine, max_batch_size=2)
    assert await batcher.run(rows(1, 2, 3, 4, 5), finish) == [1.0, 2.0, 5.0, 6.0, 9.0]  # each row + its slice start
    assert engine.sizes == [2, 2, 1] and starts == [0, 2, 4]


def test_a_batch_is_split_into_one_job_per_encoder_thread() -> None:
    items = [(type("P", (), {"size": n})(), None) for n in (1, 1, 1, 1, 4)]
    assert [[p.size for p, _ in c] for c in split(items, 2)] == [[1, 1, 1, 1], [4]]  # type: ignore[arg-type]
    assert [[p.size for p, _ in c] for c in split(items, 8)] == [[1, 1], [1, 1], [4]]  # type: ignore[arg-type]
    assert len(split(items, 1)) == 1  # type: ignore[arg-type]


async def test_a_small_hand_over_to_idle_encoders_is_encoded_on_the_loop(make: Callable[..., Batcher]) -> None:
    """A lone small request skips the two thread hops; a larger one, or one behind busy encoders, does not."""
    encoder, engine = Encoder(hold=18.0), Engine()  # the engine doubles: row 9 reaches the encoder as 18
    batcher = await make(engine, inline_values=2)
    assert await batcher.run(rows(1, 2), finish=encoder) == [20.0, 40.0]
    assert encoder.threads == {threading.current_thread().name}  # the event loop's thread
    assert await batcher.run(rows(1, 2, 3), finish=encoder) == [20.0, 40.0, 60.0]  # 3 values > 2: the pool
    busy = asyncio.ensure_future(batcher.run(rows(9, 8, 7), finish=encoder))  # held inside an encoder thread
    await until(lambda: batcher._stage.pool.rows == 3)
    small = asyncio.ensure_future(batcher.run(rows(4), finish=encoder))
    await until(lambda: small.done() or len(engine.batches) == 4)
    assert not small.done()  # the encoders are busy: it queues behind them instead of running on the loop
    encoder.release()
    assert await busy == [180.0, 160.0, 140.0] and await small == [80.0]
    assert len(encoder.threads) == 2  # the loop once, then the pool's thread
