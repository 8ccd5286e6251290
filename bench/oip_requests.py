"""One Open Inference Protocol request built three ways (gRPC frame, HTTP binary tensors, HTTP JSON tensors) from a
model's manifest, and the check that all three get the same bits back; used by `bench.protocols`."""

from __future__ import annotations

import json
import struct

import grpc
import httpx
import numpy as np

from bench.server import Server
from service.manifest import Manifest, Role
from service.noise import seeded_noise
from service.rpc import inference_pb2 as pb

DATATYPES = {"float32": "FP32", "float16": "FP16", "int64": "INT64", "int32": "INT32"}
INFER = "/inference.GRPCInferenceService/ModelInfer"


def one_image_inputs(manifest: Manifest) -> dict[str, np.ndarray]:
    """One row per input: seed 1's noise, class 0, a mid-grey image."""
    inputs = {}
    for role, spec in manifest.inputs.items():
        shape = [1, *(int(d) for d in spec.shape[1:])]
        if role is Role.noise:
            inputs[spec.name] = seeded_noise([1], int(np.prod(shape))).reshape(shape).astype(spec.dtype)
        else:
            inputs[spec.name] = np.zeros(shape, spec.dtype)
    return inputs


def bodies(inputs: dict[str, np.ndarray], model: str) -> dict[str, tuple[bytes, int]]:
    """protocol -> (request body, JSON header length; 0 for plain JSON and gRPC)."""
    tensors = [{"name": k, "shape": list(v.shape), "datatype": DATATYPES[str(v.dtype)]} for k, v in inputs.items()]
    as_json = json.dumps({"inputs": [t | {"data": inputs[t["name"]].ravel().tolist()} for t in tensors]}).encode()
    raw = [np.ascontiguousarray(v, v.dtype.newbyteorder("<")).tobytes() for v in inputs.values()]
    header = json.dumps(
        {
            "inputs": [t | {"parameters": {"binary_data_size": len(r)}} for t, r in zip(tensors, raw, strict=True)],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    return {
        "http-json": (as_json, 0),
        "http-binary": (header + b"".join(raw), len(header)),
        "grpc": (_grpc_frame(inputs, model), 0),
    }


def _grpc_request(inputs: dict[str, np.ndarray], model: str) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model)
    for name, value in inputs.items():
        request.inputs.add(name=name, datatype=DATATYPES[str(value.dtype)], shape=list(value.shape))
        request.raw_input_contents.append(np.ascontiguousarray(value, value.dtype.newbyteorder("<")).tobytes())
    return request


def _grpc_frame(inputs: dict[str, np.ndarray], model: str) -> bytes:
    message = _grpc_request(inputs, model).SerializeToString()
    return b"\0" + struct.pack(">I", len(message)) + message  # gRPC's length-prefixed message, uncompressed


def same_answer_three_ways(server: Server, model: str, inputs: dict[str, np.ndarray]) -> None:
    """One request each way; raise unless the three images are bit for bit the same."""
    url = f"{server.url}/v2/models/{model}/infer"
    requests = bodies(inputs, model)
    body, header = requests["http-binary"]
    r = httpx.post(url, content=body, headers={"Inference-Header-Content-Length": str(header)}, timeout=30)
    r.raise_for_status()
    size = int(r.headers["inference-header-content-length"])
    binary = r.content[size:]
    r = httpx.post(url, content=requests["http-json"][0], headers={"Content-Type": "application/json"}, timeout=30)
    r.raise_for_status()
    as_json = np.asarray(r.json()["outputs"][0]["data"], np.float32).astype("<f4").tobytes()
    with grpc.insecure_channel(server.grpc) as channel:
        call = channel.unary_unary(
            INFER,
            request_serializer=pb.ModelInferRequest.SerializeToString,
            response_deserializer=pb.ModelInferResponse.FromString,
        )
        over_grpc = call(_grpc_request(inputs, model), timeout=30).raw_output_contents[0]
    if not binary == as_json == over_grpc:
        raise RuntimeError("the three protocols answered different images for the same request")
