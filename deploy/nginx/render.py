"""Render the nginx templates for replicas at fixed addresses (nginx outside a container, and the tests).

    python deploy/nginx/render.py --port 8080 --upstream 10.0.0.5:8000 --upstream 10.0.0.6:8000 \
        --grpc-port 8081 --grpc-upstream 10.0.0.5:8001 --grpc-upstream 10.0.0.6:8001 > /etc/nginx/conf.d/ganserve.conf

Without --grpc-upstream only the HTTP side is written.

Substitutes exactly what the official nginx image's envsubst step substitutes in docker-compose.yml, and nothing
else: nginx's own `$variables` pass through untouched.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).parent / "templates" / "ganserve.conf.template"
GRPC_TEMPLATE = Path(__file__).parent / "templates" / "ganserve-grpc.conf.template"
# Passive health checks: after 3 failed tries (see proxy_next_upstream) within 2 s a replica gets no traffic for 2 s,
# then one request probes it again. Short, because a draining or restarted replica comes back quickly.
# max_conns: at most 64 requests in flight per replica (all workers together: the upstream has a zone); when every replica is at its cap nginx
# answers 503 + Retry-After itself, so a burst is shed at the balancer before it reaches (and melts) a replica.
# Sizing: docs/deployment.md, "Sizing the limits".
SERVER_PARAMS = "max_fails=3 fail_timeout=2s max_conns=64"
VARIABLES = ("NGINX_PORT", "NGINX_RESOLVER", "GANSERVE_UPSTREAM_SERVERS")
GRPC_VARIABLES = ("NGINX_GRPC_PORT", "GANSERVE_GRPC_UPSTREAM_SERVERS")


def upstream_servers(addresses: list[str], *, resolve: bool = False) -> str:
    """`server` lines for the upstream block; `resolve` (nginx >= 1.27.3) follows DNS changes at run time."""
    flag = " resolve" if resolve else ""
    return " ".join(f"server {a}{flag} {SERVER_PARAMS};" for a in addresses)


def render(values: dict[str, str], template: Path = TEMPLATE, variables: tuple[str, ...] = VARIABLES) -> str:
    missing = set(variables) - values.keys()
    if missing:
        raise ValueError(f"missing template values: {sorted(missing)}")
    text = template.read_text()
    for name in variables:
        text = text.replace(f"${{{name}}}", values[name])
    leftover = re.findall(r"\$\{\w+\}", text)
    if leftover:
        raise ValueError(f"{template}: unknown template variables {leftover}; add them to its variables")
    return text


def render_grpc(port: str, upstreams: list[str]) -> str:
    """The gRPC side: `port` to listen on (HTTP/2), the replicas' gRPC addresses."""
    return render(
        {"NGINX_GRPC_PORT": port, "GANSERVE_GRPC_UPSTREAM_SERVERS": upstream_servers(upstreams)},
        GRPC_TEMPLATE,
        GRPC_VARIABLES,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="port nginx listens on")
    parser.add_argument(
        "--upstream", action="append", required=True, metavar="HOST:PORT", help="a service replica; repeat for each"
    )
    parser.add_argument("--resolver", default="127.0.0.53", help="DNS server for upstream names")
    parser.add_argument("--grpc-port", type=int, default=8081, help="port nginx listens on for gRPC")
    parser.add_argument(
        "--grpc-upstream",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="a replica's gRPC address (GANSERVE_GRPC_PORT); repeat for each",
    )
    args = parser.parse_args(argv)
    sys.stdout.write(
        render(
            {
                "NGINX_PORT": str(args.port),
                "NGINX_RESOLVER": args.resolver,
                "GANSERVE_UPSTREAM_SERVERS": upstream_servers(args.upstream),
            }
        )
    )
    if args.grpc_upstream:
        sys.stdout.write("\n" + render_grpc(str(args.grpc_port), args.grpc_upstream))
    return 0


if __name__ == "__main__":
    sys.exit(main())
