"""`ganserve models`: list what a server serves."""

from __future__ import annotations

import argparse
import json

from ganserve.client import Client
from ganserve.commands.options import EPILOG, add_server_options, with_client


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", help="list the models a server serves",
                       description="List the models a running server serves: kind, image size, classes.",
                       epilog=EPILOG)
    p.add_argument("--json", action="store_true", help="print the server's JSON instead of a table")
    add_server_options(p)
    p.set_defaults(func=with_client(run))


def run(client: Client, args: argparse.Namespace) -> int:
    models = client.models()
    if args.json:
        print(json.dumps([m.raw for m in models], indent=2))
        return 0
    rows = [("NAME", "VERSION", "KIND", "IMAGE", "CLASSES", "PROVIDER")]
    for m in models:
        classes = ",".join(m.class_names) if m.class_names else "-"
        rows.append((m.name, m.version, m.kind, f"{m.channels}x{m.height}x{m.width}", classes, m.provider or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0
