"""What the container tier builds its images from, with no registry and no network inside any build:

- a Debian base (bookworm minbase + python3, python3-venv, python-is-python3) made by mmdebstrap and imported
  with `docker import`: the PYTHON_IMAGE of the repo's Dockerfile, and the base of the nginx and Prometheus images;
- wheels of the CPU image's runtime requirements (and setuptools, which `pip install .` builds with), fetched on
  the host for the base's Python and platform, put in deploy/docker/wheels/ for `--build-arg PIP_NO_INDEX=1`;
- Debian's nginx and prometheus packages, unpacked, for the stand-ins of the official images.

The slow parts (mmdebstrap about a minute, wheels and packages a few seconds each) are cached between runs in
$GANSERVE_CONTAINER_CACHE (default ~/.cache/ganserve-containers), each under a name that changes with its inputs,
and rebuilt after MAX_AGE_S so security updates reach the base. Delete the folder to start afresh.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.deploy.engine import Engine
from tests.deploy.repo import DEPLOY, ROOT

CACHE = Path(os.environ.get("GANSERVE_CONTAINER_CACHE") or Path.home() / ".cache" / "ganserve-containers")
MAX_AGE_S = 7 * 24 * 3600
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3")
# merged-usr hook: installs usr-is-merged first, so apt does not pull usrmerge and with it perl (about 50 MB).
MMDEBSTRAP = [
    "mmdebstrap",
    "--quiet",
    "--variant=minbase",
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    f"--include={','.join(BASE_PACKAGES)}",
    *[f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("doc", "man", "locale", "info")],
    SUITE,
]
WHEELS = DEPLOY / "docker" / "wheels"
TEST_IMAGES = Path(__file__).parent / "images"


def missing_tools() -> str | None:
    for tool, package in (("mmdebstrap", "mmdebstrap"), ("apt-get", "apt"), ("dpkg-deb", "dpkg")):
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install {package}; .ci/run does): it builds the local base images"
    return None


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """subprocess.run that fails with the command's own words (stderr tail), not just its exit status."""
    result = subprocess.run(argv, check=False, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def cached(name: str, key: str, make: Callable[[Path], None]) -> Path:
    """CACHE/<name>-<key>, made by make(path) once (under a lock, so concurrent sessions make it once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"{name}-{key}"
    with open(CACHE / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists() and time.time() - target.stat().st_mtime < MAX_AGE_S:
            return target
        for old in CACHE.glob(f"{name}-*"):  # older keys of the same thing
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        partial = CACHE / f".{name}-{key}.partial"
        if partial.exists():
            shutil.rmtree(partial) if partial.is_dir() else partial.unlink()
        make(partial)
        partial.rename(target)
    return target


def base_rootfs() -> Path:
    """The base's root file system as a tar (mmdebstrap writes it; `docker import` reads it)."""

    def make(path: Path) -> None:
        run([*MMDEBSTRAP, str(path.with_suffix(".tar"))], timeout=900)
        path.with_suffix(".tar").rename(path)

    return cached("rootfs", _key(*MMDEBSTRAP), make)


def import_base(engine: Engine) -> str:
    tar = base_rootfs()
    tag = f"ganserve-tier/{SUITE}-python:{tar.name.rsplit('-', 1)[1]}"
    if engine.docker("image", "inspect", tag, check=False).returncode != 0:
        engine.docker("import", "--change", 'CMD ["python3"]', str(tar), tag, timeout=300)
    return tag


def python_of(engine: Engine, image: str) -> str:
    out = engine.docker(
        "run", "--rm", "--network", "none", image, "python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"
    ).stdout
    return out.strip()


def requirements(*, cpu: bool) -> list[str]:
    """The image's runtime requirements, as deploy/docker/requirements.py prints them for the Dockerfile."""
    out = subprocess.run(
        [
            sys.executable,
            str(DEPLOY / "docker" / "requirements.py"),
            *(["--cpu"] if cpu else []),
            "--pyproject",
            str(ROOT / "pyproject.toml"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.split()


def wheelhouse(name: str, python: str, requirements: list[str]) -> Path:
    """Binary wheels of `requirements` (and the build backend) for CPython `python` on this machine's manylinux
    platform, cached as `name`."""
    build = _build_requires()
    machine = platform.machine()
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(17, 37)] + [f"manylinux2014_{machine}"]

    def make(path: Path) -> None:
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--implementation", "cp"]
        targets = ["--python-version", python, *[a for p in platforms for a in ("--platform", p)]]
        run([*pip, *targets, "--dest", str(path), *requirements, *build], timeout=600)

    return cached(name, _key(python, machine, *requirements, *build), make)


def _build_requires() -> list[str]:
    import tomllib

    requires: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    return requires


def fill_wheels(source: Path) -> list[Path]:
    """Put the wheels where the Dockerfiles look (deploy/docker/wheels/, ignored by git); returns those added."""
    added = []
    for wheel in source.glob("*.whl"):
        target = WHEELS / wheel.name
        if not target.exists():
            shutil.copyfile(wheel, target)
            added.append(target)
    return added


def debian_root(*packages: str) -> Path:
    """Debian's packages as files (`apt-get download` + `dpkg-deb -x`), without running their scripts."""

    def make(path: Path) -> None:
        debs = path.with_name(path.name + ".debs")
        shutil.rmtree(debs, ignore_errors=True)
        debs.mkdir()
        run(["apt-get", "download", *packages], cwd=debs, timeout=300)  # needs `apt-get update` once
        path.mkdir()
        for deb in sorted(debs.glob("*.deb")):
            run(["dpkg-deb", "-x", str(deb), str(path)])
        shutil.rmtree(debs)

    return cached("deb-" + "-".join(packages), _key(*packages), make)


def build(
    engine: Engine,
    tag: str,
    context: Path,
    *,
    dockerfile: str = "Dockerfile",
    args: dict[str, str] | None = None,
    target: str | None = None,
) -> float:
    """`docker build` with no network at all; returns the seconds it took."""
    argv = ["build", "--network", "none", "--tag", tag, "--file", str(context / dockerfile)]
    argv += [a for k, v in (args or {}).items() for a in ("--build-arg", f"{k}={v}")]
    argv += ["--target", target] if target else []
    started = time.monotonic()
    engine.docker(*argv, str(context), timeout=900)
    return time.monotonic() - started


def stand_in_context(name: str, tmp: Path, root: Path, paths: list[str]) -> Path:
    """A build context for tests/deploy/images/<name>: its files plus `paths` of a Debian package tree in root/."""
    context = tmp / name
    shutil.copytree(TEST_IMAGES / name, context)
    for relative in paths:
        source, target = root / relative, context / "root" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target)
    return context
