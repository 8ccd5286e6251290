"""The flags of `ganserve import`, as one typed value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ganserve.importer.graph import Range
from service.manifest import Kind


@dataclass(frozen=True)
class ImportOptions:
    name: str
    version: str = "1"
    models_dir: Path = Path("models")
    kind: Kind | None = None
    noise: str | None = None
    label: str | None = None
    image_input: str | None = None
    output: str | None = None
    output_range: Range | None = None
    input_range: Range | None = None
    class_names: list[str] | None = None
    num_classes: int | None = None
    layout: Literal["NCHW", "NHWC"] | None = None
    description: str = ""
    force: bool = False
