"""The early refusal layer in-process: the real app and tiny models, a held engine that keeps the queue full.

The same request is sent to an app with the layer and to one without it; both must answer byte for byte the
same (status, JSON body, headers) and count the same metrics. Retry-After comes from an injected random source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.batcher import Batcher
from service.refusal_records import RefusalSummary, RetryWindows
from service.retry_after import RetryAfter
from service.settings import Settings
from service.shedding import EarlyRefusal
from tests.service.test_api import samples
from tests.service.test_batcher import until
from tests.service.test_lifecycle import queued, wait_for
from tests.support.models import write_generator
from tests.support.server import Server

CAPACITY = 8
GEN = "/v1/models/gen/generate"
KEY = "k" * 16


@dataclass
class Held:
    """An app whose `gen` engine is held inside a batch, so that queued items stay queued."""

    app: FastAPI
    client: httpx.AsyncClient
    batcher: Batcher
    release: threading.Event
    pending: list[asyncio.Future[Any]]

    async def fill(self, items: int) -> None:
        """Queue `items` more rows behind the held batch."""
        request = self.batcher.submit({"z": np.zeros((items, 8), np.float32)})
        self.pending.append(request.future)

    async def metric(self, name: str, **labels: str) -> float:
        return samples((await self.client.get("/metrics")).text, name, **labels)


@asynccontextmanager
async def held_app(models_dir: Path, **settings: Any) -> AsyncIterator[Held]:
    settings.setdefault("refusal_hold_max_s", 0)  # holding is tested on its own, below
    app = create_app(
        Settings(
            models_dir=models_dir,
            queue_capacity=CAPACITY,
            max_images_per_request=CAPACITY,
            max_batch_size=1,
            **settings,
        )
    )
    async with app.router.lifespan_context(app):
        served = app.state.service.registry.get("gen")
        entered, release = threading.Event(), threading.Event()

        def held(feeds: dict[str, np.ndarray]) -> np.ndarray:
            entered.set()
            assert release.wait(20), "the test never released the engine"
            return served.runtime.run(feeds)

        # the model's batcher, rebuilt around the held engine (the lifespan stops whichever batcher is served)
        await served.batcher.stop()
        old = served.batcher
        served.batcher = batcher = Batcher(
            held, max_batch_size=old.max_batch_size, max_queue_delay_s=old.max_queue_delay_s, capacity=old.capacity,
            metrics=served.metrics, name=old.name, retry_after=RetryAfter(rng=lambda: 0.0))  # fmt: skip
        await batcher.start()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            state = Held(app, client, batcher, release, [])
            await state.fill(1)
            assert await asyncio.to_thread(entered.wait, 10)  # that item runs (held); the next ones queue
            try:
                yield state
            finally:
                release.set()
                await asyncio.gather(*state.pending, return_exceptions=True)


def uses_early_refusal(app: FastAPI) -> bool:
    return any(m.cls is EarlyRefusal for m in app.user_middleware)


@pytest.mark.parametrize("status", [503, 429])
async def test_the_early_refusal_answers_exactly_as_the_regular_path(models_dir: Path, status: int) -> None:
    answers, counted = [], []
    for early in (True, False):
        async with held_app(models_dir, early_refusal=early, overload_status=status) as held:
            assert uses_early_refusal(held.app) is early
            await held.fill(CAPACITY)
            assert held.batcher.full
            # the client's request ID is echoed by both (the request-id layer sits outside the early refusal)
            refused = await held.client.post(GEN, json={"n": 1}, headers={"X-Request-ID": "overload-test-1"})
            answers.append((refused.status_code, refused.content, sorted(refused.headers.items())))
            counted.append(
                (
                    await held.metric("ganserve_requests_rejected_total", model="gen", reason="queue_full"),
                    await held.metric(
                        "ganserve_request_duration_seconds_count", model="gen", endpoint="generate", status=str(status)
                    ),
                )
            )
    assert answers[0] == answers[1]
    code, body, headers = answers[0]
    assert code == status and dict(headers)["retry-after"] == "1"
    assert dict(headers)["content-type"] == "application/json"
    assert dict(headers)["x-request-id"] == "overload-test-1"
    assert b'"type": "queue_full"' in body and b"retry after the Retry-After delay" in body
    assert counted == [(1.0, 1.0), (1.0, 1.0)]


async def test_requests_that_fit_are_never_refused_early(models_dir: Path) -> None:
    async with held_app(models_dir) as held:
        await held.fill(CAPACITY - 1)  # one item of room
        assert not held.batcher.full
        fits = asyncio.ensure_future(held.client.post(GEN, json={"n": 1, "seed": 3}))
        for _ in range(1000):  # it is queued, not refused
            await asyncio.sleep(0.001)
            if held.batcher.full:
                break
        assert held.batcher.full and not fits.done()
        refused = await held.client.post(GEN, json={"n": 1})  # now nothing fits
        assert refused.status_code == 503
        held.release.set()
        answer = await fits
        assert answer.status_code == 200 and answer.json()["images"][0]["seed"] == 3


async def test_a_full_queue_refuses_any_size_and_any_endpoint_of_the_model(models_dir: Path) -> None:
    async with held_app(models_dir) as held:
        await held.fill(CAPACITY)
        for method, path, body in [
            ("POST", GEN, {"n": 1}),
            ("POST", GEN, b"not json at all"),
            ("POST", "/v1/models/gen/interpolate", {"steps": 2}),
            ("GET", "/v1/models/gen/images/7.png", None),
            ("POST", "/v2/models/gen/infer", {}),
            ("POST", "/v2/models/gen/versions/1/infer", {}),
        ]:
            kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
            answer = await held.client.request(method, path, **kwargs)
            assert answer.status_code == 503 and answer.json()["type"] == "queue_full", (path, answer.text)
        assert (await held.client.post("/v1/models/cgen/generate", json={"n": 1})).status_code == 200
        assert (await held.client.post("/v1/models/nope/generate", json={})).status_code == 404
        assert await held.metric("ganserve_requests_rejected_total", model="gen", reason="queue_full") == 6


async def test_it_steps_aside_where_the_regular_answer_differs(models_dir: Path) -> None:
    async with held_app(models_dir, api_key=KEY) as held:
        await held.fill(CAPACITY)
        stranger = await held.client.post(GEN, json={"n": 1})
        assert stranger.status_code == 401  # a stranger does not learn that the model is busy
        wrong_method = await held.client.get(GEN, headers={"X-API-Key": KEY})
        assert wrong_method.status_code in (404, 405)  # whatever routing says, not a queue_full
        refused = await held.client.post(GEN, json={"n": 1}, headers={"Authorization": f"Bearer {KEY}"})
        assert refused.status_code == 503 and refused.json()["type"] == "queue_full"
        held.app.state.service.lifecycle.draining = True
        draining = await held.client.post(GEN, json={"n": 1}, headers={"X-API-Key": KEY})
        assert draining.json()["type"] == "draining" and draining.headers["connection"] == "close"
        held.app.state.service.lifecycle.draining = False


# -- over real HTTP: a `ganserve serve` process, a slow model, raw keep-alive connections -----------------------


def test_over_http_a_refusal_leaves_its_unread_body_behind_and_the_connection_usable(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    # work=512: ~25 ms an image even on a quiet machine, so a batch of 8 keeps the queue full long enough to see
    write_generator(tmp_path / "models", "slow", slow=512)
    server = start_server(
        tmp_path / "models",
        env={
            "GANSERVE_MAX_BATCH_SIZE": "8",
            "GANSERVE_QUEUE_CAPACITY": "8",
            "GANSERVE_MAX_IMAGES_PER_REQUEST": "8",
            "GANSERVE_DRAIN_TIMEOUT_S": "0",
        },
    )
    slow = "/v1/models/slow/generate"
    # one request's 8 images run as one (slow) batch; the next request's 8 fill the queue until that ends. Two
    # requests that arrive together may both find the engine idle (one runs, the other is refused), so keep a
    # second sender going until the queue is seen full.
    busy: list[threading.Thread] = []

    def queue_full() -> bool:
        if sum(t.is_alive() for t in busy) < 3:  # one running, one queued, one ready to take its place
            busy.append(threading.Thread(target=_post_quietly, args=(server.url + slow, {"n": 8})))
            busy[-1].start()
        return queued(server) == 8

    host, port = server.url.removeprefix("http://").split(":")
    # not JSON, and larger than a socket buffer: the regular path would answer 413 or 400, and read it first
    body = b"x" * 300_000
    request = (b"POST " + slow.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
    for _ in range(5):  # the running batch may end between seeing the queue full and sending: then try again
        wait_for(queue_full)
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request)
            refused = _read_response(sock)
            sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection, next request
            live = _read_response(sock)
        if b'"type": "queue_full"' in refused:
            break
    assert refused.startswith(b"HTTP/1.1 503 "), refused[:200]
    assert b'"type": "queue_full"' in refused and b"\r\nretry-after: " in refused.lower()
    assert live.startswith(b"HTTP/1.1 200 "), live[:200]
    for thread in busy:
        thread.join(60)


def _post_quietly(url: str, body: dict[str, int]) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(url, json=body, timeout=60)


def _read_response(sock: socket.socket) -> bytes:
    """One HTTP/1.1 response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


