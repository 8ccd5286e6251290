"""What a GAN family must provide, as types: the registry holds `Family` values, not modules.

    FAMILY = Family("dcgan", Kind.unconditional, needs="images", losses=LOSSES, defaults=DEFAULTS, trainer=Trainer)

`needs` says what data the family trains on (``training.data.sources``); `trainer(cfg, data, device, dist)`
builds an object with the `Trainer` protocol, which the loop drives and export reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch
from torch import nn

from service.manifest import Kind
from training.config import TrainConfig
from training.data.sources import TrainData
from training.distributed import DistInfo

Need = Literal["images", "labelled", "pairs", "unpaired"]


@dataclass
class ExportSpec:
    """One generator to ship. `example(n, gen)` draws n example inputs (tuple of tensors, the graph's inputs)."""

    suffix: str  # appended to the model name ("" or "-a2b" / "-b2a")
    module: nn.Module
    kind: Kind
    example: Callable[[int, torch.Generator], tuple[torch.Tensor, ...]]
    provenance: dict[str, Any] = field(default_factory=dict)
    latent_dim: int | None = None  # the graph's noise size when it differs from the config's


class Trainer(Protocol):
    """What the loop and export need from a family's trainer."""

    nets: dict[str, nn.Module]
    data: TrainData

    def step(self, it: int) -> dict[str, float]:
        """One generator update with its discriminator updates; returns the losses to log."""
        ...

    def grid(self) -> tuple[torch.Tensor, int]:
        """(images (N, C, H, W) in [-1, 1], images per row) from fixed inputs."""
        ...

    def exports(self) -> list[ExportSpec]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Family:
    name: str  # what --family takes
    kind: Kind  # what its exported generators do
    needs: Need  # images | labelled images | pairs | unpaired domains
    losses: tuple[str, ...]  # the first is the default
    defaults: Mapping[str, Any]  # settings that differ from TrainConfig's defaults
    trainer: Callable[[TrainConfig, TrainData, torch.device, DistInfo], Trainer]

    @property
    def translates(self) -> bool:
        return self.needs in ("pairs", "unpaired")
