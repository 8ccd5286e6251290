"""OpenTelemetry traces (the optional `otel` extra), imported only when `GANSERVE_TRACING=true`.

    pip install 'ganserve[otel]'
    GANSERVE_TRACING=true OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 ganserve serve

Each request becomes a SERVER span named after its route template (`POST /v1/models/{name}/generate`), with
one child span per stage its rows went through, in order: `queue` (waiting for a batch), `inference` (the
batch in onnxruntime, shared with the other requests in it) and `encode` (its rows into PNG or JSON). A request
split over several batches has one of each per batch. A W3C `traceparent` header (and `tracestate`) on the
request makes its span a child of the caller's; the answer carries the server span's own `traceparent`.

Stage spans are written when the request ends, from the times the batcher recorded (`service.context`), so
the batcher never calls OpenTelemetry from its worker thread. Everything else follows the standard variables:
OTEL_SERVICE_NAME (default "ganserve"), OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG),
OTEL_TRACES_EXPORTER (otlp, console or none), OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL (http/protobuf or grpc),
OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT / _HEADERS / _TIMEOUT, OTEL_BSP_* for batching the export.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from service.context import RequestRecord

__all__ = ["Tracer", "exporter_from_env"]

Span = trace.Span


def exporter_from_env() -> SpanExporter | None:
    """The span exporter OTEL_TRACES_EXPORTER names (default otlp); None for "none"."""
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")[0].strip().lower()
    if kind == "none":
        return None
    if kind == "console":
        return ConsoleSpanExporter()
    if kind != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={kind!r} is not supported here: use otlp, console or none")
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        return Grpc()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http()


class Tracer:
    """Turns request records into spans. `processor` is for tests (e.g. a SimpleSpanProcessor over an
    InMemorySpanExporter); by default spans are batched to the exporter the environment names."""

    def __init__(self, processor: SpanProcessor | None = None) -> None:
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "ganserve")})
        self.provider = TracerProvider(resource=resource)
        if processor is None:
            exporter = exporter_from_env()
            processor = BatchSpanProcessor(exporter) if exporter is not None else None
        if processor is not None:
            self.provider.add_span_processor(processor)
        self._tracer = self.provider.get_tracer("ganserve")
        # perf_counter() -> epoch nanoseconds, fixed once so that every span shares one time line
        self._epoch_ns = time.time_ns() - int(time.perf_counter() * 1e9)

    def _ns(self, perf: float) -> int:
        return self._epoch_ns + int(perf * 1e9)

    def start(self, record: RequestRecord, headers: Iterable[tuple[bytes, bytes]] | None) -> Span:
        """The request's span, a child of the caller's when `headers` carry a valid traceparent."""
        parent = None
        if headers is not None:
            carrier = {
                k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in (b"traceparent", b"tracestate")
            }
            parent = propagate.extract(carrier)
        return self._tracer.start_span(
            f"{record.method} {record.path}",
            context=parent,
            kind=trace.SpanKind.SERVER,
            start_time=self._ns(record.started),
        )

    @staticmethod
    def traceparent(span: Span) -> str:
        ctx = span.get_span_context()
        return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"

    def finish(self, span: Span, record: RequestRecord, end: float) -> None:
        """Name the span after the route, add the stages as children, end everything at the recorded times."""
        if not span.is_recording():
            return
        if record.route is not None:
            span.update_name(f"{record.method} {record.route}")
            span.set_attribute("http.route", record.route)
        attributes: dict[str, str | int] = {
            "http.request.method": record.method,
            "url.path": record.path,
            "http.response.status_code": record.status,
            "ganserve.request_id": record.request_id,
            "ganserve.images": record.images,
        }
        if record.model is not None:
            attributes |= {"ganserve.model": record.model, "ganserve.model_version": record.version or ""}
        if record.client is not None:
            attributes["client.address"] = record.client.rpartition(":")[0]
        span.set_attributes(attributes)
        if record.status >= 500 or record.status == 0:
            span.set_status(trace.StatusCode.ERROR)
        parent = trace.set_span_in_context(span)
        for name, start, stop, batch_size in sorted(record.stages, key=lambda s: s[1]):
            child = self._tracer.start_span(name, context=parent, start_time=self._ns(start))
            if batch_size:
                child.set_attribute("ganserve.batch_size", batch_size)
            child.end(end_time=self._ns(stop))
        span.end(end_time=self._ns(end))

    def shutdown(self) -> None:
        """Export what is still buffered (called when the server stops)."""
        self.provider.shutdown()
