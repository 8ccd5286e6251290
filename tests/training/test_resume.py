"""Resume from a checkpoint continues the run exactly: 2 steps + resume to 4 equals 4 steps straight."""

import json

import torch

from training.loop import load_checkpoint, train
from training.runs import new_run_dir, write_json


def test_resume_continues_bit_for_bit(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = dict(family="dcgan", ema_decay=0.9, mbstd=True, checkpoint_every=2)
    straight_dir = new_run_dir(tmp_path / "runs", "straight")
    train(tiny(steps=4, **settings), straight_dir)

    resumed_dir = new_run_dir(tmp_path / "runs", "resumed")
    write_json(resumed_dir / "config.json", tiny(steps=2, **settings).to_dict())
    train(tiny(steps=2, **settings), resumed_dir)
    assert load_checkpoint(resumed_dir / "checkpoint.pt")["step"] == 2
    summary = train(tiny(steps=4, **settings), resumed_dir, resume=True)
    assert summary["steps"] == 4

    a = load_checkpoint(straight_dir / "checkpoint.pt")["trainer"]
    b = load_checkpoint(resumed_dir / "checkpoint.pt")["trainer"]
    for part in ("nets", "emas"):
        for net in a[part]:
            for key, tensor in a[part][net].items():
                assert torch.equal(tensor, b[part][net][key]), f"{part}.{net}.{key} differs after resume"
    steps = [json.loads(line)["step"] for line in (resumed_dir / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_checkpoint_loads_with_weights_only(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_dir = new_run_dir(tmp_path / "runs", "w")
    train(tiny(family="cyclegan", task="thicken", steps=2, pool_size=3), run_dir)
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert ckpt["config"]["family"] == "cyclegan" and "pool_a" in ckpt["trainer"]["extra"]
