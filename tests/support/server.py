"""A real `ganserve serve` process on a free loopback port, for integration tests.

    with running_server(models_dir, env={"GANSERVE_MAX_BATCH_SIZE": "8"}) as server:
        httpx.get(server.url + "/v1/models")
        tritonclient.grpc.InferenceServerClient(server.grpc)   # its gRPC port, also free and on loopback
        server.terminate()          # SIGTERM (graceful drain); server.wait() -> exit status

The server's output goes to `server.log_path`; it is printed if the server fails to become ready.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    grpc: str = ""  # host:port of its gRPC server ("" when GANSERVE_GRPC_PORT=0)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/v2/health/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server not ready after {timeout} s:\n{server.log()}")


@contextmanager
def running_server(
    models_dir: Path,
    env: dict[str, str] | None = None,
    *,
    log_dir: Path | None = None,
    ready_timeout: float = 60.0,
    args: list[str] | None = None,
) -> Iterator[Server]:
    """Start `python -m ganserve.cli serve` on 127.0.0.1:<free port>; stop it (SIGTERM, then SIGKILL) on exit."""
    for attempt in range(3):  # the free port can be taken between our probe and the server's bind
        port = free_port()
        log_path = (log_dir or models_dir.parent) / f"server-{port}.log"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("GANSERVE_")}
        child_env |= {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "GANSERVE_GRPC_PORT": str(free_port())}
        child_env |= {"GANSERVE_INSTANCES": "1"}  # one batch at a time unless a test asks (see tests/conftest.py)
        child_env |= env or {}
        command = [
            sys.executable,
            "-m",
            "ganserve.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--models-dir",
            str(models_dir),
            *(args or []),
        ]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, cwd=REPO, env=child_env, stdout=log, stderr=subprocess.STDOUT)
        grpc_port = child_env["GANSERVE_GRPC_PORT"]
        grpc = f"127.0.0.1:{grpc_port}" if grpc_port != "0" else ""
        server = Server(f"http://127.0.0.1:{port}", process, log_path, grpc)
        try:
            _wait_ready(server, ready_timeout)
        except RuntimeError:
            _stop(process)
            if attempt < 2 and any(m in server.log().lower() for m in ("address already in use", "failed to bind")):
                continue
            raise
        try:
            yield server
        finally:
            _stop(process)
        return


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
