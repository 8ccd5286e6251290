"""DDP: two CPU processes on the gloo backend through torchrun, end to end through the CLI."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def test_torchrun_two_cpu_processes(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "training", "train", "--family", "dcgan", "--steps", "3", "--batch-size", "8", "--width", "4",
           "--latent-dim", "8", "--log-every", "1", "--sample-every", "3", "--checkpoint-every", "3",
           "--threads", "1", "--device", "cpu", "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    # own session, so a hang kills torchrun *and* its workers instead of leaving them behind
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["world_size"] == 2 and summary["steps"] == 3
    (run_dir,) = (tmp_path / "runs").iterdir()  # only rank 0 creates a run folder
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 3
