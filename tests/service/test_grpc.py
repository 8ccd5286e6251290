"""The gRPC Open Inference Protocol with tritonclient.grpc (sync and asyncio) and raw stubs against a real server:
answers equal the JSON path bit for bit; bad tensors, unknown models, the API key, size limits and health behave
as documented; the server stays up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton
import tritonclient.grpc.aio as triton_aio
from tritonclient.utils import InferenceServerException

from service.noise import seeded_noise
from service.rpc import health_pb2, inference_pb2
from tests.service.test_api import samples
from tests.service.test_lifecycle import wait_for
from tests.service.test_v2_binary import LABELS, json_path
from tests.support.server import Server

INFER = "/inference.GRPCInferenceService/ModelInfer"


def cgen_inputs(z: np.ndarray, labels: np.ndarray) -> list[triton.InferInput]:
    inputs = [triton.InferInput("z", list(z.shape), "FP32"), triton.InferInput("label", list(labels.shape), "INT64")]
    inputs[0].set_data_from_numpy(z)
    inputs[1].set_data_from_numpy(labels)
    return inputs


def raw_infer(
    target: str, request: inference_pb2.ModelInferRequest, metadata: tuple[tuple[str, str], ...] = ()
) -> inference_pb2.ModelInferResponse:
    """ModelInfer through a bare channel with the server's own messages (typed contents, hand-made mistakes)."""
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(
            INFER,
            request_serializer=inference_pb2.ModelInferRequest.SerializeToString,
            response_deserializer=inference_pb2.ModelInferResponse.FromString,
        )
        return call(request, metadata=metadata, timeout=30)  # type: ignore[no-any-return]


def health(target: str, service: str = "") -> int:
    with grpc.insecure_channel(target) as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        return int(check(health_pb2.HealthCheckRequest(service=service), timeout=10).status)


def image_of(response: inference_pb2.ModelInferResponse) -> np.ndarray:
    out = response.outputs[0]
    return np.frombuffer(response.raw_output_contents[0], "<f4").reshape(list(out.shape))


def test_tritonclient_grpc_matches_the_json_path_bit_for_bit(server: Server) -> None:
    client = triton.InferenceServerClient(server.grpc)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("cgen")
    assert client.get_server_metadata().name == "ganserve"
    meta = client.get_model_metadata("cgen", model_version="1")
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [
        ("z", "FP32", [-1, 8]),
        ("label", "INT64", [-1]),
    ]
    z = seeded_noise([21, 22], 8)
    result = client.infer("cgen", cgen_inputs(z, LABELS), request_id="r7")
    image = result.as_numpy("image")
    assert image is not None and image.dtype == np.float32 and image.shape == (2, 1, 8, 8)
    assert image.tobytes() == json_path(server, z, LABELS).tobytes()
    assert result.get_response().id == "r7" and result.get_response().model_version == "1"
    client.close()


def test_tritonclient_grpc_aio_concurrent_calls_share_batches_and_keep_their_bits(server: Server) -> None:
    seeds = [[30 + i, 60 + i] for i in range(16)]
    want = [json_path(server, seeded_noise(s, 8), LABELS).tobytes() for s in seeds]

    async def run() -> list[bytes]:
        async with triton_aio.InferenceServerClient(server.grpc) as client:
            assert await client.is_model_ready("cgen")
            results = await asyncio.gather(
                *[client.infer("cgen", cgen_inputs(seeded_noise(s, 8), LABELS)) for s in seeds]
            )
        return [r.as_numpy("image").tobytes() for r in results]

    assert asyncio.run(run()) == want


def test_typed_contents_are_accepted_and_answered_in_raw_output_contents(server: Server) -> None:
    z = seeded_noise([5, 6], 8)
    request = inference_pb2.ModelInferRequest(model_name="cgen", id="typed")
    request.inputs.add(name="z", datatype="FP32", shape=[2, 8]).contents.fp32_contents.extend(z.ravel().tolist())
    request.inputs.add(name="label", datatype="INT64", shape=[2]).contents.int64_contents.extend(LABELS.tolist())
    response = raw_infer(server.grpc, request)
    assert response.id == "typed" and len(response.raw_output_contents) == 1
    assert image_of(response).tobytes() == json_path(server, z, LABELS).tobytes()


def request_with(*tensors: tuple[str, str, list[int], bytes | None], model: str = "gen") -> Any:
    request = inference_pb2.ModelInferRequest(model_name=model)
    for name, datatype, shape, raw in tensors:
        request.inputs.add(name=name, datatype=datatype, shape=shape)
        if raw is not None:
            request.raw_input_contents.append(raw)
    return request


