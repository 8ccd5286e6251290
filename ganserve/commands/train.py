"""`ganserve train ...`: the same as `python -m training train ...` (needs the `train` extra: torch)."""

from __future__ import annotations

import argparse

from ganserve.commands.forward import add_forwarding_parser


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_forwarding_parser(sub, "train", "train a GAN (forwards to `python -m training train`)")
