"""Live reload figures: failed requests while new versions load under load, and RSS over load/unload cycles.

    flock /tmp/bench.lock python scripts/reload_bench.py                 # 10 reloads under load, 50 cycles
    python scripts/reload_bench.py --model models/cgan-mnist/1 --cycles 20 --json out.json

A real `ganserve serve` (GANSERVE_MODEL_CONTROL=explicit) serves a copy of `--model` as `gen` from a scratch
repository. Phase 1: client threads generate on `gen` (latest version) without pause while the script publishes a
new version and loads it, `--reloads` times, alternating "a new version appears" with "the same version is
rewritten in place" (both retire a version that is in use). Every answer that is not 200 counts as failed.
Phase 2: `--cycles` times, unload `gen`, load it again and generate once; the server's RSS (VmRSS of the process)
is read after each cycle. Growth is measured from cycle 1 (sessions and arenas warm) to the last.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from service.manifest import load_manifest, write_manifest
from tests.support.server import running_server


def publish(source: Path, models: Path, version: str) -> None:
    """Copy a version folder to models/gen/<version>, its manifest renamed to match."""
    target = models / "gen" / version
    staging = models / "gen" / f".{version}.import-bench"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    manifest = load_manifest(source).model_copy(update={"name": "gen", "version": version})
    write_manifest(staging, manifest)
    old = models / "gen" / f".{version}.import-old"
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def reloads_under_load(url: str, source: Path, models: Path, reloads: int, threads: int) -> dict[str, object]:
    statuses: list[int] = []
    stop = threading.Event()

    def client(i: int) -> None:
        with httpx.Client(timeout=30) as http:
            seed = i * 100_000
            while not stop.is_set():
                statuses.append(http.post(f"{url}/v1/models/gen/generate", json={"n": 4, "seed": seed}).status_code)
                seed += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    load_s = []
    version = 1
    try:
        time.sleep(1.0)
        for i in range(reloads):
            if i % 2 == 0:  # a new version appears; the previous one leaves the folder
                version += 1
                publish(source, models, str(version))
                shutil.rmtree(models / "gen" / str(version - 1))
            else:  # the same version rewritten in place (a retrained export), e.g. `ganserve import --force`
                publish(source, models, str(version))
                manifest = load_manifest(models / "gen" / str(version))
                write_manifest(
                    models / "gen" / str(version), manifest.model_copy(update={"description": f"rewrite {i}"})
                )
            started = time.perf_counter()
            r = httpx.post(f"{url}/v2/repository/models/gen/load", timeout=120)
            load_s.append(time.perf_counter() - started)
            assert r.status_code == 200, r.text
            time.sleep(0.5)
    finally:
        stop.set()
        for w in workers:
            w.join(60)
    failed = [s for s in statuses if s != 200]
    return {
        "reloads": reloads,
        "client_threads": threads,
        "requests": len(statuses),
        "failed": len(failed),
        "failed_statuses": sorted(set(failed)),
        "load_call_s_median": round(statistics.median(load_s), 3),
        "load_call_s_max": round(max(load_s), 3),
    }


def cycles(url: str, pid: int, n: int) -> dict[str, object]:
    rss = []
    for _ in range(n):
        assert httpx.post(f"{url}/v2/repository/models/gen/unload", timeout=120).status_code == 200
        assert httpx.post(f"{url}/v2/repository/models/gen/load", timeout=120).status_code == 200
        assert httpx.post(f"{url}/v1/models/gen/generate", json={"n": 8, "seed": 1}, timeout=60).status_code == 200
        rss.append(rss_kib(pid))
    first, last = rss[0], rss[-1]
    return {
        "cycles": n,
        "rss_mib_after_cycle_1": round(first / 1024, 1),
        "rss_mib_after_last": round(last / 1024, 1),
        "rss_mib_max": round(max(rss) / 1024, 1),
        "growth_pct": round(100 * (last - first) / first, 1),
        "rss_mib_every_10": [round(rss[i] / 1024, 1) for i in range(0, n, 10)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "dcgan-mnist" / "1", help="a version folder")
    parser.add_argument("--reloads", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4, help="client threads during the reloads")
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        publish(args.model, models, "1")
        env = {"GANSERVE_MODEL_CONTROL": "explicit", "GANSERVE_MAX_BATCH_SIZE": "16"}
        with running_server(models, env, log_dir=Path(tmp)) as server:
            figures = {
                "model": str(args.model.relative_to(REPO) if args.model.is_relative_to(REPO) else args.model),
                "under_load": reloads_under_load(server.url, args.model, models, args.reloads, args.threads),
                "rss": cycles(server.url, server.process.pid, args.cycles),
            }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
