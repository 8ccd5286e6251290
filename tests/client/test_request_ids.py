"""The client's X-Request-ID: one per call, kept across retries, on every result and error."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from ganserve import errors
from ganserve.client import Client, Retry
from tests.client.test_client_unit import GENERATED, png
from tests.support.server import Server


def echoing(answers: list[httpx.Response]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """Answers in turn (then 200s), each echoing the request's ID the way the server does."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0) if answers else httpx.Response(200, json=GENERATED)
        answer.headers["X-Request-ID"] = request.headers["X-Request-ID"]
        return answer

    return httpx.MockTransport(handler), seen


def test_each_call_has_its_own_id_and_its_retries_keep_it() -> None:
    transport, seen = echoing([httpx.Response(503, json={"error": "full", "type": "queue_full"})])
    with Client("http://test", transport=transport, sleep=lambda s: None, retry=Retry(attempts=2)) as c:
        first = c.generate("gen", 3)
        second = c.generate("gen", 3)
    ids = [r.headers["X-Request-ID"] for r in seen]
    assert len(ids) == 3 and ids[0] == ids[1] != ids[2] and all(len(i) == 32 for i in ids)
    assert first.request_id == ids[0] and second.request_id == ids[2]
    assert {im.request_id for im in first.images} == {ids[0]}


def test_errors_carry_the_id_of_the_call_that_failed() -> None:
    transport, seen = echoing([httpx.Response(404, json={"error": "unknown model 'x'", "type": "unknown_model"})])
    with Client("http://test", transport=transport) as c, pytest.raises(errors.NotFoundError) as failed:
        c.generate("x")
    assert failed.value.request_id == seen[0].headers["X-Request-ID"]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    with (
        Client("http://test", transport=httpx.MockTransport(refuse)) as c,
        pytest.raises(errors.RequestTimeoutError) as timed_out,
    ):
        c.models()
    assert timed_out.value.request_id is not None and len(timed_out.value.request_id) == 32


def test_every_result_type_has_the_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        rid = {"X-Request-ID": request.headers["X-Request-ID"]}
        if request.url.path.endswith(".png"):
            return httpx.Response(200, content=png(), headers={"Content-Type": "image/png", **rid})
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"models": [{"name": "gen", "kind": "unconditional"}]}, headers=rid)
        return httpx.Response(
            200,
            headers=rid,
            json={
                "model_name": "gen",
                "outputs": [{"name": "image", "shape": [1, 2], "datatype": "FP32", "data": [0.5, -0.5]}],
            },
        )

    with Client("http://test", transport=httpx.MockTransport(handler)) as c:
        found = [
            c.image("gen", 1).request_id,
            c.models()[0].request_id,
            c.infer("gen", {"z": np.ones((1, 8), np.float32)}).request_id,
        ]
    assert all(isinstance(i, str) and len(i) == 32 for i in found) and len(set(found)) == 3


def test_against_a_real_server_the_id_is_the_one_in_its_answer(server: Server) -> None:
    with Client(server.url) as c:
        made = c.generate("gen", 2, seed=1)
        with pytest.raises(errors.BadRequestError) as refused:
            c.generate("gen", 0)
    assert made.request_id is not None and refused.value.request_id is not None
    assert made.request_id != refused.value.request_id and refused.value.status_code == 422
