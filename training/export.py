"""Export generators to ONNX for the service: ``models/<name>/<version>/model.onnx`` + ``manifest.json``.

    from training.export import export_generator
    export_generator(G, "unconditional", example, Path("models/dcgan-mnist/1"), provenance={...})

Steps: copy the network to the CPU in eval mode; bake parametrizations (spectral norm) into plain weights;
re-estimate batch-norm statistics for the exported weights (an EMA generator's running statistics belong to
the raw generator); export with the torch.export-based exporter (``dynamo=True``, chosen explicitly) and a
dynamic batch axis from an example batch of 2; run ``onnx.checker``; compare onnxruntime with PyTorch at two
batch sizes on fixed seeds; write the ONNX file and then the manifest atomically (manifest last, so a reader
never sees a manifest whose file is not there yet).
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

from service.manifest import ImageSpec, Manifest, TensorSpec, write_atomic, write_manifest
from training.nets.layers import bake_parametrizations

if TYPE_CHECKING:
    from training.config import TrainConfig
    from training.families.base import Trainer

OPSET = 18
EXAMPLE_BATCH = 2  # >= 2, so the exporter cannot specialise the batch axis to 1
PARITY_BATCHES = (1, 16)
PARITY_SEEDS = (0, 1)
PARITY_ATOL = 1e-4
MAX_ONNX_BYTES = 10 * 1024 * 1024
IMAGE = ImageSpec(channels=1, height=28, width=28)

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
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        program.save(str(path))
        data = path.read_bytes()
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    if len(data) > MAX_ONNX_BYTES:
        raise ExportError(f"ONNX file is {len(data) / 2**20:.1f} MiB, over the 10 MiB limit: use a smaller --width")
    return data


def export_generator(
    module: nn.Module,
    kind: str,
    example: Example,
    version_dir: Path,
    latent_dim: int | None = None,
    num_classes: int | None = None,
    provenance: dict[str, Any] | None = None,
    description: str = "",
) -> Path:
    """Export one generator to version_dir (models/<name>/<version>); returns the version folder."""
    net = bake_parametrizations(copy.deepcopy(module).cpu().float())
    recalibrate_batchnorm(net, example)
    net.eval()
    if kind == "translation":
        input_names = ["source"]
        inputs = {"image": TensorSpec(name="source", dtype="float32", shape=["batch", 1, 28, 28])}
    else:
        assert latent_dim is not None
        input_names = ["z"]
        inputs = {"noise": TensorSpec(name="z", dtype="float32", shape=["batch", latent_dim])}
        if kind == "conditional":
            input_names.append("label")
            inputs["label"] = TensorSpec(name="label", dtype="int64", shape=["batch"])
    data = to_onnx(net, example, input_names)
    worst = parity(data, net, example, input_names)
    manifest = Manifest(
        name=version_dir.parent.name,
        version=version_dir.name,
        kind=kind,
        description=description,
        inputs=inputs,
        outputs={"image": TensorSpec(name="image", dtype="float32", shape=["batch", 1, 28, 28])},
        image=IMAGE,
        input_image=IMAGE if kind == "translation" else None,
        latent_dim=None if kind == "translation" else latent_dim,
        num_classes=num_classes,
        class_names=[str(i) for i in range(num_classes)] if num_classes else None,
        opset=OPSET,
        sha256=hashlib.sha256(data).hexdigest(),
        provenance={**(provenance or {}), "export": {"exporter": "torch.onnx.export(dynamo=True)",
                    "torch": torch.__version__, "parity_max_abs_diff": worst, "parity_batches": list(PARITY_BATCHES)}},
    )  # fmt: skip
    version_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(version_dir / manifest.onnx_file, data)
    write_manifest(version_dir, manifest)
    return version_dir


DESCRIPTIONS = {
    "unconditional": "Handwritten digits (28x28, MNIST-trained) from Gaussian noise.",
    "conditional": "Handwritten digits of a chosen class 0-9 (28x28, MNIST-trained).",
}


def export_trainer(trainer: Trainer, cfg: TrainConfig, models_dir: Path, summary: dict[str, Any]) -> list[Path]:
    """Export every generator a trained family ships; provenance records the config and the measured time."""
    from training.data.tasks import get_task

    out = []
    for spec in trainer.exports():
        name = cfg.name + spec.suffix
        prov = {"family": cfg.family, "config": cfg.to_dict(), "steps": summary["steps"],
                "train_seconds": summary["train_seconds"], "ema": cfg.ema_decay > 0,
                "data": "embedded MNIST test split, 8,000-image training part (split seed 2024)", "metrics": {},
                **spec.provenance}  # fmt: skip
        if spec.kind == "translation":
            task = get_task(spec.provenance["task"])
            what = task.description if spec.provenance["direction"] == "a2b" else "reverse: " + task.description
            desc = f"Digit translation ({what})."
        else:
            desc = DESCRIPTIONS[spec.kind]
        num_classes = 10 if spec.kind == "conditional" else None
        out.append(export_generator(spec.module, spec.kind, spec.example, models_dir / name / cfg.export_version,
                                    spec.latent_dim or cfg.latent_dim, num_classes, prov, desc))  # fmt: skip
    return out
