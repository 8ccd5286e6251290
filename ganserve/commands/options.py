"""Options shared by the commands that talk to a running server (--url, --api-key, --timeout)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from ganserve.calls import DEFAULT_URL
from ganserve.client import Client
from ganserve.errors import GanserveError

EPILOG = "The server is found through --url, else $GANSERVE_URL, else " + DEFAULT_URL + "."


def add_server_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("server")
    group.add_argument(
        "--url",
        default=os.environ.get("GANSERVE_URL") or DEFAULT_URL,
        help="server base URL (default: $GANSERVE_URL or %(default)s)",
    )
    group.add_argument(
        "--api-key",
        default=os.environ.get("GANSERVE_API_KEY"),
        help="API key, when the server needs one (default: $GANSERVE_API_KEY)",
    )
    group.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for an answer (default: 60)")
    group.add_argument(
        "--retries", type=int, default=4, help="tries in all when the server is overloaded (503/429) (default: 4)"
    )


def with_client(action: Callable[[Client, argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command body: build the client from the options, print client errors as one line, exit 1."""

    def run(args: argparse.Namespace) -> int:
        def say_retry(attempt: int, wait: float, reason: str) -> None:
            print(f"attempt {attempt}/{args.retries} refused ({reason}); retrying in {wait:.1f}s", file=sys.stderr)

        try:
            with Client(
                args.url, api_key=args.api_key or None, timeout=args.timeout, retry=args.retries, on_retry=say_retry
            ) as client:
                return action(client, args)
        except (GanserveError, OSError, ValueError) as exc:
            request_id = exc.request_id if isinstance(exc, GanserveError) else None
            request = f" (request id {request_id})" if request_id else ""
            print(f"error: {exc}{request}", file=sys.stderr)
            return 1

    return run


def parse_label(text: str) -> int | str:
    """A class given on the command line: an index, or a class name."""
    return int(text) if text.lstrip("-").isdigit() else text