# -- clients that ignore Retry-After ---------------------------------------------------------------------------


def test_retry_windows_remember_each_connection_until_its_retry_after_and_stay_bounded() -> None:
    now = [0.0]
    windows = RetryWindows(clock=lambda: now[0], limit=4)
    windows.refused(("10.0.0.1", 1), 2)
    assert windows.early_by(("10.0.0.1", 1)) == 2.0 and windows.early_by(("10.0.0.1", 2)) == 0.0
    now[0] = 1.5
    assert windows.early_by(("10.0.0.1", 1)) == 0.5
    now[0] = 3.0
    assert windows.early_by(("10.0.0.1", 1)) == 0.0
    for port in range(10):
        windows.refused(("10.0.0.2", port), 5)
    assert len(windows) == 4  # the expired entry and the oldest live ones left
    assert windows.early_by(("10.0.0.2", 9)) == 5.0 and windows.early_by(("10.0.0.2", 0)) == 0.0


async def test_a_connection_that_ignores_retry_after_is_held_then_served_if_room_appeared(models_dir: Path) -> None:
    async with held_app(models_dir, refusal_hold_max_s=1.0) as held:
        await held.fill(CAPACITY)
        first = await held.client.post(GEN, json={"n": 1, "seed": 5})
        assert first.status_code == 503 and first.headers["retry-after"] == "1"  # answered at once
        # the same connection (the in-process client always has the same address) comes straight back: it is
        # held for up to GANSERVE_REFUSAL_HOLD_MAX_S; meanwhile the held batch finishes and makes room
        again = asyncio.ensure_future(held.client.post(GEN, json={"n": 1, "seed": 5}))
        await asyncio.sleep(0.05)
        assert not again.done()  # neither refused nor (since the queue is full) queued
        held.release.set()
        answer = await again
        assert answer.status_code == 200 and answer.json()["images"][0]["seed"] == 5
        assert await held.metric("ganserve_requests_rejected_total", model="gen", reason="queue_full") == 1