@pytest.mark.parametrize(
    ("request_", "code", "mentions"),
    [
        (
            request_with(("z", "FP32", [1, 8], bytes(32)), model="nope"),
            grpc.StatusCode.NOT_FOUND,
            "unknown model 'nope'",
        ),
        (request_with(("z", "FP32", [1, 8], bytes(28))), grpc.StatusCode.INVALID_ARGUMENT, "input 'z': shape [1, 8]"),
        (
            request_with(("z", "FP32", [1, 7], bytes(28))),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input 'z' has shape [1, 7]",
        ),
        (request_with(("z", "INT64", [1, 8], bytes(64))), grpc.StatusCode.INVALID_ARGUMENT, "datatype INT64"),
        (request_with(("z", "FP32", [1, 8], None)), grpc.StatusCode.INVALID_ARGUMENT, "input 'z' has no values"),
        (
            request_with(("z", "FP32", [1, 8], bytes(32)), ("w", "FP32", [1, 8], None)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "raw_input_contents has 1 entries for 2 inputs",
        ),
        (
            request_with(("z", "FP32", [1, 8], np.full(8, np.nan, "<f4").tobytes())),
            grpc.StatusCode.INVALID_ARGUMENT,
            "NaN",
        ),
        (
            request_with(("z", "FP32", [1, 8], bytes(32)), ("label", "INT64", [1], bytes(8))),
            grpc.StatusCode.INVALID_ARGUMENT,
            "takes exactly ['z']",
        ),
    ],
)
def test_bad_calls_get_the_mapped_status_with_a_message_that_says_what_to_fix(
    server: Server, request_: Any, code: grpc.StatusCode, mentions: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        raw_infer(server.grpc, request_)
    error: Any = caught.value
    assert error.code() == code and mentions.lower() in error.details().lower(), error.details()
    kind = dict(error.trailing_metadata())["ganserve-error-type"]  # the JSON "type" the same mistake gets over HTTP
    assert (
        kind == "unknown_model"
        if code == grpc.StatusCode.NOT_FOUND
        else kind in ("invalid_request", "malformed_request")
    )
    z = seeded_noise([1], 8)
    assert image_of(raw_infer(server.grpc, request_with(("z", "FP32", [1, 8], z.tobytes())))).shape == (1, 1, 8, 8)


def test_tritonclient_grpc_raises_with_the_status_and_message(server: Server) -> None:
    client = triton.InferenceServerClient(server.grpc)
    with pytest.raises(InferenceServerException) as caught:
        client.infer("cgen", cgen_inputs(seeded_noise([1], 8), np.array([10])))
    assert caught.value.status() == "StatusCode.INVALID_ARGUMENT" and "0..9" in caught.value.message()
    with pytest.raises(InferenceServerException) as caught:
        client.get_model_metadata("nope")
    assert caught.value.status() == "StatusCode.NOT_FOUND"
    client.close()


def test_grpc_calls_are_in_the_metrics_under_their_own_endpoint(server: Server) -> None:
    before = httpx.get(server.url + "/metrics").text
    client = triton.InferenceServerClient(server.grpc)
    client.infer("cgen", cgen_inputs(seeded_noise([1], 8), LABELS[:1]))
    with pytest.raises(InferenceServerException):
        client.infer("cgen", cgen_inputs(seeded_noise([1], 8), np.array([99])))
    client.close()
    after = httpx.get(server.url + "/metrics").text
    name = "ganserve_request_duration_seconds_count"
    for status in ("200", "422"):
        labels = {"model": "cgen", "endpoint": "grpc", "status": status}
        assert samples(after, name, **labels) - samples(before, name, **labels) == 1, status


def test_calls_carry_a_request_id_and_get_an_access_line(server: Server) -> None:
    request = request_with(("z", "FP32", [1, 8], bytes(32)))
    with grpc.insecure_channel(server.grpc) as channel:
        call = channel.unary_unary(
            INFER,
            request_serializer=inference_pb2.ModelInferRequest.SerializeToString,
            response_deserializer=inference_pb2.ModelInferResponse.FromString,
        )
        _, mine = call.with_call(request, metadata=(("x-request-id", "grpc-call-7"),), timeout=30)
        _, unsafe = call.with_call(request, metadata=(("x-request-id", "two words"),), timeout=30)
    assert dict(mine.initial_metadata())["x-request-id"] == "grpc-call-7"
    fresh = dict(unsafe.initial_metadata())["x-request-id"]
    assert len(fresh) == 32 and fresh != "two words"  # replaced, never echoed
    wait_for(lambda: "grpc-call-7" in server.log())
    (line,) = [ln for ln in server.log().splitlines() if "grpc-call-7" in ln]
    assert "ModelInfer" in line and " 200" in line and "gen" in line


def test_health_service_for_kubernetes_probes(server: Server) -> None:
    assert health(server.grpc) == health_pb2.HealthCheckResponse.SERVING
    assert health(server.grpc, "inference.GRPCInferenceService") == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as caught:
        health(server.grpc, "elsewhere.Service")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_api_key_from_metadata_guards_every_call_but_health(
    start_server: Callable[..., Server], models_dir: Path
) -> None:
    key = "s3cret-key-for-grpc"
    server = start_server(models_dir, env={"GANSERVE_API_KEY": key})
    z = request_with(("z", "FP32", [1, 8], bytes(32)))
    for metadata in [(), (("authorization", "Bearer wrong-key-123"),), (("x-api-key", "nope-nope-nope"),)]:
        with pytest.raises(grpc.RpcError) as caught:
            raw_infer(server.grpc, z, metadata)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
        assert "API key" in caught.value.details()  # type: ignore[attr-defined]
    assert raw_infer(server.grpc, z, (("authorization", f"Bearer {key}"),)).model_name == "gen"
    assert raw_infer(server.grpc, z, (("x-api-key", key),)).model_name == "gen"
    client = triton.InferenceServerClient(server.grpc)
    assert client.is_server_live() and client.is_server_ready()  # open, like /v2/health/*
    assert health(server.grpc) == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(InferenceServerException, match="API key"):
        client.get_model_metadata("gen")
    assert client.get_model_metadata("gen", headers={"authorization": f"Bearer {key}"}).name == "gen"
    client.close()


def test_message_size_limit_is_a_setting(start_server: Callable[..., Server], models_dir: Path) -> None:
    server = start_server(models_dir, env={"GANSERVE_GRPC_MAX_RECEIVE_BYTES": "4096"})
    big = request_with(("z", "FP32", [256, 8], bytes(8192)))
    with pytest.raises(grpc.RpcError) as caught:
        raw_infer(server.grpc, big)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
    assert raw_infer(server.grpc, request_with(("z", "FP32", [1, 8], bytes(32)))).model_name == "gen"
