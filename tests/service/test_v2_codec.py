"""v2 REST bodies without a server: binary framing both ways, compressed bodies and the timeout parameter."""

from __future__ import annotations

import gzip
import json
import zlib

import numpy as np
import pytest

from service.errors import InvalidRequest, MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from service.oip import timeout_ms
from service.v2_codec import decompress, encode_response, parse_request


def test_mixed_json_and_binary_inputs_keep_their_order_and_bytes() -> None:
    header = json.dumps(
        {
            "id": "a",
            "inputs": [
                {"name": "z", "shape": [1, 2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
                {"name": "label", "shape": [1], "datatype": "INT64", "data": [4]},
                {"name": "w", "shape": [1], "datatype": "INT64", "parameters": {"binary_data_size": 8}},
            ],
            "outputs": [{"name": "image", "parameters": {"binary_data": True}}],
            "parameters": {"timeout": 2_500_000},
        }
    ).encode()
    z, w = np.array([1.5, -2], "<f4").tobytes(), np.array([7], "<i8").tobytes()
    parsed = parse_request(header + z + w, str(len(header)))
    assert [(t.name, t.values, bytes(t.raw) if t.raw is not None else None) for t in parsed.tensors] == [
        ("z", None, z),
        ("label", [4], None),
        ("w", None, w),
    ]
    assert (parsed.id, parsed.outputs, parsed.binary_outputs, parsed.binary_default, parsed.deadline_ms) == (
        "a",
        ["image"],
        {"image": True},
        False,
        2500,
    )


def test_a_binary_answer_is_header_then_bytes_and_a_json_one_is_plain() -> None:
    array = np.array([[0.25, -1.0]], np.float32)
    body, headers = encode_response("m", "1", None, "image", array, binary=True)
    size = int(headers["inference-header-content-length"])
    assert json.loads(body[:size])["outputs"][0]["parameters"] == {"binary_data_size": 8}
    assert body[size:] == array.astype("<f4").tobytes()
    body, headers = encode_response("m", "1", "x", "image", array, binary=False)
    assert json.loads(body) == {
        "model_name": "m",
        "model_version": "1",
        "id": "x",
        "outputs": [{"name": "image", "datatype": "FP32", "shape": [1, 2], "data": [0.25, -1.0]}],
    }


def test_compressed_bodies_are_inflated_within_the_limit() -> None:
    data = b'{"inputs": []}' * 10
    assert decompress(gzip.compress(data), "gzip", 1000) == data
    assert decompress(zlib.compress(data), "deflate", 1000) == data
    assert decompress(data, None, 10) == data
    with pytest.raises(PayloadTooLarge):
        decompress(gzip.compress(bytes(10_000)), "gzip", 1000)  # a small bomb
    with pytest.raises(MalformedRequest, match="not valid gzip"):
        decompress(b"plain", "gzip", 1000)
    with pytest.raises(UnsupportedMediaType, match="br"):
        decompress(data, "br", 1000)


def test_timeout_parameter_is_microseconds() -> None:
    assert timeout_ms({}) is None
    assert timeout_ms({"timeout": 50_000}) == 50
    assert timeout_ms({"timeout": 10}) == 1  # never a zero deadline
    with pytest.raises(InvalidRequest, match="microseconds"):
        timeout_ms({"timeout": "soon"})


@pytest.mark.parametrize("request_id", [None, "DATA", '"DATA"', "é"])
def test_a_json_answer_encoded_in_chunks_is_byte_for_byte_json_dumps(request_id: str | None) -> None:
    array = np.random.default_rng(0).standard_normal((40, 1, 8, 8)).astype(np.float32)  # 2560 values: 3 chunks
    body, _ = encode_response("gen", "1", request_id, "image", array, binary=False)
    expected = {"model_name": "gen", "model_version": "1"} | ({} if request_id is None else {"id": request_id})
    expected["outputs"] = [
        {"name": "image", "datatype": "FP32", "shape": [40, 1, 8, 8], "data": array.ravel().tolist()}
    ]
    assert body == json.dumps(expected).encode()
