"""Export generators to ONNX for the service: ``models/<name>/<version>/model.onnx`` + ``manifest.json``.

    from training.export import export_generator
    export_generator(G, Kind.unconditional, example, Path("models/dcgan-mnist/1"), latent_dim=64, provenance={...})

Steps: copy the network to the CPU in eval mode; bake parametrizations (spectral norm) into plain weights;
re-estimate batch-norm statistics for the exported weights (an EMA generator's running statistics belong to
the raw generator); export with the torch.export-based exporter (``dynamo=True``, chosen explicitly) and a
dynamic batch axis from an example batch of 2; run ``onnx.checker``; compare onnxruntime with PyTorch at two
batch sizes on fixed seeds; write the ONNX file and then the manifest atomically (manifest last, so a reader
never sees a manifest whose file is not there yet). The image spec (channels, size) is read off the example
inputs and the network's output, so it always matches the graph.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from service.manifest import ImageSpec, Kind, Manifest, Role, TensorSpec, write_atomic, write_manifest
from training.nets.layers import bake_parametrizations

if TYPE_CHECKING:
    from training.config import TrainConfig
    from training.families.family import Trainer

OPSET = 18
EXAMPLE_BATCH = 2  # >= 2, so the exporter cannot specialise the batch axis to 1
PARITY_BATCHES = (1, 16)
PARITY_SEEDS = (0, 1)
PARITY_ATOL = 1e-4
MAX_ONNX_BYTES = 10 * 1024 * 1024

# the exporter logs a warning per torchvision op it cannot register; torchvision is not a dependency here
logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)

Example = Callable[[int, torch.Generator], tuple[torch.Tensor, ...]]


class ExportError(RuntimeError):
    """The exported graph is invalid, too large, or disagrees with PyTorch."""


def recalibrate_batchnorm(module: nn.Module, example: Example, batches: int = 20, size: int = 256) -> None:
    """Replace batch-norm running statistics by their exact average over fresh inputs (then eval mode)."""
    bns = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    if not bns:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    module.train()
    gen = torch.Generator().manual_seed(12345)
    with torch.no_grad():
        for _ in range(batches):
            module(*example(size, gen))
    for m, mom in zip(bns, momenta, strict=True):
        m.momentum = mom
    module.eval()


def parity(onnx_bytes: bytes, module: nn.Module, example: Example, input_names: list[str]) -> float:
    """Max |onnxruntime - PyTorch| over PARITY_BATCHES x PARITY_SEEDS; raises ExportError above PARITY_ATOL."""
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    worst = 0.0
    for n in PARITY_BATCHES:
        for seed in PARITY_SEEDS:
            inputs = example(n, torch.Generator().manual_seed(seed))
            with torch.no_grad():
                want = module(*inputs).numpy()
            (got,) = sess.run(None, {k: v.numpy() for k, v in zip(input_names, inputs, strict=True)})
            if got.shape != want.shape:
                raise ExportError(f"batch {n}: onnxruntime returned {got.shape}, PyTorch {want.shape}")
            worst = max(worst, float(np.abs(got - want).max()))
    if worst > PARITY_ATOL:
        raise ExportError(f"onnxruntime differs from PyTorch by {worst:.2e} (> {PARITY_ATOL:.0e})")
    return worst


def to_onnx(module: nn.Module, example: Example, input_names: list[str]) -> bytes:
    args = example(EXAMPLE_BATCH, torch.Generator().manual_seed(0))
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings():
        # torch's exporter trips over its own pytree deprecation (raised from copyreg, so the
        # project-wide "warnings are errors" would abort every export); nothing for us to fix
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
        # both inputs share the one batch Dim, and the exporter says so; the graph still names it "batch"
        warnings.filterwarnings("ignore", message="The axis name: batch will not be used", category=UserWarning)
        program = torch.onnx.export(
            module, args, dynamo=True, input_names=input_names, output_names=["image"], opset_version=OPSET,
            dynamic_shapes=tuple({0: batch} for _ in args), external_data=False, verbose=False,
        )  # fmt: skip
    if program is None:
        raise ExportError("the ONNX exporter returned no program")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        program.save(str(path))
        data = path.read_bytes()
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    if len(data) > MAX_ONNX_BYTES:
        raise ExportError(f"ONNX file is {len(data) / 2**20:.1f} MiB, over the 10 MiB limit: use a smaller --width")
    return data


def _image_spec(x: torch.Tensor) -> ImageSpec:
    """The ImageSpec of a batch of images (N, C, H, W)."""
    c, h, w = (int(d) for d in x.shape[1:])
    if c not in (1, 3):
        raise ExportError(f"images must have 1 or 3 channels, the network makes {c}")
    return ImageSpec(channels=1 if c == 1 else 3, height=h, width=w)


def export_generator(
    module: nn.Module,
    kind: Kind,
    example: Example,
    version_dir: Path,
    latent_dim: int | None = None,
    class_names: list[str] | None = None,
    provenance: dict[str, Any] | None = None,
    description: str = "",
) -> Path:
    """Export one generator to version_dir (models/<name>/<version>); returns the version folder."""
    net = bake_parametrizations(copy.deepcopy(module).cpu().float())
    recalibrate_batchnorm(net, example)
    net.eval()
    args = example(EXAMPLE_BATCH, torch.Generator().manual_seed(0))
    with torch.no_grad():
        image = _image_spec(net(*args))
    shape: list[int | str] = ["batch", image.channels, image.height, image.width]
    input_image = None
    if kind is Kind.translation:
        input_image = _image_spec(args[0])
        input_names = ["source"]
        inputs = {Role.image: TensorSpec(name="source", dtype="float32", shape=["batch", *args[0].shape[1:]])}
    else:
        assert latent_dim is not None
        input_names = ["z"]
        inputs = {Role.noise: TensorSpec(name="z", dtype="float32", shape=["batch", latent_dim])}
        if kind is Kind.conditional:
            input_names.append("label")
            inputs[Role.label] = TensorSpec(name="label", dtype="int64", shape=["batch"])
    data = to_onnx(net, example, input_names)
    worst = parity(data, net, example, input_names)
    manifest = Manifest(
        name=version_dir.parent.name,
        version=version_dir.name,
        kind=kind,
        description=description,
        inputs=inputs,
        outputs={"image": TensorSpec(name="image", dtype="float32", shape=shape)},
        image=image,
        input_image=input_image,
        latent_dim=None if kind is Kind.translation else latent_dim,
        num_classes=len(class_names) if kind is Kind.conditional and class_names else None,
        class_names=class_names if kind is Kind.conditional else None,
        opset=OPSET,
        sha256=hashlib.sha256(data).hexdigest(),
        provenance={**(provenance or {}), "export": {"exporter": "torch.onnx.export(dynamo=True)",
                    "torch": torch.__version__, "parity_max_abs_diff": worst, "parity_batches": list(PARITY_BATCHES)}},
    )  # fmt: skip
    version_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(version_dir / manifest.onnx_file, data)
    write_manifest(version_dir, manifest)
    return version_dir


def export_trainer(trainer: Trainer, cfg: TrainConfig, models_dir: Path, summary: dict[str, Any]) -> list[Path]:
    """Export every generator a trained family ships; provenance records the config, the data and the time."""
    data = trainer.data
    class_names = getattr(data, "class_names", None)
    out = []
    for spec in trainer.exports():
        name = cfg.name + spec.suffix
        prov = {"family": cfg.family, "config": cfg.to_dict(), "steps": summary["steps"],
                "train_seconds": summary["train_seconds"], "cpu_seconds": summary.get("cpu_seconds"),
                "ema": cfg.ema_decay > 0, "data": data.source,
                "metrics": {}, **spec.provenance}  # fmt: skip
        desc = data.description
        if spec.kind is Kind.conditional and class_names:
            shown = ", ".join(class_names[:4]) + (", ..." if len(class_names) > 4 else "")
            desc = f"{desc.rstrip('.')}, of a chosen class ({shown})."
        if spec.provenance.get("direction") == "b2a":
            desc = f"Reverse direction: {desc}"
        out.append(export_generator(spec.module, spec.kind, spec.example, models_dir / name / cfg.export_version,
                                    spec.latent_dim or cfg.latent_dim, class_names, prov, desc))  # fmt: skip
    return out
