"""The gRPC server (grpc.aio), in the same process and event loop as the HTTP server, owned by the app's lifespan.

    server = await start_grpc(service)     # None when GANSERVE_GRPC_PORT=0
    ...
    await server.stop()

It serves the Open Inference Protocol (service/rpc/servicer.py) and grpc.health.v1 (service/rpc/health.py) on
GANSERVE_HOST:GANSERVE_GRPC_PORT, with message size limits from settings. The API key, when set, is checked on
every call but the health and liveness/readiness ones, from metadata `authorization: Bearer <key>` or
`x-api-key: <key>` (service/auth.py, the same rule as HTTP); the repository calls take GANSERVE_ADMIN_KEY if set.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from pydantic import SecretStr

from service.auth import check_key
from service.errors import Unauthorized
from service.grpc_errors import grpc_status, trailing_metadata
from service.rpc import health_pb2_grpc, inference_pb2_grpc
from service.rpc.access import RequestTracking
from service.rpc.health import HealthServicer
from service.rpc.servicer import InferenceServicer
from service.state import Service

log = logging.getLogger("ganserve.grpc")

OPEN_METHODS = frozenset(
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/inference.GRPCInferenceService/ServerLive",
        "/inference.GRPCInferenceService/ServerReady",
    }
)


REPOSITORY_METHODS = frozenset(
    {
        "/inference.GRPCInferenceService/RepositoryIndex",
        "/inference.GRPCInferenceService/RepositoryModelLoad",
        "/inference.GRPCInferenceService/RepositoryModelUnload",
    }
)


class ApiKey(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuse (UNAUTHENTICATED) calls without their key, before their request is even read: the repository calls
    take GANSERVE_ADMIN_KEY when it is set, every other call (and those, without an admin key) the API key."""

    def __init__(self, api_key: SecretStr | None, admin_key: SecretStr | None) -> None:
        self.api_key = api_key
        self.admin_key = admin_key

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        if details.method not in OPEN_METHODS:
            metadata = dict(details.invocation_metadata or ())
            admin = details.method in REPOSITORY_METHODS and self.admin_key is not None
            key, what = (self.admin_key, "admin key (GANSERVE_ADMIN_KEY)") if admin else (self.api_key, "API key")
            try:
                check_key(key, metadata.get("x-api-key"), metadata.get("authorization"), what)
            except Unauthorized as e:
                return _refusal(e)
        return await continuation(details)


def _refusal(error: Unauthorized) -> Any:
    async def refuse(request: bytes, context: Any) -> None:
        await context.abort(grpc_status(error), error.message, trailing_metadata(error))

    return grpc.unary_unary_rpc_method_handler(refuse)


@dataclass
class GrpcServer:
    server: Any  # grpc.aio.Server
    health: HealthServicer
    address: str

    async def stop(self, grace_s: float = 2.0) -> None:
        """Stop taking calls; calls still running get `grace_s` to finish (the SIGTERM drain waited for them)."""
        self.health.close()
        await self.server.stop(grace_s)


async def start_grpc(service: Service) -> GrpcServer | None:
    settings = service.settings
    if settings.grpc_port == 0:
        return None
    tracking = RequestTracking(service.tracer, settings.access_log)  # first: IDs and access lines for refusals too
    keyed = settings.api_key is not None or settings.admin_key is not None
    server = grpc.aio.server(
        interceptors=[tracking, ApiKey(settings.api_key, settings.admin_key)] if keyed else [tracking],
        options=[
            ("grpc.max_receive_message_length", settings.grpc_max_receive_bytes),
            ("grpc.max_send_message_length", settings.grpc_max_send_bytes),
            # several workers share the port; a single one must fail loudly if another process holds it
            ("grpc.so_reuseport", 1 if settings.workers > 1 else 0),
        ],
    )
    health = HealthServicer(service.lifecycle)
    inference_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(service), server)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    address = f"{host}:{settings.grpc_port}"
    server.add_insecure_port(address)  # raises RuntimeError when the port is taken
    await server.start()
    log.info("gRPC (Open Inference Protocol + grpc.health.v1) on %s", address)
    return GrpcServer(server, health, address)
