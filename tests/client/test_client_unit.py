"""The client on its own, through an injected transport: retries, Retry-After, error mapping, request shapes."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import numpy as np
import pytest
from PIL import Image

from ganserve import errors
from ganserve.client import AsyncClient, Client, Retry
from ganserve.retry import parse_retry_after


def png(value: int = 128) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (4, 4), value).save(buf, format="PNG")
    return buf.getvalue()


GENERATED = {
    "model": "gen",
    "version": "1",
    "images": [{"png": base64.b64encode(png(10 * i)).decode(), "seed": 7 + i, "label": None} for i in range(3)],
}


def flaky(failures: list[httpx.Response]):
    """A transport that answers with each of `failures` in turn, then succeeds; it records every request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return failures.pop(0) if failures else httpx.Response(200, json=GENERATED)

    return httpx.MockTransport(handler), seen


def test_retries_503_and_honours_retry_after() -> None:
    transport, seen = flaky(
        [
            httpx.Response(503, headers={"Retry-After": "2"}, json={"error": "full", "type": "queue_full"}),
            httpx.Response(429, json={"error": "slow down", "type": "queue_full"}),
        ]
    )
    waits: list[float] = []
    told: list[tuple[int, float, str]] = []
    with Client(
        "http://test",
        transport=transport,
        sleep=waits.append,
        retry=Retry(attempts=3, backoff=0.1),
        on_retry=lambda *event: told.append(event),
    ) as c:
        out = c.generate("gen", 3, seed=7)
    assert len(seen) == 3
    assert told == [(1, 2.0, "503: full"), (2, waits[1], "429: slow down")]
    assert waits[0] == 2.0  # the server's Retry-After, exactly
    assert 0.05 <= waits[1] <= 0.2  # no header: back-off with jitter, 0.1 * 2**1 at most
    assert out.seeds == [7, 8, 9] and out.to_numpy().shape == (3, 4, 4)


def test_gives_up_with_overloaded_error_carrying_the_message() -> None:
    transport, seen = flaky(
        [
            httpx.Response(
                503, headers={"Retry-After": "1"}, json={"error": "queue full (1024 items)", "type": "queue_full"}
            )
        ]
        * 5
    )
    with (
        Client("http://test", transport=transport, sleep=lambda s: None, retry=2) as c,
        pytest.raises(errors.OverloadedError) as info,
    ):
        c.models()
    assert len(seen) == 2
    assert info.value.status_code == 503 and info.value.retry_after == 1.0
    assert info.value.message == "queue full (1024 items)" and info.value.error_type == "queue_full"


def test_retry_after_is_capped() -> None:
    transport, _ = flaky([httpx.Response(503, headers={"Retry-After": "3600"}, json={"error": "x"})])
    waits: list[float] = []
    with Client("http://test", transport=transport, sleep=waits.append, retry=Retry(max_wait=5)) as c:
        c.generate("gen")
    assert waits == [5]


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (422, errors.BadRequestError),
        (413, errors.BadRequestError),
        (404, errors.NotFoundError),
        (401, errors.AuthenticationError),
        (504, errors.DeadlineExceededError),
        (500, errors.ServerError),
    ],
)
def test_error_statuses_map_to_typed_errors_without_retry(status: int, cls: type[errors.APIError]) -> None:
    transport, seen = flaky([httpx.Response(status, json={"error": f"what to fix ({status})", "type": "t"})])
    with (
        Client("http://test", transport=transport, sleep=lambda s: None) as c,
        pytest.raises(cls, match=rf"what to fix \({status}\)") as info,
    ):
        c.generate("gen")
    assert len(seen) == 1 and info.value.status_code == status and isinstance(info.value, errors.GanserveError)


def test_non_json_error_body_still_gives_a_message() -> None:
    transport, _ = flaky([httpx.Response(502, text="<html>Bad Gateway</html>")])
    with Client("http://test", transport=transport) as c, pytest.raises(errors.ServerError, match="Bad Gateway"):
        c.models()


def test_connection_refused_is_retried_then_a_network_error() -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    told: list[tuple[int, float, str]] = []
    with (
        Client(
            "http://test",
            transport=httpx.MockTransport(refuse),
            sleep=lambda s: None,
            retry=3,
            on_retry=lambda *event: told.append(event),
        ) as c,
        pytest.raises(errors.NetworkError, match="is it running"),
    ):
        c.models()
    assert len(calls) == 3
    assert [(attempt, reason) for attempt, _, reason in told] == [
        (1, "connection failed: connection refused"),
        (2, "connection failed: connection refused"),
    ]


def test_timeout_is_not_retried() -> None:
    calls = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    with (
        Client("http://test", transport=httpx.MockTransport(slow), timeout=0.5) as c,
        pytest.raises(errors.RequestTimeoutError, match=r"0\.5s"),
    ):
        c.generate("gen")
    assert len(calls) == 1


