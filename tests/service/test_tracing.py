"""OpenTelemetry spans (service.tracing) in-process, read back from an in-memory exporter."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.app import create_app
from service.noise import seeded_noise
from service.rpc import inference_pb2
from service.settings import Settings
from service.tracing import Tracer, exporter_from_env
from tests.service.test_grpc import INFER, request_with
from tests.support.models import write_generator
from tests.support.server import REPO, free_port

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def client(tmp_path: Path, exporter: InMemorySpanExporter) -> AsyncIterator[httpx.AsyncClient]:
    write_generator(tmp_path / "models", "slow", slow=512)  # inference (~0.1 s) is most of a request
    app: FastAPI = create_app(
        Settings(models_dir=tmp_path / "models", max_batch_size=1, grpc_port=0),
        tracer=Tracer(SimpleSpanProcessor(exporter)),
    )
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


async def test_a_request_has_queue_inference_and_encode_spans_that_fill_it(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    await client.post("/v1/models/slow/generate", json={"n": 1})  # the app's first request builds its stack
    exporter.clear()
    answer = await client.post("/v1/models/slow/generate", json={"n": 1, "seed": 3}, headers={"traceparent": CALLER})
    assert answer.status_code == 200
    spans = by_name(exporter.get_finished_spans())
    assert set(spans) == {"POST /v1/models/{name}/generate", "queue", "inference", "encode"}
    request = spans.pop("POST /v1/models/{name}/generate")
    assert request.parent is not None and f"{request.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert f"{request.context.trace_id:032x}" == CALLER_TRACE  # the caller's trace continues here
    assert answer.headers["traceparent"] == f"00-{CALLER_TRACE}-{request.context.span_id:016x}-01"
    assert request.attributes is not None and request.attributes["ganserve.model"] == "slow"
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["ganserve.request_id"] == answer.headers["x-request-id"]
    stages = [spans["queue"], spans["inference"], spans["encode"]]
    assert spans["inference"].attributes == {"ganserve.batch_size": 1}
    assert all(s.parent is not None and s.parent.span_id == request.context.span_id for s in stages)
    times = [(s.start_time or 0, s.end_time or 0) for s in stages]
    assert request.start_time is not None and request.end_time is not None
    assert request.start_time <= times[0][0] and times[-1][1] <= request.end_time
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(times))
    stage_total = sum(end - start for start, end in times)
    whole = request.end_time - request.start_time
    # The stages run one after another inside the request; what is left is parsing, noise and the JSON answer.
    assert 0.8 * whole < stage_total <= whole, (stage_total, whole)


async def test_a_v2_request_has_one_span_per_stage_its_encoding_is_the_json_answer(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    tensor = {"name": "z", "shape": [1, 8], "datatype": "FP32", "data": [0.5] * 8}
    assert (await client.post("/v2/models/slow/infer", json={"inputs": [tensor]})).status_code == 200
    assert sorted(s.name for s in exporter.get_finished_spans()) == [
        "POST /v2/models/{name}/infer",
        "encode",
        "inference",
        "queue",
    ]


async def test_a_request_without_traceparent_starts_a_trace_and_errors_are_spans_too(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    answer = await client.post("/v1/models/nope/generate", json={}, headers={"traceparent": "00-garbage"})
    assert answer.status_code == 404
    (span,) = exporter.get_finished_spans()
    assert span.parent is None and span.name == "POST /v1/models/{name}/generate"
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 404
    assert answer.headers["traceparent"].split("-")[1] == f"{span.context.trace_id:032x}"


async def test_a_grpc_call_continues_the_callers_trace_with_the_same_stages(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    write_generator(tmp_path / "models", "gen")
    port = free_port()
    app: FastAPI = create_app(
        Settings(models_dir=tmp_path / "models", grpc_port=port), tracer=Tracer(SimpleSpanProcessor(exporter))
    )
    request = request_with(("z", "FP32", [2, 8], seeded_noise([1, 2], 8).tobytes()))
    async with app.router.lifespan_context(app), grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        infer = channel.unary_unary(
            INFER,
            request_serializer=inference_pb2.ModelInferRequest.SerializeToString,
            response_deserializer=inference_pb2.ModelInferResponse.FromString,
        )
        call = infer(request, metadata=(("traceparent", CALLER), ("x-request-id", "grpc-trace-1")), timeout=30)
        await call
        assert dict(await call.initial_metadata())["x-request-id"] == "grpc-trace-1"
    assert sorted(s.name for s in exporter.get_finished_spans()) == [
        "GRPC /inference.GRPCInferenceService/ModelInfer",
        "encode",
        "inference",
        "queue",
    ]
    spans = by_name(exporter.get_finished_spans())
    root = spans["GRPC /inference.GRPCInferenceService/ModelInfer"]
    assert f"{root.context.trace_id:032x}" == CALLER_TRACE and root.attributes is not None
    assert (root.attributes["ganserve.request_id"], root.attributes["ganserve.images"]) == ("grpc-trace-1", 2)
    assert spans["inference"].attributes == {"ganserve.batch_size": 2}


def test_with_tracing_off_nothing_of_the_sdk_or_the_tracing_module_is_loaded(tmp_path: Path) -> None:
    write_generator(tmp_path / "models", "gen")
    script = f"""
import asyncio, json, sys, httpx
from service.app import create_app
from service.noise import seeded_noise
from service.rpc import inference_pb2
from service.settings import Settings

async def main():
    app = create_app(Settings(models_dir={str(tmp_path / "models")!r}, grpc_port=0))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            status = (await c.post("/v1/models/gen/generate", json={{"n": 2}})).status_code
    loaded = sorted(m for m in sys.modules if m == "service.tracing" or m.startswith("opentelemetry.sdk")
                    or m.startswith("opentelemetry.exporter"))
    print(json.dumps([status, loaded]))

asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [200, []]


def test_tracing_needs_the_otel_extra_and_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "opentelemetry.sdk" else real(name, *a)
    )
    with pytest.raises(ValueError, match=r"pip install 'ganserve\[otel\]'"):
        Settings(tracing=True)


@pytest.mark.parametrize(
    ("env", "exporter"),
    [
        ({}, "opentelemetry.exporter.otlp.proto.http.trace_exporter.OTLPSpanExporter"),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "opentelemetry.exporter.otlp.proto.grpc.trace_exporter.OTLPSpanExporter",
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
            "opentelemetry.exporter.otlp.proto.http.trace_exporter.OTLPSpanExporter",
        ),
        ({"OTEL_TRACES_EXPORTER": "console"}, "opentelemetry.sdk.trace.export.ConsoleSpanExporter"),
        ({"OTEL_TRACES_EXPORTER": "none"}, None),
    ],
)
def test_the_exporter_is_the_one_the_standard_variables_name(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], exporter: str | None
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    made = exporter_from_env()
    assert (None if made is None else f"{type(made).__module__}.{type(made).__qualname__}") == exporter
    if made is not None:
        made.shutdown()


def test_an_unknown_exporter_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ValueError, match="otlp, console or none"):
        exporter_from_env()
