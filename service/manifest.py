"""The model manifest: the one contract shared by `training/` (which writes it) and `service/` (which reads it).

A model version lives in ``models/<name>/<version>/`` as ``model.onnx`` plus ``manifest.json``::

    {"schema_version": 1, "name": "dcgan-mnist", "version": "1", "kind": "unconditional",
     "inputs":  {"noise": {"name": "z", "dtype": "float32", "shape": ["batch", 64]}},
     "outputs": {"image": {"name": "image", "dtype": "float32", "shape": ["batch", 1, 28, 28]}},
     "latent_dim": 64, "image": {"channels": 1, "height": 28, "width": 28}, "output_range": [-1.0, 1.0],
     "opset": 18, "sha256": "<hex of model.onnx>", "provenance": {"family": "dcgan", "metrics": {...}}}

Inputs and outputs are keyed by *role*, so the service never guesses which graph input is which:

=============  ==============================  ==========================================
kind           inputs (role -> tensor)         outputs
=============  ==============================  ==========================================
unconditional  noise: float32 [batch, latent]  image: float32 [batch, C, H, W]
conditional    noise, label: int64 [batch]     image
translation    image: float32 [batch, C, H, W] image
=============  ==============================  ==========================================

Images are NCHW float32 in ``output_range`` / ``input_range`` (``[-1, 1]`` for every shipped model).
A dimension is an int, or a string naming a dynamic axis (the batch axis is always the first and dynamic).
Schema version 2 (written by ``ganserve import``) also describes noise of any trailing shape (``["batch", 100, 1,
1]``: ``latent_dim`` is the product), int32 or float one-hot labels (``label_encoding: "onehot"``, ``["batch",
num_classes]``), ``"layout": "NHWC"`` images and a fixed batch of 1 (every first dimension ``1``); a version-1
reader refuses it rather than misread it. ``service/adapters.py`` alone maps these to the service's tensors.
This module imports only pydantic and the standard library, so training code may import it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION: Literal[1] = 1  # what training writes; ganserve import writes 2
MANIFEST_FILE = "manifest.json"
ONNX_FILE = "model.onnx"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"


class Kind(str, Enum):
    unconditional = "unconditional"
    conditional = "conditional"
    translation = "translation"


class Role(str, Enum):
    noise = "noise"
    label = "label"
    image = "image"


Dim = int | str


class TensorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    dtype: Literal["float32", "float16", "int64", "int32"]
    shape: list[Dim] = Field(min_length=1)
    layout: Literal["NCHW", "NHWC"] | None = None  # image tensors only (v2); absent means NCHW

    @model_validator(mode="after")
    def _batch_first(self) -> TensorSpec:
        if not isinstance(self.shape[0], str) and self.shape[0] != 1:
            raise ValueError(
                f"tensor {self.name!r}: the first (batch) dimension must be dynamic, e.g. 'batch' "
                "(or 1, a fixed batch of one)"
            )
        if any(isinstance(d, int) and d <= 0 for d in self.shape):
            raise ValueError(f"tensor {self.name!r}: fixed dimensions must be positive, got {self.shape}")
        if self.layout is not None and len(self.shape) != 4:
            raise ValueError(f"tensor {self.name!r}: a layout applies to 4-d image tensors only")
        return self

    @property
    def fixed_batch(self) -> bool:
        return self.shape[0] == 1

    def chw(self) -> list[Dim]:
        """The (channels, height, width) dimensions of an image tensor, whatever its layout."""
        c, h, w = (3, 1, 2) if self.layout == "NHWC" else (1, 2, 3)
        return [self.shape[c], self.shape[h], self.shape[w]]


class ImageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: Literal[1, 3]
    height: int = Field(gt=0, le=4096)
    width: int = Field(gt=0, le=4096)


_REQUIRED_INPUTS: dict[Kind, set[Role]] = {
    Kind.unconditional: {Role.noise},
    Kind.conditional: {Role.noise, Role.label},
    Kind.translation: {Role.image},
}


class Manifest(BaseModel):
    """Everything the service needs to serve one model version, validated on load."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1, 2] = SCHEMA_VERSION
    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(pattern=VERSION_PATTERN)
    kind: Kind
    description: str = ""
    inputs: dict[Role, TensorSpec]
    outputs: dict[Literal["image"], TensorSpec]
    image: ImageSpec  # the generated / translated image
    input_image: ImageSpec | None = None  # translation only: what the model takes
    latent_dim: int | None = Field(default=None, gt=0)
    num_classes: int | None = Field(default=None, gt=1)
    class_names: list[str] | None = None
    label_encoding: Literal["index", "onehot"] = "index"  # onehot: float (batch, num_classes), v2
    output_range: tuple[float, float] = (-1.0, 1.0)
    input_range: tuple[float, float] = (-1.0, 1.0)
    opset: int = Field(ge=7)
    onnx_file: str = ONNX_FILE
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    provenance: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        roles = set(self.inputs)
        if roles != _REQUIRED_INPUTS[self.kind]:
            want = sorted(r.value for r in _REQUIRED_INPUTS[self.kind])
            listed = sorted(r.value for r in roles)
            raise ValueError(f"a {self.kind.value} model takes inputs {want}, manifest lists {listed}")
        if self.kind is Kind.translation:
            if self.input_image is None:
                raise ValueError("a translation model needs 'input_image' (channels, height, width)")
            spec = self.inputs[Role.image]
            if len(spec.shape) != 4 or spec.chw()[0] != self.input_image.channels:
                raise ValueError(f"the image input {spec.shape} must be 4-d with input_image's channels")
        else:
            if self.latent_dim is None:
                raise ValueError(f"a {self.kind.value} model needs 'latent_dim'")
            noise = self.inputs[Role.noise].shape
            dims = [d for d in noise[1:] if isinstance(d, int)]
            if not dims or len(dims) != len(noise) - 1 or math.prod(dims) != self.latent_dim:
                raise ValueError(
                    f"noise shape {noise} does not match latent_dim {self.latent_dim} (product of its dims)"
                )
        if self.kind is Kind.conditional:
            if self.num_classes is None:
                raise ValueError("a conditional model needs 'num_classes'")
            if self.class_names is None:
                self.class_names = [str(i) for i in range(self.num_classes)]
            if len(self.class_names) != self.num_classes or len(set(self.class_names)) != self.num_classes:
                raise ValueError("'class_names' must hold num_classes distinct names")
            _check_label(self.inputs[Role.label], self.label_encoding, self.num_classes)
        out = self.outputs["image"]
        want_out = [self.image.channels, self.image.height, self.image.width]
        if out.chw() != want_out:
            raise ValueError(f"output shape {out.shape} ({out.layout or 'NCHW'}) does not match image {want_out}")
        if len({spec.fixed_batch for spec in [*self.inputs.values(), out]}) != 1:
            raise ValueError("either every tensor has a dynamic first (batch) dimension or every one is fixed at 1")
        if self.schema_version < 2 and self._uses_v2():
            raise ValueError("noise not [batch, latent_dim], int32/one-hot labels, NHWC, fixed batch: schema_version 2")
        if self.output_range[0] >= self.output_range[1] or self.input_range[0] >= self.input_range[1]:
            raise ValueError("ranges must be (low, high) with low < high")
        if "/" in self.onnx_file or "\\" in self.onnx_file or self.onnx_file.startswith("."):
            raise ValueError("'onnx_file' must be a plain file name inside the version folder")
        return self

    @property
    def fixed_batch(self) -> bool:  # the graph takes one row per run: the batcher feeds it one at a time
        return self.outputs["image"].fixed_batch

    def _uses_v2(self) -> bool:
        noise, label = self.inputs.get(Role.noise), self.inputs.get(Role.label)
        odd_noise, odd_label = noise is not None and len(noise.shape) != 2, label is not None and label.dtype != "int64"
        layouts = [t.layout for t in [*self.inputs.values(), *self.outputs.values()]]
        return any([self.fixed_batch, self.label_encoding != "index", odd_noise, odd_label, *layouts])


