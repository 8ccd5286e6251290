"""The OpenAPI document tells the truth (service.openapi), checked by hand and by a schema-driven fuzzer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.settings import Settings
from tests.support.server import Server

METHODS = {"get", "head", "post", "put", "patch", "delete", "options"}
REQUIRED_BODY = {
    "/v1/models/{name}/interpolate",
    "/v1/models/{name}/translate",
    "/v2/models/{name}/infer",
    "/v2/models/{name}/versions/{version}/infer",
}


def document(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return create_app(Settings(models_dir=tmp_path, **settings)).openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, item in doc["paths"].items() for method, op in item.items() if method in METHODS
    ]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [
            r for v in node.values() for r in refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_ref_resolves(tmp_path: Path) -> None:
    doc = document(tmp_path)
    found = refs(doc)
    assert "#/components/schemas/InferInput" in found  # the v2 body's nested models, hoisted out of $defs
    assert all(resolve(doc, ref) for ref in found)


def test_bodies_with_required_fields_are_required_and_errors_use_one_schema(tmp_path: Path) -> None:
    doc = document(tmp_path)
    ops = operations(doc)
    assert len({op["operationId"] for _, _, op in ops}) == len(ops)  # GET and HEAD of an image are two operations
    required = {path for path, _, op in ops if op.get("requestBody", {}).get("required")}
    assert required == REQUIRED_BODY  # generate's body may be empty: every field has a default
    for _path, _method, op in ops:
        for status, response in op["responses"].items():
            assert response["headers"]["X-Request-ID"] == {"$ref": "#/components/headers/X-Request-ID"}
            if status.startswith(("4", "5")):
                assert response["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    generate = doc["paths"]["/v1/models/{name}/generate"]["post"]["responses"]
    assert sorted(generate) == ["200", "400", "404", "406", "413", "415", "422", "500", "503", "504"]
    assert "Retry-After" in generate["503"]["headers"]
    assert sorted(doc["paths"]["/v2/health/live"]["get"]["responses"]) == ["200"]
    assert sorted(doc["paths"]["/v2/health/ready"]["get"]["responses"]) == ["200", "503"]


def test_401_is_documented_only_where_a_key_is_asked_for(tmp_path: Path) -> None:
    assert not any("401" in op["responses"] for _, _, op in operations(document(tmp_path)))
    keyed = document(tmp_path, api_key="k" * 16)
    with_401 = {path for path, _, op in operations(keyed) if "401" in op["responses"]}
    assert "/v1/models/{name}/generate" in with_401 and "/v2/models/{name}/infer" in with_401
    assert not with_401 & {"/v2/health/live", "/v2/health/ready", "/metrics"}
    assert "401" in document(tmp_path, api_key="k" * 16, protect_metrics=True)["paths"]["/metrics"]["get"]["responses"]
    assert sorted(document(tmp_path, overload_status=429)["paths"]["/v2/models/{name}/infer"]["post"]["responses"]) == [
        "200",
        "400",
        "404",
        "413",
        "415",
        "422",
        "429",
        "500",
        "503",
        "504",
    ]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/models/gen/generate", "POST"),
        ("GET", "/v2/models/gen/infer", "POST"),
        ("DELETE", "/v1/models/gen/images/3.png", "GET, HEAD"),
        ("POST", "/v1/models", "GET"),
        ("POST", "/index.html", "GET, HEAD"),  # the playground's static files
    ],
)
def test_405_answers_name_the_methods_the_path_takes(server: Server, method: str, path: str, allow: str) -> None:
    answer = httpx.request(method, server.url + path)
    assert answer.status_code == 405 and answer.headers["allow"] == allow
    assert answer.json()["type"] == "method_not_allowed"


def test_a_schema_driven_fuzzer_finds_no_contract_failure_in_any_operation(server: Server, tmp_path: Path) -> None:
    """schemathesis over every operation, every phase (examples, coverage, fuzzing, stateful) and every check:
    statuses and headers documented, bodies as described, schema-valid requests accepted, invalid ones refused,
    405s with the right Allow, no 5xx. A fixed seed keeps it reproducible; a few examples keep it fast."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        server.url + "/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        "3",
        "--seed",
        "1",
        "--suppress-health-check",
        "all",
    ]
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    every = len(operations(httpx.get(server.url + "/openapi.json").json()))
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    assert f"Tested: {every}" in summary and re.search(r"(\d+) generated, \1 passed", summary), summary
    assert "Traceback" not in server.log()  # hundreds of malformed requests, and not one of them looked like a bug
