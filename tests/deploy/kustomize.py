"""Render a kustomization: `kubectl kustomize` where kubectl exists, else the subset of kustomize the repo's
kustomizations use (resources, images, strategic-merge patches), so the schema tests run on any machine.

    docs = render(K8S / "gpu")       # the list of objects `kubectl apply -k deploy/k8s/gpu` would send

The fallback knows what deploy/k8s uses and refuses anything else, so it cannot silently render something
different from kustomize: lists of objects are merged by `name` (containers, env, ports, volumes), like
Kubernetes' strategic merge for those fields; other lists are replaced.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "images", "patches"}


def render(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        result = subprocess.run(
            [kubectl, "kustomize", str(folder)], check=True, capture_output=True, text=True, timeout=60
        )
        return [d for d in yaml.safe_load_all(result.stdout) if d]
    return render_in_python(folder)


def _load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def render_in_python(folder: Path) -> list[dict[str, Any]]:
    kustomization = _load(folder / "kustomization.yaml")[0]
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise NotImplementedError(f"{folder}: kustomization fields {sorted(unknown)} need the real kustomize")
    docs: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = folder / entry
        docs += render_in_python(target) if target.is_dir() else _load(target)
    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise NotImplementedError(f"{folder}: only file patches are supported, not {patch_entry}")
        for patch in _load(folder / patch_entry["path"]):
            matches = [
                d for d in docs if (d["kind"], d["metadata"]["name"]) == (patch["kind"], patch["metadata"]["name"])
            ]
            if len(matches) != 1:
                raise ValueError(f"{patch_entry['path']}: patches {len(matches)} objects, not 1")
            merged = merge(matches[0], patch)
            docs[docs.index(matches[0])] = merged
    for image in kustomization.get("images", []):
        for container in _containers(docs):
            name, _, _tag = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', _tag)}"
    return docs


def _containers(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pods = [d["spec"]["template"]["spec"] for d in docs if d["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}]
    return [c for pod in pods for key in ("initContainers", "containers") for c in pod.get(key, [])]


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge as kustomize applies it to the fields deploy/k8s patches."""
    if isinstance(base, dict) and isinstance(patch, dict):
        mapping = copy.deepcopy(base)
        for key, value in patch.items():
            mapping[key] = merge(mapping[key], value) if key in mapping else copy.deepcopy(value)
        return mapping
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(x, dict) and "name" in x for x in base + patch)
    ):
        items = copy.deepcopy(base)
        for item in patch:
            index = next((i for i, x in enumerate(items) if x["name"] == item["name"]), None)
            if index is None:
                items.append(copy.deepcopy(item))
            else:
                items[index] = merge(items[index], item)
        return items
    return copy.deepcopy(patch)
