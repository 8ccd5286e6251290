"""gRPC calls in flight on a deliberately slow model: deadlines, cancellation and the SIGTERM drain. Calls are
known to be queued by reading the queue gauge, never by sleeping."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton
import tritonclient.grpc.aio as triton_aio
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from service.rpc import health_pb2, inference_pb2
from tests.service.test_api import samples
from tests.service.test_grpc import health, raw_infer
from tests.service.test_lifecycle import wait_for
from tests.support.models import write_generator
from tests.support.server import Server, running_server


def z_input(rows: int) -> list[triton.InferInput]:
    z = triton.InferInput("z", [rows, 8], "FP32")
    z.set_data_from_numpy(np.full((rows, 8), 0.1, np.float32))
    return [z]


def metric(server: Server, name: str, **labels: str) -> float:
    return samples(httpx.get(server.url + "/metrics").text, name, model="slow", **labels)


def dropped(server: Server) -> float:
    return sum(metric(server, "ganserve_requests_rejected_total", reason=r) for r in ("expired", "cancelled"))


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    models = tmp_path_factory.mktemp("slow-grpc") / "models"
    write_generator(models, "slow", slow=1024)
    with running_server(models, {"GANSERVE_MAX_BATCH_SIZE": "1"}) as server:
        yield server


def test_a_call_past_its_grpc_deadline_gets_deadline_exceeded_and_never_runs(slow_server: Server) -> None:
    client = triton.InferenceServerClient(slow_server.grpc)
    images, drops = metric(slow_server, "ganserve_images_total"), dropped(slow_server)
    busy = threading.Thread(target=client.infer, args=("slow", z_input(12)))
    busy.start()
    wait_for(lambda: metric(slow_server, "ganserve_queue_items") >= 8)  # plenty of work ahead of the next call
    with pytest.raises(InferenceServerException) as caught:
        client.infer("slow", z_input(2), client_timeout=0.2)
    assert caught.value.status() == "StatusCode.DEADLINE_EXCEEDED"
    busy.join(60)
    wait_for(lambda: dropped(slow_server) - drops == 1)  # its items were dropped from the queue ...
    assert metric(slow_server, "ganserve_images_total") - images == 12  # ... and never ran
    client.close()


def test_the_http_timeout_parameter_is_the_requests_deadline_too(slow_server: Server) -> None:
    client = triton_http.InferenceServerClient(slow_server.url.removeprefix("http://"))
    busy = threading.Thread(target=triton.InferenceServerClient(slow_server.grpc).infer, args=("slow", z_input(12)))
    busy.start()
    wait_for(lambda: metric(slow_server, "ganserve_queue_items") >= 8)
    z = triton_http.InferInput("z", [1, 8], "FP32")
    z.set_data_from_numpy(np.zeros((1, 8), np.float32))
    with pytest.raises(InferenceServerException) as caught:
        client.infer("slow", [z], timeout=100_000)  # tritonclient's `timeout` parameter: microseconds
    assert caught.value.status() == "504" and "deadline" in caught.value.message()
    busy.join(60)
    client.close()


def test_a_full_queue_is_refused_at_once_with_the_configured_code(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    write_generator(tmp_path / "models", "slow", slow=1024)
    server = start_server(
        tmp_path / "models",
        env={
            "GANSERVE_MAX_BATCH_SIZE": "1",
            "GANSERVE_QUEUE_CAPACITY": "8",
            "GANSERVE_MAX_IMAGES_PER_REQUEST": "8",
            "GANSERVE_OVERLOAD_STATUS": "429",
        },
    )
    busy = threading.Thread(target=triton.InferenceServerClient(server.grpc).infer, args=("slow", z_input(8)))
    busy.start()
    wait_for(lambda: metric(server, "ganserve_queue_items") >= 1)
    request = inference_pb2.ModelInferRequest(model_name="slow")
    request.inputs.add(name="z", datatype="FP32", shape=[8, 8])
    request.raw_input_contents.append(bytes(256))
    with pytest.raises(grpc.RpcError) as caught:
        raw_infer(server.grpc, request)  # does not fit while any of the busy items is queued
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "capacity" in error.details()
    assert dict(error.trailing_metadata())["retry-after"].isdigit()
    busy.join(60)
    assert metric(server, "ganserve_requests_rejected_total", reason="queue_full") == 1


def watch(target: str) -> Iterator[int]:
    """The statuses grpc.health.v1's Watch streams for the whole server."""
    with grpc.insecure_channel(target) as channel:
        stream = channel.unary_stream(
            "/grpc.health.v1.Health/Watch",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        for response in stream(health_pb2.HealthCheckRequest(), timeout=60):
            yield int(response.status)


def test_a_cancelled_call_drops_its_queued_items(slow_server: Server) -> None:
    images = metric(slow_server, "ganserve_images_total")
    cancelled = metric(slow_server, "ganserve_requests_rejected_total", reason="cancelled")

    async def cancel_midway() -> None:
        async with triton_aio.InferenceServerClient(slow_server.grpc) as client:
            call = asyncio.ensure_future(client.infer("slow", z_input(12)))
            await asyncio.to_thread(wait_for, lambda: metric(slow_server, "ganserve_queue_items") >= 8)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call

    asyncio.run(cancel_midway())
    wait_for(lambda: metric(slow_server, "ganserve_queue_items") == 0)
    assert metric(slow_server, "ganserve_requests_rejected_total", reason="cancelled") - cancelled == 1
    assert metric(slow_server, "ganserve_images_total") - images < 12
    assert triton.InferenceServerClient(slow_server.grpc).is_server_ready()  # and the server is fine


def test_sigterm_turns_health_not_serving_refuses_new_calls_and_finishes_accepted_ones(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    write_generator(tmp_path / "models", "slow", slow=1024)
    server = start_server(tmp_path / "models", env={"GANSERVE_MAX_BATCH_SIZE": "1", "GANSERVE_DRAIN_TIMEOUT_S": "60"})
    client = triton.InferenceServerClient(server.grpc)
    result: dict[str, Any] = {}

    def accepted() -> None:
        try:
            result["r"] = client.infer("slow", z_input(8))
        except InferenceServerException as e:  # kept for the assertion message below
            result["error"] = e

    worker = threading.Thread(target=accepted)
    worker.start()
    wait_for(lambda: metric(server, "ganserve_queue_items") >= 1)  # one image running, the rest queued
    statuses = watch(server.grpc)
    assert next(statuses) == health_pb2.HealthCheckResponse.SERVING
    server.terminate()
    assert next(statuses) == health_pb2.HealthCheckResponse.NOT_SERVING  # Watch tells at once ...
    assert health(server.grpc) == health_pb2.HealthCheckResponse.NOT_SERVING  # ... and Check agrees
    fresh = triton.InferenceServerClient(server.grpc)
    assert fresh.is_server_live() and not fresh.is_server_ready()
    with pytest.raises(InferenceServerException) as caught:
        fresh.infer("slow", z_input(1))
    assert caught.value.status() == "StatusCode.UNAVAILABLE" and "draining" in caught.value.message()
    worker.join(60)
    assert "r" in result, f"{result.get('error')!r}\n{server.log()}"
    assert result["r"].as_numpy("image").shape == (8, 1, 8, 8)  # accepted: finished
    assert server.wait(30) == 0 and "drained" in server.log(), server.log()
    with pytest.raises(grpc.RpcError):  # and then the port is closed
        health(server.grpc)
