"""Commands that hand their arguments unchanged to `python -m training <command>`.

Training needs torch, which the serving install leaves out, so the import happens only when the command runs.
"""

from __future__ import annotations

import argparse
import sys


def add_forwarding_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str) -> None:
    # No option prefix: every argument, `--help` included, goes through untouched to the training CLI.
    p = sub.add_parser(
        name,
        help=help,
        add_help=False,
        prefix_chars="\0",
        description=f"{help}. Run `ganserve {name} --help` for its options.",
    )
    p.add_argument("args", nargs="*")
    p.set_defaults(func=lambda args: forward(name, args.args))


def forward(name: str, argv: list[str]) -> int:
    try:
        from training.__main__ import main

        return main([name, *argv])
    except ModuleNotFoundError as exc:
        print(
            f"error: `ganserve {name}` cannot import {exc.name!r}; the training commands need the train extra: "
            "pip install -e '.[train]'",
            file=sys.stderr,
        )
        return 1
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
