"""Rewrite a generated block of a docs page (between `<!-- generated:NAME -->` markers) with a run's table and plot."""

from __future__ import annotations

import os
from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"


def rewrite_block(page: Path, name: str, alt: str, table: str, out: Path) -> None:
    """Replace block `name` of `page` with the plot OUT.png (linked relative to the page) and `table`."""
    start, end = markers(name)
    text = page.read_text()
    if start not in text:
        raise ValueError(f"{page} has no {start} ... {end} block to rewrite")
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    plot_link = os.path.relpath(f"{out}.png", page.parent)
    page.write_text(f"{head}{start}\n![{alt}]({plot_link})\n\n{table}{end}{tail}")
