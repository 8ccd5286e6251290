"""Readiness, in-flight accounting and graceful drain.

`RequestGate` is a pure ASGI middleware (cheap on the hot path). It counts requests in flight, answers every
new request with a fast 503 + Retry-After once draining began (health and metrics stay open), closes the
connection after any answer given during a drain (so balancers stop reusing it), and records
`ganserve_request_duration_seconds` for the model endpoints, whatever their outcome (422s and 503s included).
Which route answered comes from the router itself (`scope["route"]`, its name and `{name}` path parameter), so the
paths are written once, on the routes.

`install_drain_on_sigterm` chains in front of the server's own SIGTERM handler: the first SIGTERM flips
readiness to 503 and starts draining; when nothing is in flight (or after DRAIN_TIMEOUT_S) the original handler
runs, so uvicorn only begins its shutdown once accepted requests are answered. A second SIGTERM stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import Draining
from service.http_errors import send_error
from service.logs import log_event
from service.metrics import ModelMetrics

log = logging.getLogger("ganserve.lifecycle")

OPEN_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", "/metrics"})
# Route names (the `endpoint` label) of the endpoints that run a model: each request to them is observed.
OBSERVED = frozenset({"generate", "translate", "interpolate", "image", "infer"})


class Lifecycle:
    def __init__(self) -> None:
        self.ready = False  # models loaded and serving
        self.draining = False
        self.inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.inflight += 1
        self._idle.clear()

    def leave(self) -> None:
        self.inflight -= 1
        if self.inflight == 0:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """True when nothing is in flight, False if `timeout` passed first."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


class RequestGate:
    def __init__(
        self,
        app: ASGIApp,
        lifecycle: Lifecycle,
        model_metrics: Callable[[str], ModelMetrics | None],
        routes: list[BaseRoute],
    ) -> None:
        self.app = app
        self.lifecycle = lifecycle
        self.model_metrics = model_metrics
        self.routes = routes  # the app's routes, to name a request refused before it reaches the router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if self.lifecycle.draining:
            observed = self._observed(_match(self.routes, scope))
            if observed is not None:
                observed[1].rejected("draining")
            await send_error(send, Draining("the server is draining for shutdown; retry on another replica"))
            return
        status = 500
        started = time.perf_counter()
        lifecycle = self.lifecycle

        async def send_tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if lifecycle.draining:  # answered during a drain: do not keep the connection for more requests
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        lifecycle.enter()
        try:
            await self.app(scope, receive, send_tracked)
        finally:
            lifecycle.leave()
            observed = self._observed(scope)  # the router wrote the matched route into the scope
            if observed is not None:
                observed[1].request(observed[0], status, time.perf_counter() - started)

    def _observed(self, scope: Scope | None) -> tuple[str, ModelMetrics] | None:
        """(endpoint, the served model's metrics) when `scope` was routed to a model endpoint of a served model."""
        if scope is None:
            return None
        route = scope.get("route")
        endpoint = getattr(route, "name", None)
        if endpoint not in OBSERVED:
            return None
        metrics = self.model_metrics(scope.get("path_params", {}).get("name", ""))
        return None if metrics is None else (endpoint, metrics)


def _match(routes: list[BaseRoute], scope: Scope) -> Scope | None:
    """The child scope of the route the router would pick (full match first, as the router does)."""
    partial = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return child
        if match is Match.PARTIAL and partial is None:
            partial = child
    return partial


def install_drain_on_sigterm(lifecycle: Lifecycle, timeout_s: float) -> Callable[[], None]:
    """Put the drain in front of the current SIGTERM handler; returns a function that restores it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals can only be handled on the main thread (e.g. not in a test's worker)
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def chain(signum: int, frame: FrameType | None) -> None:
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signal.SIGTERM, previous)
            signal.raise_signal(signum)

    async def drain() -> None:
        drained = await lifecycle.wait_idle(timeout_s)
        if drained:
            log_event(log, logging.INFO, "drained: every accepted request was answered; shutting down")
        else:
            log_event(
                log,
                logging.WARNING,
                "drain timeout passed; shutting down",
                timeout_s=timeout_s,
                inflight=lifecycle.inflight,
            )
        chain(signal.SIGTERM, None)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if lifecycle.draining:
            chain(signum, frame)  # a second SIGTERM: stop waiting
            return
        lifecycle.draining = True
        loop.call_soon_threadsafe(start_drain)  # the only loop call that is safe inside a signal handler

    def start_drain() -> None:
        log_event(log, logging.INFO, "draining: SIGTERM received, not ready any more", inflight=lifecycle.inflight)
        tasks.append(loop.create_task(drain()))

    tasks: list[asyncio.Task[Any]] = []
    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)
        for task in tasks:
            task.cancel()

    return restore
