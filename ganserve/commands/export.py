"""`ganserve export ...`: the same as `python -m training export ...` (needs the `train` extra: torch, onnx)."""

from __future__ import annotations

import argparse

from ganserve.commands.forward import add_forwarding_parser


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_forwarding_parser(
        sub,
        "export",
        "export a trained generator to models/ as ONNX + manifest (forwards to `python -m training export`)",
    )
