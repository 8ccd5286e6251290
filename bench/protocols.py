"""The same one-image request three ways, in one run against one server: gRPC, HTTP with binary tensors, HTTP
with JSON tensors (the Open Inference Protocol's three encodings), each with the same closed-loop clients.

    python -m bench.protocols                                  # reference DCGAN-sized model, 64 clients
    python -m bench.protocols --clients 64 --duration 5 --rounds 3 --out bench/results/protocols

HTTP load comes from wrk (bench/infer.lua), gRPC load from h2load (Debian package nghttp2-client) sending a framed
ModelInferRequest (raw_input_contents) over HTTP/2: both are C load generators, so the comparison is the server's.
Before measuring, one request each way must give bit-identical images. The protocols take turns for `--rounds`
rounds (so drifting background load on a shared machine hits each alike) and each row is that protocol's median
round by requests/s: requests/s, p50/p99 latency, the server's own count of non-200 answers on that endpoint,
server CPU ms per request, load generator CPU seconds. Every round is kept in OUT.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.h2load import run_h2load
from bench.oip_requests import bodies, one_image_inputs, same_answer_three_ways
from bench.server import Server
from bench.wrk import WrkRun, run_wrk
from service.manifest import load_manifest

PROTOCOLS = ("grpc", "http-binary", "http-json")


def _answers(server: Server, model: str, endpoint: str) -> dict[str, float]:
    """Answers by status on `endpoint`, plus "batches" and "items" run (to tell how well calls were batched)."""
    counts: dict[str, float] = {}
    for line in server.metrics().splitlines():
        if f'model="{model}"' not in line:
            continue
        if line.startswith("ganserve_request_duration_seconds_count{") and f'endpoint="{endpoint}"' in line:
            status = line.split('status="', 1)[1].split('"', 1)[0]
            counts[status] = counts.get(status, 0.0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith(("ganserve_batch_size_items_count{", "ganserve_batch_size_items_sum{")):
            counts["batches" if "_count{" in line else "items"] = float(line.rsplit(" ", 1)[1])
    return counts


def measure(
    server: Server,
    model: str,
    protocol: str,
    body: tuple[bytes, int],
    clients: int,
    duration_s: float,
    threads: int,
    workdir: Path,
) -> dict[str, Any]:
    path = workdir / f"{protocol}.body"
    path.write_bytes(body[0])
    endpoint = "grpc" if protocol == "grpc" else "infer"
    before, cpu_before = _answers(server, model, endpoint), server.stats().cpu_s
    started = time.monotonic()
    if protocol == "grpc":
        load = run_h2load(server.grpc, path, clients, duration_s, threads)
    else:
        load = run_wrk(
            WrkRun(
                server.url,
                model,
                1,
                clients,
                duration_s,
                threads,
                script=Path(__file__).with_name("infer.lua"),
                script_args=(model, str(path), str(body[1])),
            )
        )
        load["requests"] = int(load["statuses"].get("200", 0))
        load["latency_us"] = {
            "p50": load["latency_us"]["percentiles"]["50"],
            "p99": load["latency_us"]["percentiles"]["99"],
        }
    seconds = time.monotonic() - started
    time.sleep(0.5)  # let the last answers reach the metrics
    after, cpu_after = _answers(server, model, endpoint), server.stats().cpu_s
    delta = {s: after.get(s, 0.0) - before.get(s, 0.0) for s in after}
    batches, items = delta.pop("batches", 0.0), delta.pop("items", 0.0)
    served = delta.get("200", 0.0)
    if served < load["requests"]:  # h2load sees HTTP 200 even for a gRPC error: trust the server's own count
        raise RuntimeError(
            f"{protocol}: the load generator counted {load['requests']} answers, the server only "
            f"{served:.0f} successful ones ({delta})"
        )
    return {
        "protocol": protocol,
        "clients": clients,
        "request_bytes": len(body[0]),
        "requests_per_s": load["requests"] / duration_s,
        "p50_ms": load["latency_us"]["p50"] / 1000,
        "p99_ms": load["latency_us"]["p99"] / 1000,
        "non_200": {s: int(n) for s, n in delta.items() if s != "200" and n},  # 499: cut off at the run's end
        "server_cpu_ms_per_request": 1000 * (cpu_after - cpu_before) / served if served else None,
        "mean_batch": items / batches if batches else None,
        "load_generator_cpu_s": load["cpu_s"],
        "wall_s": seconds,
    }


def markdown(rows: list[dict[str, Any]], model: str, command: str) -> str:
    lines = [
        (
            f"Model `{model}`, {rows[0]['clients']} closed-loop clients, one image per request; median of "
            f"{rows[0]['rounds']} rounds. `{command}`"
        ),
        "",
        (
            "| protocol | request bytes | requests/s | p50 ms | p99 ms | non-200 answers | server CPU ms/request "
            "| mean batch | load generator CPU s |"
        ),
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        cpu = f"{r['server_cpu_ms_per_request']:.2f}" if r["server_cpu_ms_per_request"] is not None else "-"
        lines.append(
            f"| {r['protocol']} | {r['request_bytes']} | {r['requests_per_s']:.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['non_200'] or 'none'} | {cpu} | {r['mean_batch'] or 0:.1f} | "
            f"{r['load_generator_cpu_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.protocols", description=__doc__.splitlines()[0])
    p.add_argument("--models-dir", type=Path, default=None, help="default: the reference model, exported on first use")
    p.add_argument("--model", default=None)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--duration", type=float, default=5.0, help="seconds per protocol and round")
    p.add_argument("--rounds", type=int, default=3, help="the protocols take turns this many times")
    p.add_argument("--threads", type=int, default=2, help="load generator threads")
    p.add_argument("--out", type=Path, default=Path("bench/results/tmp/protocols"))
    p.add_argument("--log-dir", type=Path, default=Path("bench/results/tmp"), help="where the server's log goes")
    args = p.parse_args(argv)
    models_dir, model = args.models_dir, args.model
    if model is None:
        from bench import model as reference

        models_dir, model = models_dir or Path("bench/results/tmp/models"), reference.NAME
        if not (models_dir / model / reference.VERSION / "manifest.json").is_file():
            reference.export(models_dir)
    models_dir = models_dir or Path("models")
    versions = sorted(p for p in (models_dir / model).iterdir() if (p / "manifest.json").is_file())
    inputs = one_image_inputs(load_manifest(versions[-1]))
    command = " ".join(["python", "-m", "bench.protocols", *(sys.argv[1:] if argv is None else argv)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    requests = bodies(inputs, model)
    log = args.log_dir / "protocols-server.log"
    with tempfile.TemporaryDirectory() as tmp, Server(models_dir, {}, model, log) as server:
        same_answer_three_ways(server, model, inputs)
        for protocol in PROTOCOLS:  # warm-up: connections, thread pools, allocator
            measure(server, model, protocol, requests[protocol], args.clients, 1.0, args.threads, Path(tmp))
        loadavg = [os.getloadavg()[0]]
        rounds = [
            [
                measure(
                    server, model, protocol, requests[protocol], args.clients, args.duration, args.threads, Path(tmp)
                )
                for protocol in PROTOCOLS
            ]
            for _ in range(args.rounds)
        ]
        loadavg.append(os.getloadavg()[0])
    rows = []
    for i in range(len(PROTOCOLS)):
        runs = sorted((r[i] for r in rounds), key=lambda row: row["requests_per_s"])
        rows.append(runs[len(runs) // 2] | {"rounds": len(runs)})
    table = (
        markdown(rows, model, command) + f"\nLoad average (1 min) {loadavg[0]:.1f} before, {loadavg[1]:.1f} after.\n"
    )
    Path(f"{args.out}.json").write_text(
        json.dumps({"command": command, "model": model, "rows": rows, "rounds": rounds, "loadavg": loadavg}, indent=1)
    )
    Path(f"{args.out}.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
