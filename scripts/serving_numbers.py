"""The serving core's closing numbers (issue 2): one-image clients at 1/16/64 concurrency with batching on and
off, 64-image requests, and onnxruntime called directly at batch 1 and 64 as the ceiling.

    nice -n 5 python scripts/serving_numbers.py --models-dir models --model dcgan-mnist [--duration 4 --rounds 3]

Starts two real `ganserve serve` processes (batching on, and MAX_BATCH_SIZE=1) with tests/support/server.py and
drives them with wrk (closed loop, one wrk thread). Prints one table; the full benchmark with plots and targets is
`python -m bench` (issue 5).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.manifest import load_manifest
from service.noise import seeded_noise
from tests.support.server import running_server

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function init(args) wrk.path = "/v1/models/" .. args[1] .. "/generate"; wrk.body = '{"n": ' .. args[2] .. '}' end
"""


def wrk(url: str, model: str, n: int, clients: int, duration: float, script: Path) -> dict[str, float]:
    command = [
        "wrk",
        "-t1",
        f"-c{clients}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
        "--",
        model,
        str(n),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "images_s": rps * n,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def direct(model_path: Path, latent: int, threads: int, spinning: bool) -> dict[str, float]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    result = {}
    for batch in (1, 64):
        z = seeded_noise(range(batch), latent)
        for _ in range(20):
            session.run(None, {"z": z})
        times = []
        end = time.perf_counter() + 3
        while time.perf_counter() < end:
            t = time.perf_counter()
            session.run(None, {"z": z})
            times.append(time.perf_counter() - t)
        result[f"b{batch}_ms"] = statistics.median(times) * 1e3
        result[f"b{batch}_images_s"] = batch / statistics.median(times)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models-dir", type=Path, default=Path("models"))
    p.add_argument("--model", default="dcgan-mnist")
    p.add_argument("--duration", type=float, default=4.0, help="seconds per measurement")
    p.add_argument("--rounds", type=int, default=3, help="measurements per point (the median is reported)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra GANSERVE_ settings")
    args = p.parse_args()
    manifest = load_manifest(next((args.models_dir / args.model).iterdir()))
    extra = {f"GANSERVE_{kv.split('=', 1)[0]}": kv.split("=", 1)[1] for kv in args.set}
    path = args.models_dir / args.model / manifest.version / manifest.onnx_file
    threads = int(extra.get("GANSERVE_INTRA_OP_THREADS", "0"))
    for spinning in (True, False):  # onnxruntime's default, and what the service uses
        ceiling = direct(path, manifest.latent_dim or 0, threads, spinning)
        print(
            f"onnxruntime direct (spinning {'on' if spinning else 'off'}): batch 1 p50 {ceiling['b1_ms']:.3f} ms "
            f"({ceiling['b1_images_s']:.0f} images/s), batch 64 {ceiling['b64_images_s']:.0f} images/s"
        )
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        script = Path(tmp) / "generate.lua"
        script.write_text(LUA)
        servers = {
            config: stack.enter_context(running_server(args.models_dir, extra | env, log_dir=Path(tmp)))
            for config, env in (("batching", {}), ("no batching", {"GANSERVE_MAX_BATCH_SIZE": "1"}))
        }
        for server in servers.values():
            wrk(server.url, args.model, 1, 4, 1.0, script)  # warm connections and caches
        # Configurations alternate point by point and round by round, so load from other processes on a shared
        # machine drifts over both alike; each figure is the median over the rounds.
        for n, clients in ((1, 1), (1, 16), (1, 64), (64, 4)):
            runs: dict[str, list[dict[str, float]]] = {config: [] for config in servers}
            for _ in range(args.rounds):
                for config, server in servers.items():
                    runs[config].append(wrk(server.url, args.model, n, clients, args.duration, script))
            for config, measured in runs.items():
                rows.append((config, n, clients, {k: statistics.median(r[k] for r in measured) for k in measured[0]}))
    print(
        f"{'config':<12} {'images/req':>10} {'clients':>7} {'req/s':>8} {'images/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6}"
    )
    for config, n, clients, r in rows:
        print(
            f"{config:<12} {n:>10} {clients:>7} {r['rps']:>8.0f} {r['images_s']:>9.0f} {r['p50']:>8.2f} "
            f"{r['p99']:>8.2f} {r['errors']:>6.0f}"
        )
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
