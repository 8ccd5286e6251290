"""nginx with the repo's load-balancer template, run as the current user from a private prefix (a tmp dir).

    with Balancer(tmp_path / "nginx", port, ["127.0.0.1:8001", "127.0.0.1:8002"]) as lb:
        httpx.get(lb.url + "/v1/models")
    lb.access_log()   # one dict per request: status, upstream (addresses tried), upstream_status

The main nginx.conf here plays the part of the nginx image's own: pid, logs and temp files inside the prefix,
and the rendered template included in `http {}` exactly as the image includes conf.d/*.conf.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from deploy.nginx.render import render, upstream_servers

MAIN_CONF = """\
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/conf.d/*.conf;
}}
"""
_LOG_LINE = re.compile(
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) .*upstream="(?P<upstream>[^"]*)" '
    r'upstream_status="(?P<upstream_status>[^"]*)"'
)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def write_config(prefix: Path, port: int, upstreams: list[str]) -> Path:
    """The rendered template plus a main config for a private prefix; returns the main config's path."""
    (prefix / "conf.d").mkdir(parents=True, exist_ok=True)
    (prefix / "tmp").mkdir(exist_ok=True)
    (prefix / "conf.d" / "ganserve.conf").write_text(
        render(
            {
                "NGINX_PORT": f"127.0.0.1:{port}",
                "NGINX_RESOLVER": "127.0.0.1",
                "GANSERVE_UPSTREAM_SERVERS": upstream_servers(upstreams),
            }
        )
    )
    # As root, nginx would hand its workers to `nobody`, who cannot enter a private tmp dir: keep the current user.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main = prefix / "nginx.conf"
    main.write_text(MAIN_CONF.format(prefix=prefix, user=user))
    return main


def check_config(prefix: Path) -> subprocess.CompletedProcess[str]:
    binary = nginx_binary()
    assert binary is not None
    return subprocess.run(
        [binary, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )


class Balancer:
    def __init__(self, prefix: Path, port: int, upstreams: list[str]) -> None:
        self.prefix = prefix
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        write_config(prefix, port, upstreams)
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        binary = nginx_binary()
        assert binary is not None
        checked = check_config(self.prefix)
        assert checked.returncode == 0, checked.stderr
        with open(self.prefix / "access.log", "wb") as log:  # the template logs to /dev/stdout, as in a container
            self._process = subprocess.Popen(
                [
                    binary,
                    "-p",
                    str(self.prefix),
                    "-c",
                    str(self.prefix / "nginx.conf"),
                    "-e",
                    str(self.prefix / "error.log"),
                    "-g",
                    "daemon off;",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.prefix / 'error.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGQUIT)  # graceful: finish open requests, then stop
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def access_log(self) -> list[dict[str, str]]:
        lines = (self.prefix / "access.log").read_text().splitlines()
        return [m.groupdict() for m in map(_LOG_LINE.search, lines) if m]

    def error_log(self) -> str:
        return (self.prefix / "error.log").read_text()
