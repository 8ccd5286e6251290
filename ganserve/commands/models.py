"""`ganserve models`: list what a server serves; load and unload models on a server with model control.

ganserve models                      # the served models, as a table
ganserve models index                # every model in the server's repository, with its state
ganserve models load faces           # (re)load models/faces/* on the server (GANSERVE_MODEL_CONTROL=explicit)
ganserve models unload faces
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence

from ganserve.client import Client
from ganserve.commands.options import EPILOG, add_server_options, with_client

ACTIONS = ["list", "index", "load", "unload"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "models",
        help="list, load or unload the models of a server",
        description="List the models a running server serves (kind, image size, classes), show its "
        "repository index, or load / unload a model on a server started with "
        "GANSERVE_MODEL_CONTROL=explicit.",
        epilog=EPILOG,
    )
    p.add_argument("action", nargs="?", choices=ACTIONS, default="list", help="what to do (default: list)")
    p.add_argument("name", nargs="?", help="the model to load or unload")
    p.add_argument("--json", action="store_true", help="print the server's JSON instead of a table")
    p.add_argument(
        "--admin-key",
        default=os.environ.get("GANSERVE_ADMIN_KEY"),
        help="for index/load/unload, when the server has one (default: $GANSERVE_ADMIN_KEY)",
    )
    add_server_options(p)
    p.set_defaults(func=with_client(run), parser=p)


def run(client: Client, args: argparse.Namespace) -> int:
    client.admin_key = args.admin_key or None
    if args.action in ("load", "unload"):
        if not args.name:
            args.parser.error(f"'ganserve models {args.action}' needs the model's name")
        if args.action == "load":
            versions = client.load_model(args.name)
            print(f"loaded {args.name}: versions {', '.join(versions)} (the newest is the default)")
        else:
            client.unload_model(args.name)
            print(f"unloaded {args.name}")
        return 0
    if args.action == "index":
        index = client.repository_index()
        if args.json:
            print(json.dumps(index, indent=2))
        else:
            _table(
                [("NAME", "VERSION", "STATE", "REASON")]
                + [(r["name"], r.get("version", ""), r["state"], r.get("reason", "")) for r in index]
            )
        return 0
    models = client.models()
    if args.json:
        print(json.dumps([m.raw for m in models], indent=2))
        return 0
    rows = [("NAME", "VERSION", "KIND", "IMAGE", "CLASSES", "PROVIDER")]
    for m in models:
        classes = ",".join(m.class_names) if m.class_names else "-"
        rows.append((m.name, m.version, m.kind, f"{m.channels}x{m.height}x{m.width}", classes, m.provider or "-"))
    _table(rows)
    return 0


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
