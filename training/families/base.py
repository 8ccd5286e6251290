"""Plumbing every family's trainer shares: device and DDP, seeded sampling and flips, EMA, optimisers, state.

A family's `Trainer` subclasses `BaseTrainer`, builds its networks in `__init__`, and writes its own `step` (one
generator update with its discriminator updates), `grid` (samples from fixed inputs) and `exports` (the
generators to ship): together they satisfy `training.families.family.Trainer`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from service.manifest import Kind
from training.config import TrainConfig
from training.data.sources import TrainData
from training.distributed import DistInfo
from training.ema import EMA
from training.families.family import ExportSpec


def unwrap(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, DistributedDataParallel) else net


class BaseTrainer:
    def __init__(self, cfg: TrainConfig, data: TrainData, device: torch.device, dist: DistInfo) -> None:
        self.cfg, self.data, self.device, self.dist = cfg, data, device, dist
        self.nets: dict[str, nn.Module] = {}
        self.opts: dict[str, torch.optim.Optimizer] = {}
        self.emas: dict[str, EMA] = {}
        # one CPU generator drives data order and noise; each DDP rank gets its own stream
        self.rng = torch.Generator().manual_seed(cfg.seed * 1000 + dist.rank)

    # --- building -------------------------------------------------------------------------------------
    def add(self, name: str, net: nn.Module, lr: float, ema: bool = False, rmsprop: bool = False) -> nn.Module:
        """Register a network with its optimiser (Adam, or RMSprop for WGAN) and EMA; DDP-wrapped if distributed."""
        net = net.to(self.device)
        if ema and self.cfg.ema_decay > 0:
            self.emas[name] = EMA(net, self.cfg.ema_decay)
        if rmsprop:
            self.opts[name] = torch.optim.RMSprop(net.parameters(), lr=lr)
        else:
            self.opts[name] = torch.optim.Adam(net.parameters(), lr=lr, betas=(self.cfg.beta1, self.cfg.beta2))
        if self.dist.world_size > 1:
            net = DistributedDataParallel(net)
        self.nets[name] = net
        return net

    # --- helpers for step() ---------------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.cfg.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.latent_dim, generator=self.rng).to(self.device)

    def draw(self, *tensors: torch.Tensor, n: int | None = None) -> list[torch.Tensor]:
        """A random minibatch (with replacement) of rows, the same rows from each tensor; with `flip`, each row's
        images are mirrored left-right with probability 1/2 (the same rows in every image tensor)."""
        n = n or self.cfg.batch_size
        idx = torch.randint(len(tensors[0]), (n,), generator=self.rng)
        flip = torch.rand(n, generator=self.rng) < 0.5 if self.cfg.flip else None
        out = []
        for t in tensors:
            rows = t[idx]
            if flip is not None and rows.dim() == 4:
                rows = torch.where(flip[:, None, None, None], rows.flip(-1), rows)
            out.append(rows.to(self.device, non_blocking=True))
        return out

    def update(self, name: str, loss: torch.Tensor) -> None:
        opt = self.opts[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def update_ema(self, it: int) -> None:
        # ramp the decay up so the average is not dominated by the random initial weights
        decay = min(self.cfg.ema_decay, (1.0 + it) / (10.0 + it))
        for name, ema in self.emas.items():
            ema.update(unwrap(self.nets[name]), decay)

    def generator(self, name: str) -> nn.Module:
        """The network to sample and export: its EMA when enabled."""
        return self.emas[name].model if name in self.emas else unwrap(self.nets[name])

    @contextlib.contextmanager
    def evaluating(self, *nets: nn.Module) -> Iterator[None]:
        modes = [n.training for n in nets]
        for n in nets:
            n.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            for n, m in zip(nets, modes, strict=True):
                n.train(m)

    # --- checkpoints ----------------------------------------------------------------------------------
    def extra_state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        del state

    def state_dict(self) -> dict[str, Any]:
        return {
            "nets": {k: unwrap(v).state_dict() for k, v in self.nets.items()},
            "opts": {k: v.state_dict() for k, v in self.opts.items()},
            "emas": {k: v.state_dict() for k, v in self.emas.items()},
            "rng": self.rng.get_state(),
            "torch_rng": torch.get_rng_state(),
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, v in self.nets.items():
            unwrap(v).load_state_dict(state["nets"][k])
        for k, o in self.opts.items():
            o.load_state_dict(state["opts"][k])
        for k, e in self.emas.items():
            e.load_state_dict(state["emas"][k])
        self.rng.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.load_extra_state(state["extra"])


def fixed_noise(n: int, latent_dim: int, seed: int = 1234) -> torch.Tensor:
    """The same noise for every sample grid of a run, so grids show progress, not new draws."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def image_shape(images: torch.Tensor) -> tuple[int, int]:
    """(channels, size) of a set of square images (N, C, S, S)."""
    return int(images.shape[1]), int(images.shape[-1])


def noise_grid(trainer: BaseTrainer, fixed: torch.Tensor) -> tuple[torch.Tensor, int]:
    """G's samples of the run's fixed noise, 8 to a row: the grid of the families that draw from noise alone."""
    G = trainer.generator("G")
    with trainer.evaluating(G):
        return G(fixed.to(trainer.device)).float().cpu(), 8


def noise_exports(trainer: BaseTrainer) -> list[ExportSpec]:
    """G exported as an unconditional generator taking (N, latent) noise."""
    latent = trainer.cfg.latent_dim

    def example(n: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        return (torch.randn(n, latent, generator=gen),)

    return [ExportSpec("", trainer.generator("G"), Kind.unconditional, example)]
