"""Triton's model repository extension over gRPC with tritonclient.grpc against real servers: index, load a new
version, unload, reload; the same refusals as /v2/repository (control off, poll, overrides, the admin key)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException

from service.rpc import inference_pb2
from tests.support.models import write_generator
from tests.support.server import Server

EXPLICIT = {"GANSERVE_MODEL_CONTROL": "explicit"}


def z_input() -> list[triton.InferInput]:
    z = triton.InferInput("z", [1, 8], "FP32")
    z.set_data_from_numpy(np.full((1, 8), 0.3, np.float32))
    return [z]


def refusal(call: Callable[[], object]) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as caught:
        call()
    return caught.value


def test_control_off_is_a_failed_precondition_that_says_how_to_enable(server: Server) -> None:
    client = triton.InferenceServerClient(server.grpc)
    for call in (
        client.get_model_repository_index,
        lambda: client.load_model("gen"),
        lambda: client.unload_model("gen"),
    ):
        error = refusal(call)
        assert error.status() == "StatusCode.FAILED_PRECONDITION"
        assert "GANSERVE_MODEL_CONTROL=explicit" in error.message()
    client.close()


def test_index_load_a_new_version_unload_and_reload(start_server: Callable[..., Server], models_dir: Path) -> None:
    server = start_server(models_dir, env=EXPLICIT)
    client = triton.InferenceServerClient(server.grpc)
    index = client.get_model_repository_index(as_json=True)["models"]
    assert {(m["name"], m["version"], m["state"]) for m in index} == {
        ("cgen", "1", "READY"),
        ("gen", "1", "READY"),
        ("translate", "1", "READY"),
    }
    first = client.infer("gen", z_input(), model_version="1").as_numpy("image")

    write_generator(models_dir, "gen", version="2", seed=1)
    client.load_model("gen")
    assert list(client.get_model_metadata("gen").versions) == ["1", "2"]
    second = client.infer("gen", z_input()).as_numpy("image")  # the new version is the default at once
    assert second is not None and first is not None and second.tobytes() != first.tobytes()
    assert client.infer("gen", z_input(), model_version="1").as_numpy("image").tobytes() == first.tobytes()

    client.unload_model("gen")
    assert refusal(lambda: client.infer("gen", z_input())).status() == "StatusCode.NOT_FOUND"
    rows = client.get_model_repository_index(as_json=True)["models"]
    assert {m["state"] for m in rows if m["name"] == "gen"} == {"UNAVAILABLE"}
    with grpc.insecure_channel(server.grpc) as channel:  # `ready`, which tritonclient does not send
        ready_only = channel.unary_unary(
            "/inference.GRPCInferenceService/RepositoryIndex",
            request_serializer=inference_pb2.RepositoryIndexRequest.SerializeToString,
            response_deserializer=inference_pb2.RepositoryIndexResponse.FromString,
        )(inference_pb2.RepositoryIndexRequest(ready=True), timeout=30)
    assert [m.name for m in ready_only.models] == ["cgen", "translate"]

    client.load_model("gen")
    assert client.infer("gen", z_input()).as_numpy("image").tobytes() == second.tobytes()
    error = refusal(lambda: client.load_model("gen", config='{"max_batch_size": 8}'))
    assert error.status() == "StatusCode.INVALID_ARGUMENT" and "not supported" in error.message()
    assert refusal(lambda: client.load_model("nope")).status() == "StatusCode.NOT_FOUND"
    client.close()


def test_poll_mode_shows_the_index_and_refuses_loads(start_server: Callable[..., Server], models_dir: Path) -> None:
    server = start_server(models_dir, env={"GANSERVE_MODEL_CONTROL": "poll"})
    client = triton.InferenceServerClient(server.grpc)
    assert len(client.get_model_repository_index().models) == 3
    error = refusal(lambda: client.load_model("gen"))
    assert error.status() == "StatusCode.FAILED_PRECONDITION" and "poll" in error.message()
    client.close()


def test_the_admin_key_guards_the_repository_calls_only(start_server: Callable[..., Server], models_dir: Path) -> None:
    admin = "admin-key-for-the-repo"
    server = start_server(models_dir, env=EXPLICIT | {"GANSERVE_ADMIN_KEY": admin})
    client = triton.InferenceServerClient(server.grpc)
    assert client.infer("gen", z_input()).as_numpy("image") is not None  # no API key set: inference is open
    error = refusal(lambda: client.unload_model("gen"))
    assert error.status() == "StatusCode.UNAUTHENTICATED" and "admin key" in error.message()
    client.unload_model("gen", headers={"x-api-key": admin})
    client.load_model("gen", headers={"authorization": f"Bearer {admin}"})
    assert client.is_model_ready("gen")
    client.close()
