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
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np

from bench.server import Server
from bench.wrk import WrkRun, run_wrk
from service.manifest import Manifest, Role, load_manifest
from service.noise import seeded_noise
from service.rpc import inference_pb2 as pb

DATATYPES = {"float32": "FP32", "float16": "FP16", "int64": "INT64", "int32": "INT32"}
INFER = "/inference.GRPCInferenceService/ModelInfer"
PROTOCOLS = ("grpc", "http-binary", "http-json")


def one_image_inputs(manifest: Manifest) -> dict[str, np.ndarray]:
    """One row per input: seed 1's noise, class 0, a mid-grey image."""
    inputs = {}
    for role, spec in manifest.inputs.items():
        shape = [1, *(int(d) for d in spec.shape[1:])]
        if role is Role.noise:
            inputs[spec.name] = seeded_noise([1], int(np.prod(shape))).reshape(shape).astype(spec.dtype)
        else:
            inputs[spec.name] = np.zeros(shape, spec.dtype)
    return inputs


def bodies(inputs: dict[str, np.ndarray], model: str) -> dict[str, tuple[bytes, int]]:
    """protocol -> (request body, JSON header length; 0 for plain JSON and gRPC)."""
    tensors = [{"name": k, "shape": list(v.shape), "datatype": DATATYPES[str(v.dtype)]} for k, v in inputs.items()]
    as_json = json.dumps({"inputs": [t | {"data": inputs[t["name"]].ravel().tolist()} for t in tensors]}).encode()
    raw = [np.ascontiguousarray(v, v.dtype.newbyteorder("<")).tobytes() for v in inputs.values()]
    header = json.dumps(
        {
            "inputs": [t | {"parameters": {"binary_data_size": len(r)}} for t, r in zip(tensors, raw, strict=True)],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    return {
        "http-json": (as_json, 0),
        "http-binary": (header + b"".join(raw), len(header)),
        "grpc": (_grpc_frame(inputs, model), 0),
    }


def _grpc_request(inputs: dict[str, np.ndarray], model: str) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model)
    for name, value in inputs.items():
        request.inputs.add(name=name, datatype=DATATYPES[str(value.dtype)], shape=list(value.shape))
        request.raw_input_contents.append(np.ascontiguousarray(value, value.dtype.newbyteorder("<")).tobytes())
    return request


def _grpc_frame(inputs: dict[str, np.ndarray], model: str) -> bytes:
    message = _grpc_request(inputs, model).SerializeToString()
    return b"\0" + struct.pack(">I", len(message)) + message  # gRPC's length-prefixed message, uncompressed


def same_answer_three_ways(server: Server, model: str, inputs: dict[str, np.ndarray]) -> None:
    """One request each way; raise unless the three images are bit for bit the same."""
    url = f"{server.url}/v2/models/{model}/infer"
    requests = bodies(inputs, model)
    body, header = requests["http-binary"]
    r = httpx.post(url, content=body, headers={"Inference-Header-Content-Length": str(header)}, timeout=30)
    r.raise_for_status()
    size = int(r.headers["inference-header-content-length"])
    binary = r.content[size:]
    r = httpx.post(url, content=requests["http-json"][0], headers={"Content-Type": "application/json"}, timeout=30)
    r.raise_for_status()
    as_json = np.asarray(r.json()["outputs"][0]["data"], np.float32).astype("<f4").tobytes()
    with grpc.insecure_channel(server.grpc) as channel:
        call = channel.unary_unary(
            INFER,
            request_serializer=pb.ModelInferRequest.SerializeToString,
            response_deserializer=pb.ModelInferResponse.FromString,
        )
        over_grpc = call(_grpc_request(inputs, model), timeout=30).raw_output_contents[0]
    if not binary == as_json == over_grpc:
        raise RuntimeError("the three protocols answered different images for the same request")


def run_h2load(target: str, body: Path, clients: int, duration_s: float, threads: int) -> dict[str, Any]:
    """Closed-loop gRPC calls with h2load; latency percentiles from its per-request log."""
    binary = shutil.which("h2load")
    if binary is None:
        raise RuntimeError("h2load not found: install the Debian package (apt-get install -y nghttp2-client)")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "requests.tsv"
        proc = subprocess.Popen(
            [
                binary,
                "-c",
                str(clients),
                "-m",
                "1",
                "-t",
                str(max(1, min(threads, clients))),
                "-D",
                str(max(1, round(duration_s))),
                "-d",
                str(body),
                "-H",
                "content-type: application/grpc",
                "-H",
                "te: trailers",
                "--log-file",
                str(log),
                f"http://{target}{INFER}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        with proc.stdout:
            out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # reaps h2load and returns its CPU time
        proc.returncode = os.waitstatus_to_exitcode(status)
        rows = [line.split("\t") for line in log.read_text().splitlines() if line] if log.exists() else []
    done = np.array([int(r[2]) for r in rows if r[1] == "200"], np.float64)
    if proc.returncode != 0 or not done.size:
        raise RuntimeError(f"h2load failed or got no answer:\n{out}")
    return {
        "requests": int(done.size),
        "latency_us": {"p50": float(np.percentile(done, 50)), "p99": float(np.percentile(done, 99))},
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


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