def _check_label(spec: TensorSpec, encoding: str, num_classes: int | None) -> None:
    if encoding == "index":
        if spec.dtype not in ("int64", "int32") or len(spec.shape) != 1:
            raise ValueError("the label input must be int64 (or int32) class indices shaped [batch]")
    elif spec.dtype not in ("float32", "float16") or spec.shape[1:] != [num_classes]:
        raise ValueError(f"a one-hot label input must be float shaped [batch, {num_classes}] (num_classes)")


class ManifestError(ValueError):
    """A manifest or its model file is unusable; the message says why."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_manifest(version_dir: Path) -> Manifest:
    """Read and validate ``version_dir/manifest.json``; check that its name and version match the folders."""
    path = version_dir / MANIFEST_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ManifestError(f"{path}: missing") from e
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: not valid JSON ({e})") from e
    try:
        manifest = Manifest.model_validate(raw)
    except ValueError as e:
        raise ManifestError(f"{path}: {e}") from e
    if manifest.name != version_dir.parent.name or manifest.version != version_dir.name:
        raise ManifestError(
            f"{path}: declares {manifest.name}/{manifest.version} but lives in "
            f"{version_dir.parent.name}/{version_dir.name}"
        )
    return manifest


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` via a temp file in the same folder and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a non-root server (container user) must be able to read models
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_manifest(version_dir: Path, manifest: Manifest) -> None:
    text = manifest.model_dump_json(indent=2) + "\n"
    write_atomic(version_dir / MANIFEST_FILE, text.encode("utf-8"))
