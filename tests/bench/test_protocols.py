"""The protocol comparison end to end, scaled down: a real server, real wrk and h2load, the tiny conditional model.
Checks the harness (three rows, every figure, the same answer three ways), never the speed."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from bench.protocols import PROTOCOLS, bodies, main, one_image_inputs
from service.manifest import load_manifest
from service.rpc import inference_pb2 as pb
from tests.support.models import write_model_repo


def test_the_three_bodies_carry_the_same_tensors(tmp_path: Path) -> None:
    models = write_model_repo(tmp_path / "models")
    inputs = one_image_inputs(load_manifest(models / "cgen" / "1"))
    assert {k: (v.shape, str(v.dtype)) for k, v in inputs.items()} == {
        "z": ((1, 8), "float32"),
        "label": ((1,), "int64"),
    }
    requests = bodies(inputs, "cgen")
    as_json = json.loads(requests["http-json"][0])
    assert as_json["inputs"][0]["data"] == inputs["z"].ravel().tolist() and requests["http-json"][1] == 0
    body, header = requests["http-binary"]
    assert json.loads(body[:header])["parameters"] == {"binary_data_output": True}
    assert body[header:] == inputs["z"].tobytes() + inputs["label"].tobytes()
    frame = requests["grpc"][0]
    assert frame[0] == 0 and struct.unpack(">I", frame[1:5])[0] == len(frame) - 5
    message = pb.ModelInferRequest.FromString(frame[5:])
    assert message.model_name == "cgen" and message.raw_input_contents[1] == np.zeros(1, "<i8").tobytes()


@pytest.mark.skipif(
    shutil.which("wrk") is None or shutil.which("h2load") is None,
    reason="needs wrk and h2load (apt-get install -y wrk nghttp2-client)",
)
def test_one_short_run_writes_a_row_per_protocol(tmp_path: Path) -> None:
    models = write_model_repo(tmp_path / "models")
    out = tmp_path / "protocols"
    assert (
        main(
            [
                "--models-dir",
                str(models),
                "--model",
                "cgen",
                "--clients",
                "4",
                "--duration",
                "1",
                "--rounds",
                "1",
                "--out",
                str(out),
                "--log-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    rows = json.loads(Path(f"{out}.json").read_text())["rows"]
    assert [r["protocol"] for r in rows] == list(PROTOCOLS)
    for row in rows:
        assert row["requests_per_s"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"]
        assert set(row["non_200"]) <= {"499"}  # only calls the load generator cut off when its time was up
        assert row["server_cpu_ms_per_request"] > 0
    assert "| grpc |" in Path(f"{out}.md").read_text()
