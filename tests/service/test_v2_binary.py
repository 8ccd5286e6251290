"""The v2 REST surface with tritonclient.http against a real server: binary tensors (its default), JSON tensors and
both mixed give the JSON path's answer bit for bit; malformed binary framing is a 400 that names the tensor."""

from __future__ import annotations

import json
import struct
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from service.noise import seeded_noise
from tests.support.server import Server

LABELS = np.array([3, 7], np.int64)


def json_path(server: Server, z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The reference: plain JSON in, JSON out, read back exactly as the server wrote the floats."""
    r = httpx.post(
        server.url + "/v2/models/cgen/infer",
        json={
            "inputs": [
                {"name": "z", "shape": list(z.shape), "datatype": "FP32", "data": z.ravel().tolist()},
                {"name": "label", "shape": list(labels.shape), "datatype": "INT64", "data": labels.tolist()},
            ]
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    return np.asarray(out["data"], np.float32).reshape(out["shape"])


def triton_infer(
    client: triton.InferenceServerClient,
    z: np.ndarray,
    labels: np.ndarray,
    *,
    z_binary: bool,
    label_binary: bool,
    out_binary: bool | None,
    **kw: Any,
) -> np.ndarray:
    inputs = [triton.InferInput("z", list(z.shape), "FP32"), triton.InferInput("label", list(labels.shape), "INT64")]
    inputs[0].set_data_from_numpy(z, binary_data=z_binary)
    inputs[1].set_data_from_numpy(labels, binary_data=label_binary)
    outputs = None if out_binary is None else [triton.InferRequestedOutput("image", binary_data=out_binary)]
    result = client.infer("cgen", inputs, outputs=outputs, **kw)
    image = result.as_numpy("image")
    assert image is not None
    return image


@pytest.fixture
def client(server: Server) -> Any:
    c = triton.InferenceServerClient(server.url.removeprefix("http://"))
    yield c
    c.close()


@pytest.mark.parametrize(
    ("z_binary", "label_binary", "out_binary"),
    [
        (True, True, None),  # tritonclient's defaults: binary in, and binary_data_output for every output
        (False, False, False),  # JSON tensors both ways
        (True, False, False),  # mixed inputs, JSON answer
        (False, True, True),  # mixed inputs, binary answer asked for on the output
    ],
)
def test_tritonclient_http_matches_the_json_path_bit_for_bit(
    server: Server, client: Any, z_binary: bool, label_binary: bool, out_binary: bool | None
) -> None:
    z = seeded_noise([11, 12], 8)
    want = json_path(server, z, LABELS)
    got = triton_infer(client, z, LABELS, z_binary=z_binary, label_binary=label_binary, out_binary=out_binary)
    assert got.dtype == np.float32 and got.shape == (2, 1, 8, 8)
    assert got.tobytes() == want.tobytes()


def test_tritonclient_http_metadata_health_and_compressed_bodies(server: Server, client: Any) -> None:
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("cgen")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    meta = client.get_model_metadata("cgen", model_version="1")
    assert [(t["name"], t["datatype"], t["shape"]) for t in meta["inputs"]] == [
        ("z", "FP32", [-1, 8]),
        ("label", "INT64", [-1]),
    ]
    z = seeded_noise([5, 6], 8)
    got = triton_infer(
        client, z, LABELS, z_binary=True, label_binary=True, out_binary=None, request_compression_algorithm="gzip"
    )
    assert got.tobytes() == json_path(server, z, LABELS).tobytes()


def test_tritonclient_http_errors_raise_with_the_servers_message(client: Any) -> None:
    z = triton.InferInput("z", [1, 8], "FP32")
    z.set_data_from_numpy(np.zeros((1, 8), np.float32))
    with pytest.raises(InferenceServerException, match="unknown model 'nope'"):
        client.infer("nope", [z])
    with pytest.raises(InferenceServerException, match="takes exactly"):
        client.infer("cgen", [z])


def body(inputs: list[dict[str, Any]], binary: bytes, **extra: Any) -> tuple[bytes, dict[str, str]]:
    header = json.dumps({"inputs": inputs, **extra}).encode()
    return header + binary, {"Inference-Header-Content-Length": str(len(header))}


Z = {"name": "z", "shape": [1, 8], "datatype": "FP32", "parameters": {"binary_data_size": 32}}
ZEROS = bytes(32)


@pytest.mark.parametrize(
    ("content", "headers", "mentions"),
    [
        (b'{"inputs": []}', {"Inference-Header-Content-Length": "999"}, "body has only 14 bytes"),
        (b'{"inputs": []}', {"Inference-Header-Content-Length": "-3"}, "Inference-Header-Content-Length must be"),
        (*body([Z], ZEROS[:16]), "input 'z': its 32 bytes of binary data run past the end"),
        (*body([Z], ZEROS + b"\0"), "1 bytes after the last binary tensor"),
        (*body([{**Z, "parameters": {"binary_data_size": 28}}], ZEROS[:28]), "input 'z': shape [1, 8] of FP32 is 32"),
        (*body([{**Z, "data": [0.0] * 8}], ZEROS), "input 'z' has both"),
        (*body([{**Z, "parameters": {}}], b""), "input 'z' has no data"),
        (*body([{**Z, "parameters": {"binary_data_size": "32"}}], ZEROS), "input 'z': binary_data_size"),
        (*body([Z], ZEROS)[:1], {}, "Inference-Header-Content-Length"),  # binary bytes but no header
    ],
)
def test_malformed_binary_bodies_are_400s_that_name_the_tensor(
    server: Server, content: bytes, headers: dict[str, str], mentions: str
) -> None:
    r = httpx.post(server.url + "/v2/models/gen/infer", content=content, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "malformed_request" and mentions.lower() in r.json()["error"].lower(), r.json()
    ok = httpx.post(server.url + "/v2/models/gen/infer", content=body([Z], ZEROS)[0], headers=body([Z], ZEROS)[1])
    assert ok.status_code == 200 and ok.json()["outputs"][0]["shape"] == [1, 1, 8, 8]  # and the server is fine


def test_binary_answer_is_the_json_header_then_little_endian_bytes(server: Server) -> None:
    z = seeded_noise([9], 8)
    content, headers = body([Z], z.astype("<f4").tobytes(), parameters={"binary_data_output": True}, id="q")
    r = httpx.post(server.url + "/v2/models/gen/versions/1/infer", content=content, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    size = int(r.headers["inference-header-content-length"])
    header = json.loads(r.content[:size])
    assert header["id"] == "q" and header["outputs"][0]["parameters"] == {"binary_data_size": 256}
    raw = r.content[size:]
    assert len(raw) == 256 and struct.unpack("<64f", raw) == tuple(json_gen(server, z))


def json_gen(server: Server, z: np.ndarray) -> list[float]:
    r = httpx.post(
        server.url + "/v2/models/gen/infer",
        json={"inputs": [{"name": "z", "shape": [1, 8], "datatype": "FP32", "data": z.ravel().tolist()}]},
    )
    return [float(np.float32(v)) for v in r.json()["outputs"][0]["data"]]
