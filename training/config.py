"""One typed, validated config per training run (a flat block of settings, nanoGPT style).

A config is built in layers, later ones winning: the dataclass defaults, the family's defaults, a preset,
a JSON/YAML config file, then explicit command-line flags (``training.configure.build_config``). It is validated
before any work starts and saved as ``config.json`` in the run folder (``runs/NNNN-<name>/``) before training
begins. This module knows no family: the checks that depend on one live in ``training.configure``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

IMAGE_SIZES = (28, 32, 64, 128)  # 28: the embedded digits; the others: one network block per doubling from 4


class ConfigError(ValueError):
    """The run's settings are inconsistent; the message says what to change."""


@dataclass
class TrainConfig:
    family: str = "dcgan"  # a key of training.families.FAMILIES
    name: str = ""  # run and model name; defaults to the family
    task: str = ""  # translation families on the embedded digits: a key of training.data.tasks.TASKS
    # data (training.data.sources): "" = the embedded digits; else a path or a built-in set (training.data.builtin)
    data: str = ""
    layout: str = ""  # "" = detected; else one of training.data.loaders.LAYOUTS
    image_size: int = 0  # 0 = the data's own (square) size; else one of IMAGE_SIZES, images resized to it
    channels: int = 0  # 0 = follow the data; 1 = grayscale; 3 = RGB
    resize: str = "crop"  # crop (shorter side to size, centre crop) | pad (longer side, pad) | stretch
    flip: bool = False  # random horizontal flips while training (both sides of a pair together)
    strict: bool = False  # refuse unreadable / non-image files instead of skipping them with a count
    # optimisation
    steps: int = 2000  # generator updates
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    # networks
    latent_dim: int = 64
    width: int = 32  # base channel count (conv) or hidden size / 8 (MLP)
    generator: str = ""  # translation families: unet | resnet; "" = the family's default
    # the adversarial game
    loss: str = ""  # "" = the family's default; else a key of training.losses.ADVERSARIAL_LOSSES
    label_smoothing: float = 0.0  # one-sided: D's target for real images is 1 - label_smoothing
    spectral_norm: bool = False  # on every discriminator layer
    mbstd: bool = False  # minibatch standard deviation feature in D
    ema_decay: float = 0.0  # EMA of G's weights, exported when > 0
    n_critic: int = 1  # discriminator steps per generator step
    clip_value: float = 0.01  # WGAN weight clipping
    gp_weight: float = 10.0  # WGAN-GP lambda
    l1_weight: float = 100.0  # pix2pix
    cycle_weight: float = 10.0  # CycleGAN
    identity_weight: float = 0.5  # CycleGAN, relative to cycle_weight
    pool_size: int = 50  # CycleGAN image pool
    clusters: int = 20  # self-conditioned GAN: k-means clusters that stand in for class labels
    # bookkeeping
    seed: int = 0
    device: str = "auto"  # auto (CUDA if available, else CPU) | cpu | cuda
    amp: bool = True  # bf16 autocast, on CUDA only
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 1000
    max_minutes: float = 0.0  # stop early (and say so) after this much wall time; 0 = never
    runs_dir: str = "runs"
    export_dir: str = ""  # when set, export to <export_dir>/<model name>/<export_version>/ at the end
    export_version: str = "1"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """The checks that need no family; ``training.configure`` adds the family's own."""
        if not self.name:
            self.name = self.family
        positive = ("steps", "batch_size", "lr_g", "lr_d", "latent_dim", "width", "n_critic", "log_every",
                    "sample_every", "checkpoint_every")  # fmt: skip
        for f in positive:
            if getattr(self, f) <= 0:
                raise ConfigError(f"{f} must be positive, got {getattr(self, f)}")
        if self.batch_size < 2:
            raise ConfigError("batch_size must be at least 2 (batch norm and minibatch stddev need a batch)")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if not (self.ema_decay == 0.0 or 0.0 < self.ema_decay < 1.0):
            raise ConfigError(f"ema_decay must be 0 (off) or in (0, 1), got {self.ema_decay}")
        for f in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, f) < 1.0:
                raise ConfigError(f"{f} must be in [0, 1), got {getattr(self, f)}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto | cpu | cuda, got {self.device!r}")
        if self.clusters < 2:
            raise ConfigError(f"clusters must be at least 2, got {self.clusters}")
        if self.threads < 0 or self.max_minutes < 0 or self.pool_size < 0:
            raise ConfigError("threads, max_minutes and pool_size must not be negative")
        if self.image_size and self.image_size not in IMAGE_SIZES:
            sizes = ", ".join(map(str, IMAGE_SIZES))
            raise ConfigError(f"image_size {self.image_size} is not supported; supported sizes: {sizes}")
        if self.channels not in (0, 1, 3):
            raise ConfigError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if self.resize not in ("crop", "pad", "stretch"):
            raise ConfigError(f"resize must be crop | pad | stretch, got {self.resize!r}")
        if self.generator not in ("", "unet", "resnet"):
            raise ConfigError(f"generator must be unet | resnet, got {self.generator!r}")
        if self.task and self.data:
            raise ConfigError("--task builds translation pairs from the embedded digits; drop it when you pass --data")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_config_file(path: Path) -> dict[str, Any]:
    """A JSON or YAML mapping of settings."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data
