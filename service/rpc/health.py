"""grpc.health.v1.Health, for Kubernetes gRPC probes and load balancers: SERVING while the models are loaded and
the server is not draining, NOT_SERVING otherwise (the same rule as GET /v2/health/ready).

The whole server ("") and "inference.GRPCInferenceService" are known services; Check answers NOT_FOUND for others,
as the protocol asks. Watch sends the status, then each change (looked at every `poll_s`), until the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc

from service.lifecycle import Lifecycle
from service.rpc import health_pb2 as pb
from service.rpc import health_pb2_grpc

SERVICES = frozenset({"", "inference.GRPCInferenceService"})
Status = pb.HealthCheckResponse.ServingStatus


class HealthServicer(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    def __init__(self, lifecycle: Lifecycle, poll_s: float = 0.5) -> None:
        self.lifecycle = lifecycle
        self.poll_s = poll_s
        self._closed = asyncio.Event()

    def status(self, service: str) -> Status:
        if service not in SERVICES:
            return pb.HealthCheckResponse.SERVICE_UNKNOWN
        serving = self.lifecycle.ready and not self.lifecycle.draining
        return pb.HealthCheckResponse.SERVING if serving else pb.HealthCheckResponse.NOT_SERVING

    async def Check(self, request: pb.HealthCheckRequest, context: Any) -> pb.HealthCheckResponse:
        if request.service not in SERVICES:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}; known: {sorted(SERVICES)}"
            )
        return pb.HealthCheckResponse(status=self.status(request.service))

    async def Watch(self, request: pb.HealthCheckRequest, context: Any) -> AsyncIterator[pb.HealthCheckResponse]:
        last = None
        while not self._closed.is_set():
            status = self.status(request.service)
            if status != last:
                yield pb.HealthCheckResponse(status=status)
                last = status
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), self.poll_s)

    def close(self) -> None:
        """End every Watch stream, so that stopping the server need not wait for them."""
        self._closed.set()