def test_request_shapes_and_api_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith(".png"):
            return httpx.Response(200, content=png(), headers={"Content-Type": "image/png"})
        if request.url.path.startswith("/v2/"):
            return httpx.Response(
                200,
                json={
                    "model_name": "gen",
                    "outputs": [{"name": "image", "shape": [1, 2], "datatype": "FP32", "data": [0.5, -0.5]}],
                },
            )
        return httpx.Response(200, json=GENERATED)

    with Client("http://test/", api_key="k3y", transport=httpx.MockTransport(handler)) as c:
        c.generate("cgen", 3, seed=7, labels=np.array([1, 2, 3]), truncation=0.5)
        c.interpolate("cgen", [1, 2], labels=[0, 9], steps=5, method="lerp")
        c.translate("translate", np.zeros((8, 8), np.float32))
        im = c.image("cgen", 42, label=3, truncation=0.7)
        out = c.infer("gen", {"z": np.ones((1, 8), np.float32)}, binary=False)
        binary = c.infer("gen", {"z": np.ones((1, 8), np.float32)})
    assert all(r.headers["Authorization"] == "Bearer k3y" for r in seen)
    assert json.loads(seen[0].content) == {"n": 3, "seed": 7, "labels": [1, 2, 3], "truncation": 0.5}
    assert json.loads(seen[1].content) == {"seeds": [1, 2], "labels": [0, 9], "steps": 5, "method": "lerp"}
    assert seen[2].headers["Content-Type"].startswith("multipart/form-data") and b'name="image"' in seen[2].content
    assert seen[3].url.path == "/v1/models/cgen/images/42.png"
    assert dict(seen[3].url.params) == {"label": "3", "truncation": "0.7"}
    assert im.seed == 42 and im.label == 3 and im.image.size == (4, 4)
    v2 = json.loads(seen[4].content)["inputs"][0]
    assert v2 == {"name": "z", "shape": [1, 8], "datatype": "FP32", "data": [1.0] * 8}
    np.testing.assert_array_equal(out["image"], np.array([[0.5, -0.5]], np.float32))
    size = int(seen[5].headers["Inference-Header-Content-Length"])
    header = json.loads(seen[5].content[:size])
    assert header["inputs"] == [
        {"name": "z", "shape": [1, 8], "datatype": "FP32", "parameters": {"binary_data_size": 32}}
    ]
    assert header["parameters"] == {"binary_data_output": True}
    assert seen[5].content[size:] == np.ones(8, "<f4").tobytes()
    np.testing.assert_array_equal(binary["image"], out["image"])  # a JSON answer reads the same either way


def test_infer_reads_binary_answers() -> None:
    image = np.arange(6, dtype=np.float32).reshape(1, 6) / 7
    header = json.dumps(
        {"outputs": [{"name": "image", "shape": [1, 6], "datatype": "FP32", "parameters": {"binary_data_size": 24}}]}
    ).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=header + image.astype("<f4").tobytes(),
            headers={"Inference-Header-Content-Length": str(len(header))},
        )

    with Client("http://test/", transport=httpx.MockTransport(handler)) as c:
        out = c.infer("gen", {"z": np.ones((1, 8), np.float32)})
    assert out["image"].dtype == np.float32 and out["image"].tobytes() == image.tobytes()


def test_url_and_key_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANSERVE_URL", "http://elsewhere:9000/")
    monkeypatch.setenv("GANSERVE_API_KEY", "from-env")
    with Client() as c:
        assert c.url == "http://elsewhere:9000" and c.api_key == "from-env"


async def test_async_client_retries_with_its_own_sleep() -> None:
    failures = [httpx.Response(503, headers={"Retry-After": "0.25"}, json={"error": "busy"})]

    async def handler(request: httpx.Request) -> httpx.Response:
        return failures.pop(0) if failures else httpx.Response(200, json=GENERATED)

    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    async with AsyncClient("http://test", transport=httpx.MockTransport(handler), sleep=fake_sleep) as c:
        out = await c.generate("gen", 3, seed=7)
    assert waits == [0.25] and out.seeds == [7, 8, 9]


def test_parse_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_client_imports_without_server_or_training_packages() -> None:
    """The client and the client commands import with fastapi, starlette, onnxruntime, uvicorn and torch blocked."""
    script = textwrap.dedent("""
        import sys
        BLOCKED = ("fastapi", "starlette", "onnxruntime", "uvicorn", "torch", "onnx", "pydantic_settings")
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"blocked for this test: {name}")
        sys.meta_path.insert(0, Block())
        import httpx
        from ganserve.client import Client, AsyncClient
        from ganserve import errors
        from ganserve.commands import generate, interpolate, models, translate, train, export
        handler = lambda r: httpx.Response(200, json={"models": [{"name": "m", "version": "1", "kind": "unconditional",
                                                                   "image": {"channels": 1, "height": 8, "width": 8}}]})
        with Client("http://test", transport=httpx.MockTransport(handler)) as c:
            assert c.models()[0].name == "m"
        print("ok", sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok []"
