"""The training loop: it only consumes a validated config and a run folder.

    from training.loop import train
    summary = train(cfg, run_dir)                 # fresh run (config.json already written by the caller)
    summary = train(cfg, run_dir, resume=True)    # continue from run_dir/checkpoint.pt
    summary = train(cfg, run_dir, data=data)      # data already loaded (and checked) by the caller

Works the same on one process or under torchrun (DDP): only rank 0 writes logs, grids, checkpoints, exports.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from training import distributed, runs
from training.config import TrainConfig
from training.data.sources import TrainData, load_train_data
from training.families import get_family
from training.images import save_grid


def pick_device(wanted: str, dist: distributed.DistInfo) -> torch.device:
    if wanted == "cuda" or (wanted == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' requested but CUDA is not available; use --device auto or cpu")
        return torch.device("cuda", dist.local_rank)
    return torch.device("cpu")


def save_checkpoint(path: Path, step: int, seconds: float, cfg: TrainConfig, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"step": step, "seconds": seconds, "config": cfg.to_dict(), "trainer": state}, tmp)
    tmp.replace(path)  # atomic: a crash mid-save leaves the previous checkpoint intact


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no checkpoint to resume from")
    return torch.load(path, map_location="cpu", weights_only=True)


def train(cfg: TrainConfig, run_dir: Path, resume: bool = False, data: TrainData | None = None) -> dict[str, Any]:
    wanted_kind = "cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu"
    dist = distributed.setup(wanted_kind)
    try:
        return _train(cfg, run_dir, resume, dist, data)
    finally:
        distributed.teardown()


def _train(cfg: TrainConfig, run_dir: Path, resume: bool, dist: distributed.DistInfo,
           data: TrainData | None) -> dict[str, Any]:  # fmt: skip
    device = pick_device(cfg.device, dist)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    family = get_family(cfg.family)
    data = data or load_train_data(cfg, family.needs)
    torch.manual_seed(cfg.seed * 1000 + dist.rank)
    trainer = family.trainer(cfg, data, device, dist)

    start, seconds = 0, 0.0
    ckpt_path = run_dir / runs.CHECKPOINT_FILE
    if resume:
        ckpt = load_checkpoint(ckpt_path)
        trainer.load_state_dict(ckpt["trainer"])
        start, seconds = int(ckpt["step"]), float(ckpt["seconds"])
    log_path = run_dir / runs.LOG_FILE
    main = dist.is_main
    if main:
        (run_dir / "samples").mkdir(exist_ok=True)

    window: dict[str, list[float]] = defaultdict(list)
    t0, stopped_early = time.perf_counter() - seconds, False
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, disable=not main, mininterval=5,
               desc=f"{cfg.name}", unit="step", dynamic_ncols=True)  # fmt: skip
    step = start
    for step in bar:
        stats = trainer.step(step)
        for k, v in stats.items():
            window[k].append(v)
        done = step + 1
        if main and (done % cfg.log_every == 0 or done == cfg.steps):
            rec = {"step": done, "seconds": round(time.perf_counter() - t0, 2)}
            rec.update({k: sum(v) / len(v) for k, v in window.items()})
            runs.append_jsonl(log_path, rec)
            bar.set_postfix({k: f"{v:.3f}" for k, v in rec.items() if k.startswith("loss")})
            window.clear()
        if main and (done % cfg.sample_every == 0 or done == cfg.steps):
            images, nrow = trainer.grid()
            save_grid(images.numpy(), run_dir / "samples" / f"{done:06d}.png", nrow)
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            if main:
                save_checkpoint(ckpt_path, done, time.perf_counter() - t0, cfg, trainer.state_dict())
            distributed.barrier()
        if cfg.max_minutes and time.perf_counter() - t0 > 60 * cfg.max_minutes:
            stopped_early = True
            if main:
                save_checkpoint(ckpt_path, done, time.perf_counter() - t0, cfg, trainer.state_dict())
            break
    bar.close()
    train_seconds = time.perf_counter() - t0
    summary: dict[str, Any] = {"steps": step + 1 if cfg.steps > start else start, "train_seconds": round(train_seconds, 1),
                               "cpu_seconds": round(time.process_time(), 1), "stopped_early": stopped_early,
                               "world_size": dist.world_size, "exported": []}  # fmt: skip
    if main:
        runs.plot_losses(log_path, run_dir / "loss_curve.png")
        images, nrow = trainer.grid()
        save_grid(images.numpy(), run_dir / "samples" / "final.png", nrow)
        if cfg.export_dir:
            from training.export import export_trainer

            summary["exported"] = [str(p) for p in export_trainer(trainer, cfg, Path(cfg.export_dir), summary)]
        runs.write_json(run_dir / "summary.json", summary)
    return summary
