"""The early refusal in uvicorn's protocol: a real uvicorn server on loopback, in this process, around the real
app with a held engine (tests/service/test_shedding.py's `held_app`), spoken to over raw sockets.

Its answers are compared byte for byte with uvicorn's own httptools protocol around the same app (whose answer
comes from the ASGI early refusal layer); which of the two answered is told by whether uvicorn started an ASGI
task for the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.refusal_protocol import RefusingProtocol
from tests.service.test_batcher import until
from tests.service.test_shedding import CAPACITY, GEN, held_app
from tests.support.server import free_port

REQUEST = (f"POST {GEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-ID: proto-1\r\n"
           "Content-Length: 8\r\n").encode()  # fmt: skip
BODY = b'{"n": 1}'
LIVE = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the requests uvicorn started an ASGI task for (the protocol's own refusals start none)."""
    started: list[str] = []
    original = HttpToolsProtocol._start_asgi_task

    def counting(self: HttpToolsProtocol, cycle: Any, app: Any) -> None:
        started.append(cycle.scope["path"])
        original(self, cycle, app)

    monkeypatch.setattr(HttpToolsProtocol, "_start_asgi_task", counting)
    yield started


@asynccontextmanager
async def serving(
    app: FastAPI, http: Any, keep_alive_s: int = 5
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """uvicorn around `app` (its lifespan already running) on a free loopback port; one open connection to it."""
    config = uvicorn.Config(app, port=free_port(), http=http, lifespan="off", log_config=None, access_log=False,
                            timeout_keep_alive=keep_alive_s)  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    reader, writer = await asyncio.open_connection("127.0.0.1", config.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def answer(reader: asyncio.StreamReader) -> bytes:
    """One HTTP/1.1 response with a Content-Length body, its Date line made constant."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = int(re.search(rb"(?i)\r\ncontent-length: (\d+)", head)[1])  # type: ignore[index]
    body = await asyncio.wait_for(reader.readexactly(length), 10)
    return re.sub(rb"(?i)\r\ndate: [^\r]*", b"\r\ndate: -", head) + body


@pytest.mark.parametrize("status", [503, 429])
async def test_a_full_queue_is_answered_by_the_protocol_byte_for_byte_as_by_the_layer(
    models_dir: Path, tasks: list[str], status: int
) -> None:
    answers, rejected = [], []
    for http in (RefusingProtocol, "httptools"):
        async with held_app(models_dir, overload_status=status) as held:
            await held.fill(CAPACITY)
            before = await held.metric("ganserve_requests_rejected_total", model="gen", reason="queue_full")
            async with serving(held.app, http) as (reader, writer):
                tasks.clear()
                writer.write(REQUEST + b"\r\n" + BODY)
                answers.append(await answer(reader))
                assert tasks == ([] if http is RefusingProtocol else [GEN])
            after = await held.metric("ganserve_requests_rejected_total", model="gen", reason="queue_full")
            rejected.append(after - before)
    assert answers[0] == answers[1]
    assert answers[0].startswith(f"HTTP/1.1 {status} ".encode()) and b"\r\nretry-after: 1\r\n" in answers[0]
    assert b"\r\nx-request-id: proto-1\r\n" in answers[0] and b'"type": "queue_full"' in answers[0]
    assert rejected == [1, 1]


async def test_pipelined_and_split_requests_keep_their_order_and_the_connection(
    models_dir: Path, tasks: list[str]
) -> None:
    async with held_app(models_dir) as held:
        await held.fill(CAPACITY)
        async with serving(held.app, RefusingProtocol) as (reader, writer):
            writer.write(LIVE + REQUEST + b"\r\n" + BODY + LIVE)  # pipelined: a refusal between two app answers
            statuses = [(await answer(reader)).split(b" ")[1] for _ in range(3)]
            assert statuses == [b"200", b"503", b"200"]
            writer.write(REQUEST + b"\r\n")  # headers now, the body later: refused before it arrives
            assert (await answer(reader)).startswith(b"HTTP/1.1 503 ")
            writer.write(BODY[:3])
            await asyncio.sleep(0.05)
            writer.write(BODY[3:] + LIVE)  # the rest of the dropped body, then the next request
            assert (await answer(reader)).startswith(b"HTTP/1.1 200 ")
    # the live checks went to the app; the refusal inside the pipeline did too (an earlier answer was pending)
    assert tasks.count("/v2/health/live") == 3 and tasks.count(GEN) <= 1


async def test_a_request_that_fits_goes_to_the_app_and_is_served(models_dir: Path, tasks: list[str]) -> None:
    async with held_app(models_dir) as held, serving(held.app, RefusingProtocol) as (reader, writer):
        writer.write(REQUEST + b"\r\n" + BODY)
        await until(lambda: held.batcher.queued_items == 1)  # queued behind the held batch, not refused
        assert tasks == [GEN]
        held.release.set()
        assert (await answer(reader)).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    ("extra", "hold_s"),
    [
        (b"Expect: 100-continue\r\n", 0),  # the client waits for a 100 before its body
        (b"Connection: close\r\n", 0),  # uvicorn adds its connection: close
        (b"X-Forwarded-For: 10.0.0.1\r\n", 1),  # with holding, the layer keys its windows by the scope's client
    ],
)
async def test_it_leaves_to_the_layer_what_it_cannot_answer_alike(
    models_dir: Path, tasks: list[str], extra: bytes, hold_s: float
) -> None:
    async with held_app(models_dir, refusal_hold_max_s=hold_s) as held:
        await held.fill(CAPACITY)
        async with serving(held.app, RefusingProtocol) as (reader, writer):
            writer.write(REQUEST + extra + b"\r\n" + BODY)
            refused = await answer(reader)
    assert refused.startswith(b"HTTP/1.1 503 ") and tasks == [GEN]


async def test_an_idle_connection_is_closed_after_a_refusal_whose_body_came_later(
    models_dir: Path, tasks: list[str]
) -> None:
    async with held_app(models_dir) as held:
        await held.fill(CAPACITY)
        await held.metric("ganserve_requests_rejected_total")  # a first request builds the app's middleware
        async with serving(held.app, RefusingProtocol, keep_alive_s=1) as (reader, writer):
            writer.write(REQUEST + b"\r\n")
            assert (await answer(reader)).startswith(b"HTTP/1.1 503 ")
            await asyncio.sleep(0.1)
            writer.write(BODY)  # the body after the answer; then the client says nothing more
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the keep-alive timeout
    assert tasks == []  # answered by the protocol (uvicorn's own cycle arms no timeout after such a body)


@pytest.mark.parametrize("target", [b"/v1/models/g%65n/generate", "/v1/models/gén/generate".encode(), b"*"])
async def test_odd_request_targets_get_the_answers_plain_uvicorn_gives(models_dir: Path, target: bytes) -> None:
    answers = []
    for http in (RefusingProtocol, "httptools"):
        async with held_app(models_dir) as held:
            await held.fill(CAPACITY)
            await held.metric("ganserve_requests_rejected_total")  # a first request builds the app's middleware
            async with serving(held.app, http) as (reader, writer):
                writer.write(REQUEST.replace(GEN.encode(), target) + b"\r\n" + BODY + LIVE)
                lines = []
                with contextlib.suppress(asyncio.IncompleteReadError):  # a 400 closes the connection
                    for _ in range(2):
                        lines.append((await answer(reader)).split(b"\r\n")[0])
                answers.append(lines)
    assert answers[0] == answers[1], answers


async def test_on_a_uvicorn_whose_internals_differ_it_turns_itself_off_and_the_layer_answers(
    models_dir: Path, tasks: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def reads_a_renamed_attribute(self: RefusingProtocol) -> bool:  # as if a later uvicorn had renamed one
        return bool(self.pipeline_renamed)  # type: ignore[attr-defined]

    monkeypatch.setattr(RefusingProtocol, "_refused", reads_a_renamed_attribute)
    monkeypatch.setattr(RefusingProtocol, "enabled", True)
    async with held_app(models_dir) as held:
        await held.fill(CAPACITY)
        await held.metric("ganserve_requests_rejected_total")  # a first request builds the app's middleware
        async with serving(held.app, RefusingProtocol) as (reader, writer):
            writer.write(REQUEST + b"\r\n" + BODY)
            assert (await answer(reader)).startswith(b"HTTP/1.1 503 ")
    assert RefusingProtocol.enabled is False and tasks == [GEN]
    assert "early refusal in the HTTP protocol is off" in caplog.text
