"""What a family trains on, from the run's config: the embedded digits (default), a built-in set, or a user's data.

    data = load_train_data(cfg, needs="labelled")    # ImageData(images, labels, class_names, ...) as torch tensors
    data = load_train_data(cfg, needs="pairs")       # PairData(a, b, ...)

`needs` is the family's: "images" (labels ignored, with a note), "labelled" (class labels required), "pairs"
(row i of a goes with row i of b) or "unpaired" (two domains; a paired set is split into disjoint halves so no
pair is ever seen). Images end as float32 (N, C, S, S) in [-1, 1] with S one of IMAGE_SIZES: resized to
``--image-size`` when given (folders by PIL as they are read, arrays here), converted to ``--channels`` when
given. Every problem is a DataError raised here, before any run folder or network exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training.config import IMAGE_SIZES, TrainConfig
from training.data.arrays import DataError, Images, Pairs, Unpaired
from training.data.builtin import BUILTIN
from training.data.folders import ReadOptions
from training.data.loaders import load
from training.data.tasks import get_task, unpaired_halves


@dataclass(frozen=True)
class ImageData:
    images: torch.Tensor  # (N, C, S, S) float32 in [-1, 1], on the CPU
    labels: torch.Tensor | None  # (N,) int64
    class_names: list[str] | None
    source: str  # where the images come from (provenance)
    description: str  # what they show (manifest)
    notes: list[str] = field(default_factory=list)  # what the user should know (skipped files, ignored labels)


@dataclass(frozen=True)
class PairData:
    a: torch.Tensor  # (N_a, C, S, S) float32 in [-1, 1]: the source domain
    b: torch.Tensor  # (N_b, C, S, S): the target domain; N_a == N_b and row-paired when `paired`
    paired: bool
    source: str
    description: str
    notes: list[str] = field(default_factory=list)


TrainData = ImageData | PairData


def load_train_data(cfg: TrainConfig, needs: str) -> TrainData:
    if not cfg.data and needs in ("pairs", "unpaired"):
        return _task_pairs(cfg.task, needs == "pairs")
    name = cfg.data or "digits"
    raw: Images | Pairs | Unpaired
    if name in BUILTIN:
        builtin = BUILTIN[name]
        raw, source, description = builtin.splits()[0], builtin.source, builtin.description
    else:
        opts = ReadOptions(cfg.channels, cfg.image_size, cfg.resize, cfg.strict)
        raw = load(Path(name), cfg.layout or None, opts, prefer_pairs=needs == "pairs")
        source, description = f"user data: {name}", f"Images like those in {Path(name).name}."
    notes = []
    if raw.skipped:
        notes.append(f"skipped {len(raw.skipped)} unreadable or non-image file(s), e.g. {raw.skipped[0]}; "
                     "pass --strict to refuse them instead")  # fmt: skip
    return _conform(raw, cfg, needs, source, description, notes)


def _task_pairs(task: str, paired: bool) -> PairData:
    from training.data.translation import paired as make_paired
    from training.data.translation import unpaired as make_unpaired

    a, b = make_paired(task) if paired else make_unpaired(task)
    t = get_task(task)
    return PairData(a, b, paired, f"embedded MNIST digits, task {task!r}", f"Digit translation ({t.description}).")


def _conform(raw: Images | Pairs | Unpaired, cfg: TrainConfig, needs: str, source: str, description: str,
             notes: list[str]) -> TrainData:  # fmt: skip
    family, where = cfg.family, cfg.data or "the embedded digits"
    if isinstance(raw, Images):
        if needs in ("pairs", "unpaired"):
            raise DataError(f"{where}: one set of images; family {family!r} translates and needs "
                            "A|B pairs (pix2pix) or trainA/ + trainB/ (cyclegan)")  # fmt: skip
        labels = raw.labels
        if needs == "labelled" and labels is None:
            raise DataError(f"{where}: no class labels; family {family!r} needs them: put each class's images in "
                            "<folder>/<class name>/, or save labels as 'y' in the .npz")  # fmt: skip
        if needs == "images" and labels is not None and cfg.data and cfg.data not in BUILTIN:
            notes.append(f"class labels found ({len(set(labels.tolist()))} classes) but family {family!r} is "
                         "unconditional and ignores them; use --family cgan to generate by class")  # fmt: skip
        names = raw.class_names
        if labels is not None and names is None:
            names = [str(i) for i in range(int(labels.max()) + 1)]
        y = torch.from_numpy(labels) if labels is not None and needs == "labelled" else None
        return ImageData(_fit(raw.images, cfg, where), y, names if y is not None else None, source, description,
                         notes)  # fmt: skip
    if needs not in ("pairs", "unpaired"):
        raise DataError(f"{where}: a translation set (pairs or trainA/trainB); family {family!r} needs one set of "
                        "images: a folder of images, class sub-folders, .npz or IDX")  # fmt: skip
    if isinstance(raw, Unpaired) and needs == "pairs":
        raise DataError(f"{where}: trainA/ and trainB/ are unpaired; pix2pix needs A|B pairs: use --family cyclegan")
    a, b = raw.a, raw.b
    if isinstance(raw, Pairs) and needs == "unpaired":
        # CycleGAN must never see a pair: domain A from one half of the rows, domain B from the other
        idx_a, idx_b = unpaired_halves(len(a))
        a, b = a[idx_a], b[idx_b]
        notes.append(f"paired data split into disjoint halves ({len(a)} A, {len(b)} B) so no pair is seen")
    a_t, b_t = _fit(a, cfg, where), _fit(b, cfg, where)
    if a_t.shape[1:] != b_t.shape[1:]:
        raise DataError(f"{where}: domain A is {tuple(a_t.shape[1:])}, domain B {tuple(b_t.shape[1:])}; "
                        "pass --channels and --image-size to make them one shape")  # fmt: skip
    return PairData(a_t, b_t, needs == "pairs", source, description, notes)


def _fit(x: np.ndarray, cfg: TrainConfig, where: str) -> torch.Tensor:
    """float32 (N, C, H, W) in [-1, 1] -> tensor (N, C', S, S): channels and size as configured, checked."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    c, h, w = t.shape[1:]
    if cfg.channels == 3 and c == 1:
        t = t.repeat(1, 3, 1, 1)
    elif cfg.channels == 1 and c == 3:
        t = (0.299 * t[:, :1] + 0.587 * t[:, 1:2] + 0.114 * t[:, 2:3]).clamp(-1, 1)
    size = cfg.image_size
    if size and (h, w) != (size, size):
        if cfg.resize == "crop":
            s = min(h, w)
            t = t[:, :, (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        elif cfg.resize == "pad":
            s = max(h, w)
            t = F.pad(t, ((s - w) // 2, s - w - (s - w) // 2, (s - h) // 2, s - h - (s - h) // 2), mode="replicate")
        t = F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(-1, 1)
    h, w = t.shape[2:]
    if h != w or h not in IMAGE_SIZES:
        raise DataError(f"{where}: images are {w}x{h} pixels; supported sizes are square "
                        f"{', '.join(map(str, IMAGE_SIZES))}; pass --image-size N to resize them")  # fmt: skip
    return t.contiguous()
