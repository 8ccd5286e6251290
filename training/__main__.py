"""Train, evaluate and export GAN generators.

    python -m training train --help
    python -m training evaluate --help
    python -m training export --help

Each sub-command lives in its own module and exposes `add_parser(subparsers)`, which registers the
command and sets `func(args) -> int`. Unknown names fail here with the list of valid ones.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> module that implements it
COMMANDS = {
    "train": "training.cli_train",
    "export": "training.cli_export",
    "evaluate": "training.cli_evaluate",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
