"""`ganserve serve`: run the service under uvicorn (uvloop + httptools).

    ganserve serve --host 127.0.0.1 --port 8000 --models-dir models
    GANSERVE_MAX_BATCH_SIZE=32 ganserve serve --workers 2

Options override the matching GANSERVE_* variables; everything else comes from the environment (see
service/settings.py). Settings are validated before the server starts, so a bad value fails here with a message.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve", help="start the model server", description="Start the HTTP model server on the models in --models-dir."
    )
    p.add_argument("--host", help="interface to bind (default: $GANSERVE_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: $GANSERVE_PORT or 8000; 0 picks a free one)")
    p.add_argument("--grpc-port", type=int, help="gRPC port (default: $GANSERVE_GRPC_PORT or 8001; 0 turns it off)")
    p.add_argument("--models-dir", help="model repository (default: $GANSERVE_MODELS_DIR or ./models)")
    p.add_argument(
        "--workers",
        type=int,
        help="server processes, each with its own sessions and batchers; /metrics "
        "adds them all up (default: $GANSERVE_WORKERS or 1)",
    )
    p.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        help="(default: $GANSERVE_LOG_LEVEL or info)",
    )
    p.add_argument("--log-format", choices=["text", "json"], help="(default: $GANSERVE_LOG_FORMAT or text)")
    p.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        help="one line per request (default: $GANSERVE_ACCESS_LOG or on)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    for option in ("host", "port", "grpc_port", "models_dir", "workers", "log_level", "log_format", "access_log"):
        value = getattr(args, option)
        if value is not None:
            os.environ[f"GANSERVE_{option.upper()}"] = str(value)  # workers build their settings from the environment

    from service.settings import Settings

    try:
        settings = Settings()
    except ValidationError as e:
        print(f"ganserve serve: invalid settings:\n{e}", file=sys.stderr)
        return 2
    if not settings.models_dir.is_dir():
        print(f"ganserve serve: models directory {settings.models_dir} does not exist", file=sys.stderr)
        return 2

    import uvicorn

    from service.logs import logging_config
    from service.multiproc import shared_metrics_dir
    from service.refusal_protocol import RefusingProtocol

    # uvicorn re-raises the SIGTERM it handled once it has shut down; with this no-op as the original handler
    # that ends the process with status 0 after the drain instead of "killed by SIGTERM".
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    with shared_metrics_dir(settings.workers):  # several workers: one scrape must see them all
        uvicorn.run(
            "service.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            loop="uvloop",
            http=RefusingProtocol,  # httptools, refusing a full queue's requests before the app (issue 16)
            log_config=logging_config(settings.log_format, settings.log_level),
            log_level=settings.log_level,
            access_log=False,  # the service writes its own access line
            timeout_graceful_shutdown=2,  # connections left after our drain are idle keep-alives
            server_header=False,
            limit_concurrency=settings.limit_concurrency or None,
            backlog=settings.backlog,  # docs/deployment.md
        )
    return 0
