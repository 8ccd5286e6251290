"""The images: multi-stage, unprivileged, health-checked on readiness, no torch and no training code inside."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.deploy.repo import DEPLOY, ROOT, Instruction, dockerfile_stages, dockerignore_excludes

DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"]
HEALTHCHECK = "/usr/local/bin/ganserve-healthcheck"


def final_stage(name: str) -> list[Instruction]:
    return dockerfile_stages(ROOT / name)[-1]


def values(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.value for i in stage if i.keyword == keyword]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_multi_stage_with_the_venv_built_apart(name: str) -> None:
    stages = dockerfile_stages(ROOT / name)
    assert len(stages) >= 2
    assert any(v.startswith("--from=build /opt/venv") for v in values(stages[-1], "COPY"))
    # Nothing that compiles or downloads packages runs in the image users get.
    assert not any("pip install" in v for v in values(stages[-1], "RUN"))


@pytest.mark.parametrize("name", DOCKERFILES)
def test_runs_as_a_numeric_non_root_user(name: str) -> None:
    user = values(final_stage(name), "USER")[-1]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"{name}: USER {user} must be a numeric non-root uid"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_healthcheck_probes_readiness(name: str) -> None:
    stage = final_stage(name)
    (check,) = values(stage, "HEALTHCHECK")
    command = json.loads(check.split("CMD", 1)[1])
    assert command == ["python", HEALTHCHECK]
    assert f"deploy/docker/healthcheck.py {HEALTHCHECK}" in values(stage, "COPY")
    assert "/v2/health/ready" in (DEPLOY / "docker" / "healthcheck.py").read_text()


@pytest.mark.parametrize("name", DOCKERFILES)
def test_service_is_pid_1_and_drains_on_sigterm(name: str) -> None:
    stage = final_stage(name)
    assert json.loads(values(stage, "CMD")[-1])[:2] == ["ganserve", "serve"]  # exec form: no shell eats SIGTERM
    assert values(stage, "STOPSIGNAL") == ["SIGTERM"]
    env = " ".join(values(stage, "ENV"))
    assert "GANSERVE_HOST=0.0.0.0" in env and "GANSERVE_DRAIN_TIMEOUT_S=" in env


@pytest.mark.parametrize("name", DOCKERFILES)
def test_models_are_baked_in_at_the_models_dir(name: str) -> None:
    stage = final_stage(name)
    assert "models/ /models/" in values(stage, "COPY")
    assert "GANSERVE_MODELS_DIR=/models" in " ".join(values(stage, "ENV"))


@pytest.mark.parametrize("name", DOCKERFILES)
def test_no_torch_and_no_training_code(name: str) -> None:
    instructions = [i for stage in dockerfile_stages(ROOT / name) for i in stage]
    sources = [
        src
        for i in instructions
        if i.keyword == "COPY" and not i.value.startswith("--from")
        for src in i.value.split()[:-1]
    ]
    assert sources, "no COPY found: the parser is broken"
    for src in sources:
        assert src not in {".", "./"} and not src.startswith(("training", "data", "tests")), f"{name} copies {src}"
        assert not dockerignore_excludes(ROOT / ".dockerignore", src.rstrip("/")), f"{src} is not in the build context"
    installs = [
        cmd.split("pip install", 1)[1]
        for i in instructions
        if i.keyword == "RUN"
        for cmd in i.value.split("&&")
        if "pip install" in cmd
    ]
    assert installs, "no pip install found: the parser is broken"
    for args in installs:
        assert "torch" not in args and ".[" not in args, f"{name} installs training dependencies: {args}"
    # The build itself proves torch is absent: it fails if torch became importable through some dependency.
    assert any('! python -c "import torch"' in i.value for i in instructions if i.keyword == "RUN")


@pytest.mark.parametrize(
    "path, excluded",
    [
        ("training/__init__.py", True),
        ("training/families/dcgan.py", True),
        ("data/mnist/train.npz", True),
        ("tests/deploy/test_dockerfiles.py", True),
        (".venv/bin/python", True),
        (".git/config", True),
        ("runs/0001/ckpt.pt", True),
        ("service/__pycache__/app.cpython-312.pyc", True),
        ("service/app.py", False),
        ("ganserve/cli.py", False),
        ("models/dcgan-mnist/1/model.onnx", False),
        ("pyproject.toml", False),
        ("README.md", False),
        ("deploy/docker/healthcheck.py", False),
        ("deploy/k8s/base/deployment.yaml", True),
    ],
)
def test_dockerignore_allows_only_what_the_images_need(path: str, excluded: bool) -> None:
    assert dockerignore_excludes(ROOT / ".dockerignore", path) is excluded


def requirements(*args: str) -> list[str]:
    out = subprocess.run(
        [
            sys.executable,
            str(DEPLOY / "docker" / "requirements.py"),
            *args,
            "--pyproject",
            str(ROOT / "pyproject.toml"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.split()


def test_requirements_are_the_base_dependencies_only() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert requirements() == declared
    cpu = requirements("--cpu")
    names = {r.split(">")[0].split("=")[0].split("[")[0].split("<")[0] for r in cpu}
    assert "onnxruntime" in names and "onnxruntime-gpu" not in names
    assert not names & {"torch", "onnx", "onnxscript", "pytest"}


# Run inside the unpacked wheel: anything a serving image lacks (training code and its dependencies, the tests)
# fails to import, as it would in the container.
_IMPORT_AS_IN_THE_IMAGE = """
import importlib.abc, sys
sys.path.insert(0, sys.argv[1])
ABSENT = {"torch", "training", "onnx", "onnxscript", "tests", "bench", "matplotlib"}
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {name!r} in the serving image")
sys.meta_path.insert(0, Absent())
import service, service.app, ganserve.cli
ganserve.cli.build_parser()
assert service.__file__.startswith(sys.argv[1]), service.__file__
"""


def build_context(dest: Path) -> list[str]:
    """Copy what `docker build .` would send (repo files not in .gitignore, filtered by .dockerignore)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    sent = [p for p in listed if (ROOT / p).is_file() and not dockerignore_excludes(ROOT / ".dockerignore", p)]
    for path in sent:
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / path, dest / path)
    return sent


