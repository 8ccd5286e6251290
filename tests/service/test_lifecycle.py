"""In-flight behaviour against a real server with a deliberately slow model: drain on SIGTERM, deadlines,
client disconnects. Requests are known to be in flight by reading the queue gauge, never by sleeping."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.test_api import samples
from tests.support.models import write_generator
from tests.support.server import Server, running_server

SLOW = "/v1/models/slow/generate"


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def queued(server: Server) -> float:
    return samples(httpx.get(server.url + "/metrics").text, "ganserve_queue_items", model="slow")


@pytest.fixture
def slow_models(tmp_path: Path) -> Path:
    write_generator(tmp_path / "models", "slow", slow=512)
    return tmp_path / "models"


def test_sigterm_drains_in_flight_requests_refuses_new_ones_and_exits_0(
    start_server: Callable[..., Server], slow_models: Path
) -> None:
    server = start_server(slow_models, env={"GANSERVE_MAX_BATCH_SIZE": "1", "GANSERVE_DRAIN_TIMEOUT_S": "60"})
    result: dict[str, httpx.Response] = {}
    worker = threading.Thread(
        target=lambda: result.update(r=httpx.post(server.url + SLOW, json={"n": 12, "seed": 1}, timeout=60))
    )
    worker.start()
    wait_for(lambda: queued(server) >= 1)  # one image running, the rest queued behind it
    server.terminate()
    wait_for(lambda: httpx.get(server.url + "/v2/health/ready").status_code == 503)
    assert httpx.get(server.url + "/v2/health/live").status_code == 200
    refused = httpx.post(server.url + SLOW, json={"seed": 2})
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["type"] == "draining"
    worker.join(60)
    assert result["r"].status_code == 200 and len(result["r"].json()["images"]) == 12  # accepted: finished
    assert result["r"].headers["connection"] == "close"  # and the balancer is told not to reuse the connection
    assert server.wait(30) == 0
    assert "drained" in server.log()


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    models = tmp_path_factory.mktemp("slow") / "models"
    # work=1024: ~0.1 s an image even on a quiet machine, so the tests can see requests queued behind one another
    write_generator(models, "slow", slow=1024)
    with running_server(models, {"GANSERVE_MAX_BATCH_SIZE": "1"}) as server:
        yield server


def test_requests_past_their_deadline_get_504_and_never_run(slow_server: Server) -> None:
    before = httpx.get(slow_server.url + "/metrics").text
    busy = threading.Thread(
        target=httpx.post, args=(slow_server.url + SLOW,), kwargs={"json": {"n": 12}, "timeout": 60}
    )
    busy.start()
    wait_for(lambda: queued(slow_server) >= 8)  # plenty of work still ahead of the next request
    late = httpx.post(slow_server.url + SLOW, json={"n": 3, "deadline_ms": 50})
    assert late.status_code == 504 and late.json()["type"] == "deadline_exceeded"
    busy.join(60)
    after = httpx.get(slow_server.url + "/metrics").text
    assert (
        samples(after, "ganserve_requests_rejected_total", model="slow", reason="expired")
        - samples(before, "ganserve_requests_rejected_total", model="slow", reason="expired")
        == 1
    )
    assert (
        samples(after, "ganserve_images_total", model="slow") - samples(before, "ganserve_images_total", model="slow")
        == 12
    )


def test_a_disconnected_clients_queued_items_are_dropped(slow_server: Server) -> None:
    before = httpx.get(slow_server.url + "/metrics").text
    host, port = slow_server.url.removeprefix("http://").split(":")
    body = b'{"n": 5}'
    with socket.create_connection((host, int(port))) as sock:  # a client that gives up before its answer
        sock.sendall(
            b"POST " + SLOW.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        wait_for(lambda: queued(slow_server) >= 3)  # its first image is running, the others wait
    wait_for(lambda: queued(slow_server) == 0)
    after = httpx.get(slow_server.url + "/metrics").text
    assert (
        samples(after, "ganserve_requests_rejected_total", model="slow", reason="cancelled")
        - samples(before, "ganserve_requests_rejected_total", model="slow", reason="cancelled")
        == 1
    )
    assert (
        samples(after, "ganserve_images_total", model="slow") - samples(before, "ganserve_images_total", model="slow")
        < 5
    )


def test_a_client_that_leaves_while_sending_its_body_is_counted_as_cancelled_without_a_traceback(
    slow_server: Server,
) -> None:
    def cancelled() -> float:
        return samples(
            httpx.get(slow_server.url + "/metrics").text,
            "ganserve_requests_rejected_total",
            model="slow",
            reason="cancelled",
        )

    before = cancelled()
    host, port = slow_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:  # promises 100 bytes, sends 9, hangs up
        sock.sendall(
            b"POST " + SLOW.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"n": 1, '
        )
    wait_for(lambda: cancelled() == before + 1)
    assert "Traceback" not in slow_server.log() and "unhandled" not in slow_server.log()


def test_a_full_queue_is_refused_at_once_with_the_configured_status(
    start_server: Callable[..., Server], slow_models: Path
) -> None:
    server = start_server(
        slow_models,
        env={
            "GANSERVE_MAX_BATCH_SIZE": "1",
            "GANSERVE_QUEUE_CAPACITY": "8",
            "GANSERVE_MAX_IMAGES_PER_REQUEST": "8",
            "GANSERVE_OVERLOAD_STATUS": "429",
        },
    )
    busy = threading.Thread(target=httpx.post, args=(server.url + SLOW,), kwargs={"json": {"n": 8}, "timeout": 60})
    busy.start()
    # >= 1 rather than an exact count: on a loaded machine the poll may miss any one value as items drain
    wait_for(lambda: queued(server) >= 1)
    refused = httpx.post(server.url + SLOW, json={"n": 8})  # does not fit while any of the busy items is queued
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 30  # adaptive, bounded
    assert refused.json()["type"] == "queue_full"
    busy.join(60)
    assert (
        samples(
            httpx.get(server.url + "/metrics").text,
            "ganserve_requests_rejected_total",
            model="slow",
            reason="queue_full",
        )
        == 1
    )
