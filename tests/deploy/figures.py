"""What the container tier measured (`record(name, value)`), printed at the end of the run by the terminal summary
in tests/deploy/conftest.py."""

from __future__ import annotations

FIGURES: dict[str, str] = {}


def record(name: str, value: str) -> None:
    FIGURES[name] = value
