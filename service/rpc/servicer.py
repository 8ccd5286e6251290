"""`inference.GRPCInferenceService`: the Open Inference Protocol over gRPC, through the same registry, batchers and
tensor validation (service/oip.py) as the REST surface, so both answer bit for bit alike.

    ModelInfer   inputs as raw_input_contents (one entry per input, tritonclient's way) or typed contents;
                 the answer in raw_output_contents. The call's gRPC deadline (and a `timeout` parameter, in
                 microseconds) becomes the request's deadline; a cancelled call drops its queued items.
    Repository*  Triton's model repository extension: index, load, unload through service/repository.py, as
                 /v2/repository does (GANSERVE_MODEL_CONTROL decides what is allowed).
    ServerLive / ServerReady answer always (like /v2/health/*); every other call is refused with UNAVAILABLE once
    the server drains. Domain errors leave through service/grpc_errors.py.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import numpy as np

from service import oip
from service.context import ENCODE, staged
from service.errors import Draining, GanserveError, InvalidRequest, MalformedRequest
from service.grpc_errors import grpc_status, trailing_metadata
from service.http_errors import to_http
from service.registry import ServedModel
from service.repository import ModelRepository
from service.rpc import inference_pb2 as pb
from service.rpc import inference_pb2_grpc
from service.state import Service

T = TypeVar("T")
Method = Callable[["InferenceServicer", Any, Any], Awaitable[T]]

# v2 datatype -> the InferTensorContents field that carries its typed values (FP16 has none: send it raw)
CONTENTS = {
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "INT64": "int64_contents",
    "INT32": "int_contents",
    "INT16": "int_contents",
    "INT8": "int_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "BOOL": "bool_contents",
}


def _rpc(method: Method[T]) -> Method[T]:
    """Turn domain errors into the call's gRPC status (with trailing metadata) instead of an INTERNAL traceback."""

    @functools.wraps(method)
    async def call(self: InferenceServicer, request: Any, context: Any) -> T:
        try:
            return await method(self, request, context)
        except GanserveError as e:
            await context.abort(grpc_status(e, self.service.settings.overload_status), e.message, trailing_metadata(e))
            raise AssertionError("context.abort returned") from e

    return call


