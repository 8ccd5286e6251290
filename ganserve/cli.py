"""The `ganserve` command line.

    ganserve serve --port 8000 --models-dir models
    ganserve <command> --help

Each sub-command lives in its own module under `ganserve/commands/` and exposes
`add_parser(subparsers)`, which registers the command and sets `func(args) -> int`.
Modules are listed here so that `--help` shows every command; heavy imports happen inside `func`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["serve", "models", "generate", "interpolate", "translate", "train", "export", "import_model"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganserve", description="Serve, call and train GAN generators.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"ganserve.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
