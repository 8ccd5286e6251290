"""Regenerate the gRPC modules in service/rpc/ from the .proto files beside them.

    pip install grpcio-tools && python scripts/gen_grpc.py

The generated *_pb2*.py files are checked in, so a plain install needs only grpcio and protobuf at run time.
One edit after protoc: the messages go into a private descriptor pool instead of protobuf's global one, because
the server's `inference.*` messages would otherwise clash with a client library that defines the same names
(tritonclient, KServe) imported into the same process, e.g. by the test suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROTOS = ["service/rpc/inference.proto", "service/rpc/health.proto"]
GLOBAL_POOL = "_descriptor_pool.Default().AddSerializedFile("
PRIVATE_POOL = "_descriptor_pool.DescriptorPool().AddSerializedFile("


def main() -> int:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I.",
            "--python_out=.",
            "--pyi_out=.",
            "--grpc_python_out=.",
            *PROTOS,
        ],
        cwd=REPO,
        check=True,
    )
    for proto in PROTOS:
        module = REPO / proto.replace(".proto", "_pb2.py")
        text = module.read_text()
        if text.count(GLOBAL_POOL) != 1:
            print(f"{module}: expected one {GLOBAL_POOL!r}; protoc's output changed, update this script")
            return 1
        module.write_text(text.replace(GLOBAL_POOL, PRIVATE_POOL))
    print("regenerated", ", ".join(PROTOS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
