"""Where the service's time goes: py-spy samples the server process tree during one load point.

    python -m bench --quick --profile batching:1:64     # config:images:clients -> OUT.profile-batching-1-64.*

py-spy (`pip install py-spy`) attaches from outside, so the service runs unmodified. It writes collapsed stacks
(greppable text, one stack per line, ';'-separated, then a sample count; speedscope.app and flamegraph.pl read it),
and `summarize` condenses them into the share of samples per function, which is what docs/performance.md quotes.
Sampling costs some CPU on a small machine, so a profiled point's own figures are flagged in the JSON.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Self

RATE_HZ = 200


class Profiler:
    """`with Profiler(pid, out_prefix, seconds):` records py-spy for the block (py-spy stops after `seconds`)."""

    def __init__(self, pid: int, out_prefix: Path, seconds: float) -> None:
        exe = shutil.which("py-spy")
        if exe is None:
            raise RuntimeError("--profile needs py-spy: pip install py-spy")
        self.raw = Path(f"{out_prefix}.txt")
        self.raw.parent.mkdir(parents=True, exist_ok=True)
        self._cmd = [
            exe,
            "record",
            "--format",
            "raw",
            "-o",
            str(self.raw),
            "--pid",
            str(pid),
            "--subprocesses",
            "--threads",
            "--rate",
            str(RATE_HZ),
            "--duration",
            str(max(1, round(seconds))),
        ]
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self._proc = subprocess.Popen(self._cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        _, err = self._proc.communicate(timeout=120)
        if self._proc.returncode != 0:
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-2000:]}")


def summarize(raw: Path, top: int = 25) -> dict[str, object]:
    """Share of samples per leaf-most interesting frame ('self' time) and per frame anywhere on the stack."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[frames[0]] += n
        self_time[frames[-1]] += n
        for frame in set(frames[1:]):
            inclusive[frame] += n
    share = (lambda c: [(name, round(100 * k / total, 1)) for name, k in c.most_common(top)]) if total else list
    return {"samples": total, "threads": share(threads), "self_pct": share(self_time),
            "inclusive_pct": share(inclusive)}  # fmt: skip