class InferenceServicer(inference_pb2_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
    def __init__(self, service: Service) -> None:
        self.service = service

    async def ServerLive(self, request: pb.ServerLiveRequest, context: Any) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: pb.ServerReadyRequest, context: Any) -> pb.ServerReadyResponse:
        lifecycle = self.service.lifecycle
        return pb.ServerReadyResponse(ready=lifecycle.ready and not lifecycle.draining)

    @_rpc
    async def ServerMetadata(self, request: pb.ServerMetadataRequest, context: Any) -> pb.ServerMetadataResponse:
        self._refuse_if_draining()
        return pb.ServerMetadataResponse(name=oip.SERVER_NAME, version=oip.SERVER_VERSION, extensions=oip.EXTENSIONS)

    @_rpc
    async def ModelReady(self, request: pb.ModelReadyRequest, context: Any) -> pb.ModelReadyResponse:
        self._refuse_if_draining()
        self.service.registry.get(request.name, request.version or None)
        return pb.ModelReadyResponse(ready=self.service.lifecycle.ready)

    @_rpc
    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: Any) -> pb.ModelMetadataResponse:
        self._refuse_if_draining()
        registry = self.service.registry
        meta = oip.metadata(registry.get(request.name, request.version or None), registry)
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta["name"],
            versions=meta["versions"],
            platform=meta["platform"],
            inputs=[tensor(**t) for t in meta["inputs"]],
            outputs=[tensor(**t) for t in meta["outputs"]],
        )

    @_rpc
    async def ModelInfer(self, request: pb.ModelInferRequest, context: Any) -> pb.ModelInferResponse:
        service = self.service
        model = service.registry.get(request.model_name, request.model_version or None)
        if service.lifecycle.draining:
            model.metrics.rejected("draining")
            self._refuse_if_draining()
        started, status = time.perf_counter(), 500
        service.lifecycle.enter()  # a SIGTERM drain waits for accepted calls, as for HTTP requests
        try:
            model.batcher.ensure_room(1)  # under overload, refuse before paying for the conversion
            feeds, deadline_ms = await asyncio.to_thread(
                _feeds, model, request, service.settings.max_images_per_request
            )
            remaining = context.time_remaining()
            if remaining is not None:
                grpc_ms = max(1, int(remaining * 1000))
                deadline_ms = grpc_ms if deadline_ms is None else min(deadline_ms, grpc_ms)
            rows = await model.batcher.run(feeds, None, service.timeout(deadline_ms))
            response = await asyncio.to_thread(staged(ENCODE, lambda: _response(model, request.id, rows)))
            status = 200
            return response
        except GanserveError as e:
            status = to_http(e, service.settings.overload_status).status  # the label HTTP would record
            raise
        except asyncio.CancelledError:  # the client cancelled or its deadline passed: the batcher dropped the items
            status = 499
            raise
        finally:
            service.lifecycle.leave()
            model.metrics.request("grpc", status, time.perf_counter() - started)

    @_rpc
    async def RepositoryIndex(self, request: pb.RepositoryIndexRequest, context: Any) -> pb.RepositoryIndexResponse:
        rows = self._repository(change=False).index(ready_only=request.ready)
        return pb.RepositoryIndexResponse(models=[pb.RepositoryIndexResponse.ModelIndex(**row) for row in rows])

    @_rpc
    async def RepositoryModelLoad(
        self, request: pb.RepositoryModelLoadRequest, context: Any
    ) -> pb.RepositoryModelLoadResponse:
        repository = self._repository(change=True)
        repository.check_load_parameters(request.model_name, list(request.parameters))
        await repository.load(request.model_name)
        return pb.RepositoryModelLoadResponse()

    @_rpc
    async def RepositoryModelUnload(
        self, request: pb.RepositoryModelUnloadRequest, context: Any
    ) -> pb.RepositoryModelUnloadResponse:
        await self._repository(change=True).unload(request.model_name)
        return pb.RepositoryModelUnloadResponse()

    def _repository(self, change: bool) -> ModelRepository:
        """The live model manager, if GANSERVE_MODEL_CONTROL allows this call (the same check as over HTTP)."""
        self._refuse_if_draining()
        repository = self.service.repository
        assert repository is not None  # the lifespan builds it before serving
        repository.check_control(change)
        return repository

    def _refuse_if_draining(self) -> None:
        if self.service.lifecycle.draining:
            raise Draining("the server is draining for shutdown; retry on another replica")


def _parameters(parameters: Any) -> dict[str, Any]:
    return {
        key: getattr(value, value.WhichOneof("parameter_choice") or "string_param") for key, value in parameters.items()
    }


def _feeds(model: ServedModel, request: pb.ModelInferRequest, max_rows: int) -> tuple[dict[str, Any], int | None]:
    """The request's feeds and own deadline (ms), validated exactly as the REST surface validates."""
    for output in request.outputs:
        if "classification" in output.parameters:
            raise InvalidRequest(f"output {output.name!r}: the classification extension is not supported")
    oip.check_outputs(model, [o.name for o in request.outputs])
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise MalformedRequest(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs; send "
            "one per input, in the order of inputs"
        )
    tensors = []
    for i, t in enumerate(request.inputs):
        field = CONTENTS.get(t.datatype)
        values = list(getattr(t.contents, field)) if field and t.HasField("contents") else []
        if raw and t.HasField("contents"):
            raise MalformedRequest(f"input {t.name!r} has both contents and raw_input_contents; send one")
        if raw:
            tensors.append(oip.Tensor(t.name, t.datatype, list(t.shape), raw=raw[i]))
        elif values:
            tensors.append(oip.Tensor(t.name, t.datatype, list(t.shape), values=np.asarray(values)))
        else:
            where = f"contents.{field} or raw_input_contents" if field else "raw_input_contents"
            raise MalformedRequest(f"input {t.name!r} has no values: send them in {where}")
    feeds = oip.to_feeds(model, tensors, max_rows)
    return feeds, oip.timeout_ms(_parameters(request.parameters))


def _response(model: ServedModel, request_id: str, rows: list[Any]) -> pb.ModelInferResponse:
    out = oip.output_array(rows)
    response = pb.ModelInferResponse(model_name=model.name, model_version=model.version, id=request_id)
    response.outputs.add(name=oip.output_name(model), datatype=oip.OUTPUT_DATATYPE, shape=list(out.shape))
    response.raw_output_contents.append(oip.raw_bytes(out))
    return response
