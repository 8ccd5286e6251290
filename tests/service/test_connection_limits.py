"""Connection-level protection: `ganserve serve` hands GANSERVE_LIMIT_CONCURRENCY and GANSERVE_BACKLOG to uvicorn."""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.service.test_lifecycle import wait_for
from tests.support.server import Server


def test_past_the_concurrency_limit_uvicorn_refuses_with_503(
    start_server: Callable[..., Server], models_dir: Path
) -> None:
    server = start_server(models_dir, env={"GANSERVE_LIMIT_CONCURRENCY": "3", "GANSERVE_BACKLOG": "64"})
    host, port = server.url.removeprefix("http://").split(":")
    assert httpx.get(server.url + "/v2/health/live").status_code == 200  # under the limit
    with ExitStack() as stack:
        for _ in range(3):  # idle open connections count against the limit
            stack.enter_context(socket.create_connection((host, int(port)), timeout=10))
        with httpx.Client(base_url=server.url) as client:
            # uvicorn counts a connection as soon as it is accepted; retry until it has seen all three
            statuses = [client.get("/v2/health/live", headers={"Connection": "close"}).status_code for _ in range(5)]
        assert 503 in statuses
    # the idle connections are closed: served again once uvicorn has seen them go
    wait_for(lambda: httpx.get(server.url + "/v2/health/live").status_code == 200, timeout=10)
