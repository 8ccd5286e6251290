"""Request IDs and access lines for gRPC calls (service.rpc.access), against a real server."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest

from service.noise import seeded_noise
from service.rpc import inference_pb2
from tests.service.test_grpc import INFER, request_with
from tests.support.server import Server


def call(target: str, request: Any, metadata: tuple[tuple[str, str], ...]) -> tuple[Any, dict[str, str]]:
    """(answer or the RpcError, the answer's initial metadata)."""
    with grpc.insecure_channel(target) as channel:
        infer = channel.unary_unary(
            INFER,
            request_serializer=inference_pb2.ModelInferRequest.SerializeToString,
            response_deserializer=inference_pb2.ModelInferResponse.FromString,
        )
        try:
            answer, outcome = infer.with_call(request, metadata=metadata, timeout=30)
        except grpc.RpcError as error:
            return error, dict(error.initial_metadata())  # type: ignore[attr-defined]
        return answer, dict(outcome.initial_metadata())


def line_of(server: Server, request_id: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [line for line in server.log().splitlines() if f"request_id={request_id} " in line]
        if lines:
            assert len(lines) == 1, lines
            return lines[0]
        time.sleep(0.02)
    raise AssertionError(server.log()[-3000:])


def test_a_calls_request_id_comes_back_in_its_metadata_on_success_and_error(server: Server) -> None:
    good = request_with(("z", "FP32", [2, 8], seeded_noise([1, 2], 8).tobytes()))
    answer, metadata = call(server.grpc, good, (("x-request-id", "grpc-ok-1"),))
    assert isinstance(answer, inference_pb2.ModelInferResponse) and metadata["x-request-id"] == "grpc-ok-1"
    line = line_of(server, "grpc-ok-1")
    assert "route=/inference.GRPCInferenceService/ModelInfer" in line and " model=gen " in line
    assert " status=200 " in line and " images=2 " in line and "grpc_status=OK" in line

    missing = request_with(("z", "FP32", [1, 8], bytes(32)), model="nope")
    error, metadata = call(server.grpc, missing, (("x-request-id", "grpc-404-1"),))
    assert error.code() == grpc.StatusCode.NOT_FOUND and metadata["x-request-id"] == "grpc-404-1"
    assert " status=404 " in line_of(server, "grpc-404-1") and "grpc_status=NOT_FOUND" in line_of(server, "grpc-404-1")


@pytest.mark.parametrize("bad", ["two words", "x" * 129])
def test_an_unsafe_request_id_in_metadata_is_replaced(server: Server, bad: str) -> None:
    _, metadata = call(server.grpc, request_with(("z", "FP32", [1, 8], bytes(32))), (("x-request-id", bad),))
    assert metadata["x-request-id"] != bad and len(metadata["x-request-id"]) == 32
