"""A smoke run of EVERY family: a few steps on a tiny config, checkpoint, export, load the ONNX in onnxruntime."""

import json

import numpy as np
import onnxruntime as ort
import pytest

from service.manifest import load_manifest, sha256_file
from training.families import FAMILIES
from training.loop import train
from training.runs import new_run_dir

CASES = {
    "gan": {"loss": "minimax", "label_smoothing": 0.1},
    "dcgan": {"loss": "hinge", "spectral_norm": True, "mbstd": True, "ema_decay": 0.9},
    "wgan": {"n_critic": 2},
    "wgan-gp": {"n_critic": 2, "mbstd": True},
    "cgan": {"spectral_norm": True, "ema_decay": 0.9},
    "selfcond": {"clusters": 3, "ema_decay": 0.9},
    "pix2pix": {"task": "lowres"},
    "cyclegan": {"task": "thicken", "pool_size": 4},
}


def test_every_family_has_a_smoke_case() -> None:
    assert set(CASES) == set(FAMILIES)


@pytest.mark.parametrize("family", list(CASES))
def test_family_trains_exports_and_serves(family: str, tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tiny(family=family, export_dir=str(tmp_path / "models"), **CASES[family])
    run_dir = new_run_dir(tmp_path / "runs", cfg.name)
    summary = train(cfg, run_dir)

    assert summary["steps"] == 3
    logged = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged] == [1, 2, 3] and all(np.isfinite(r["loss_g"]) for r in logged)
    assert (run_dir / "samples" / "000002.png").exists() and (run_dir / "loss_curve.png").exists()
    assert (run_dir / "checkpoint.pt").exists()

    kind = FAMILIES[family].kind.value
    assert len(summary["exported"]) == (2 if family == "cyclegan" else 1)
    for version_dir in map(type(tmp_path), summary["exported"]):
        manifest = load_manifest(version_dir)
        assert manifest.kind.value == kind and manifest.sha256 == sha256_file(version_dir / "model.onnx")
        assert manifest.provenance["family"] == family and manifest.provenance["train_seconds"] >= 0
        sess = ort.InferenceSession(str(version_dir / "model.onnx"), providers=["CPUExecutionProvider"])
        for n in (1, 5):
            feeds = {}
            for role, spec in manifest.inputs.items():
                if role.value == "label":
                    feeds[spec.name] = np.arange(n, dtype=np.int64) % 10
                else:
                    shape = [n, *spec.shape[1:]]
                    feeds[spec.name] = np.random.default_rng(n).uniform(-1, 1, shape).astype(np.float32)
            (out,) = sess.run(None, feeds)
            assert out.shape == (n, 1, 28, 28) and np.all(np.abs(out) <= 1.0)