async def test_a_held_connection_is_refused_if_the_queue_is_still_full(models_dir: Path) -> None:
    async with held_app(models_dir, refusal_hold_max_s=0.2) as held:
        await held.fill(CAPACITY)
        assert (await held.client.post(GEN, json={"n": 1})).status_code == 503
        started = asyncio.get_running_loop().time()
        again = await held.client.post(GEN, json={"n": 1})
        assert again.status_code == 503 and asyncio.get_running_loop().time() - started >= 0.2
        assert await held.metric("ganserve_requests_rejected_total", model="gen", reason="queue_full") == 2


async def test_back_early_after_a_regular_refusal_is_held_while_the_room_has_not_grown(models_dir: Path) -> None:
    """A queue with some room that fits nothing it is sent is not full, so the regular path refuses; the
    connection coming back before its Retry-After is held while the room is unchanged, then sent on to the
    regular path (which decides by the request's size): a smaller request that fits is served."""
    async with held_app(models_dir, refusal_hold_max_s=0.2) as held:
        await held.fill(CAPACITY - 2)  # room for 2
        first = await held.client.post(GEN, json={"n": 4})
        assert first.status_code == 503 and not held.batcher.full  # refused on the regular path
        started = asyncio.get_running_loop().time()
        again = await held.client.post(GEN, json={"n": 4})
        assert again.status_code == 503 and asyncio.get_running_loop().time() - started >= 0.2  # held first
        small = asyncio.ensure_future(held.client.post(GEN, json={"n": 1}))  # back early, held, but it fits
        await until(lambda: held.batcher.queued_items == CAPACITY - 1)  # queued after its hold
        held.release.set()
        assert (await small).status_code == 200


async def test_holding_can_be_turned_off(models_dir: Path) -> None:
    async with held_app(models_dir, refusal_hold_max_s=0) as held:
        await held.fill(CAPACITY)
        statuses = [(await held.client.post(GEN, json={"n": 1})).status_code for _ in range(3)]
        assert statuses == [503, 503, 503]


# -- request IDs and logs --------------------------------------------------------------------------------------


async def test_an_early_refusal_carries_a_fresh_request_id_when_the_client_sent_none_or_an_unsafe_one(
    models_dir: Path,
) -> None:
    async with held_app(models_dir) as held:
        await held.fill(CAPACITY)
        plain = await held.client.post(GEN, json={"n": 1})
        unsafe = await held.client.post(GEN, json={"n": 1}, headers={"X-Request-ID": "two words"})
    for refused in (plain, unsafe):
        assert refused.status_code == 503 and re.fullmatch(r"[0-9a-f]{32}", refused.headers["x-request-id"])
    assert plain.headers["x-request-id"] != unsafe.headers["x-request-id"]


async def test_early_refusals_are_summarised_in_the_log_not_written_one_line_each(
    models_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with held_app(models_dir) as held:
        await held.fill(CAPACITY)
        for _ in range(3):
            assert (await held.client.post(GEN, json={"n": 1})).status_code == 503
    summaries = [r for r in caplog.records if r.name == "ganserve.shedding"]
    assert len(summaries) == 1 and summaries[0].fields["model"] == "gen"  # type: ignore[attr-defined]
    access = [r for r in caplog.records if r.name == "ganserve.access" and "/generate" in r.getMessage()]
    assert access == []


def test_the_summary_counts_the_refusals_between_its_lines() -> None:
    now = [0.0]
    summary = RefusalSummary(clock=lambda: now[0])
    lines: list[dict[str, Any]] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.fields)  # type: ignore[method-assign,attr-defined]
    logger = logging.getLogger("ganserve.shedding")
    logger.addHandler(handler)
    try:
        for t in (0.0, 1.0, 2.0, 9.0, 10.5, 11.0):
            now[0] = t
            summary.refused("gen", 2)
    finally:
        logger.removeHandler(handler)
    assert [(line["model"], line["refused"]) for line in lines] == [("gen", 1), ("gen", 4)]