def test_the_image_installs_only_the_serving_packages(tmp_path: Path) -> None:
    context = tmp_path / "context"
    sent = build_context(context)
    assert not [p for p in sent if p.startswith(("training/", "tests/", "data/", "bench/"))]
    # What the Dockerfile's `pip install --no-deps .` installs, as a wheel.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(context),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = {n.split("/")[0] for n in names}
        assert {t for t in top_level if not t.endswith(".dist-info")} == {"service", "ganserve"}
        # The web playground's files are package data: the image serves GET / from the installed package.
        static = {p.removeprefix("service/") for p in sent if p.startswith("service/static/")}
        assert static <= {n.removeprefix("service/") for n in names}
        archive.extractall(tmp_path / "site")
    result = subprocess.run(
        [sys.executable, "-I", "-c", _IMPORT_AS_IN_THE_IMAGE, str(tmp_path / "site")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_gpu_base_has_the_cuda_major_onnxruntime_gpu_was_built_for() -> None:
    info = pytest.importorskip("onnxruntime.capi.build_and_package_info")
    built_for = getattr(info, "cuda_version", "")
    if not built_for:
        pytest.skip("the installed onnxruntime is a CPU build")
    match = re.search(
        r"^ARG CUDA_IMAGE=nvidia/cuda:(\d+)\.[\w.-]*cudnn-runtime", (ROOT / "Dockerfile.gpu").read_text(), re.MULTILINE
    )
    assert match, "Dockerfile.gpu: CUDA_IMAGE should default to an nvidia/cuda cudnn-runtime tag"
    assert match[1] == built_for.split(".")[0], f"onnxruntime-gpu wants CUDA {built_for}, the base has {match[1]}"
