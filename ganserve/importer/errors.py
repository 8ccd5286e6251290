"""The one error `ganserve import` raises: its message says what is wrong and which flag to add."""

from __future__ import annotations


class ImportRefused(Exception):
    """The model cannot be imported as given; nothing was written. The CLI prints the message and exits 2."""
