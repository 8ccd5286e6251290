"""From a graph and the command-line flags to a manifest: infer what is unambiguous, refuse the rest.

Every refusal names the flag that settles it. Rules 1-2 (kind and roles) are in roles.py; then:

3. Shapes: every dimension but the first must be fixed; the first is dynamic, or 1 for the whole graph.
4. Output: the only one, else the only image-shaped one, else `--output`. Its layout (NCHW / NHWC) and size come
   from a dummy run at batch 1; `--layout` settles a shape that fits both.
5. Ranges: the output's from its final Tanh / Sigmoid / Clip, else `--output-range`; a translator's input range
   cannot be read from a graph, so it needs `--input-range`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ganserve.importer.errors import ImportRefused
from ganserve.importer.graph import Dim, Graph, Range, Tensor
from ganserve.importer.options import ImportOptions
from ganserve.importer.roles import Roles, assign_roles, describe, image_layout
from service.manifest import Kind, Role


def batch_of(inputs: list[Tensor]) -> Dim:
    """The manifest's first dimension: "batch" (dynamic) or 1 (fixed); refuses any other fixed batch."""
    for t in inputs:
        if not t.shape:
            raise ImportRefused(f"input {t.name!r} is a scalar; ganserve needs a batch axis first")
    fixed = [t for t in inputs if isinstance(t.shape[0], int)]
    for t in fixed:
        if t.shape[0] != 1:
            raise ImportRefused(
                f"input {describe(t)} has a fixed batch of {t.shape[0]}: ganserve serves a dynamic "
                "batch axis or a fixed batch of 1; re-export with e.g. "
                f"dynamic_axes={{{t.name!r}: {{0: 'batch'}}}}"
            )
    return 1 if fixed else "batch"


def fixed_dims(t: Tensor) -> list[int]:
    """The dimensions after the batch axis, which must all be fixed."""
    rest = t.shape[1:]
    if not all(isinstance(d, int) for d in rest):
        raise ImportRefused(
            f"the shape of input {describe(t)} cannot be resolved: ganserve needs fixed sizes "
            "after the batch axis; re-export with a fixed input size"
        )
    return [int(d) for d in rest if isinstance(d, int)]


def dummy_inputs(roles: Roles, batch: int) -> dict[str, np.ndarray]:
    feeds = {}
    for role, t in roles.tensors.items():
        array = np.zeros((batch, *fixed_dims(t)), dtype=t.dtype)
        if role is Role.label and t.dtype.startswith("float"):
            array[:, 0] = 1  # one-hot class 0
        feeds[t.name] = array
    return feeds


def _label_fields(label: Tensor, o: ImportOptions, notes: list[str]) -> dict[str, Any]:
    if label.dtype.startswith("float"):
        dims = fixed_dims(label)
        if len(dims) != 1:
            raise ImportRefused(f"label {describe(label)}: a float label must be one-hot, shaped [batch, classes]")
        classes, encoding = dims[0], "onehot"
        notes.append(f"label: {label.name!r} one-hot {label.dtype} [batch, {classes}] -> {classes} classes")
    else:
        if fixed_dims(label):
            raise ImportRefused(f"label {describe(label)}: integer labels must be class indices shaped [batch]")
        classes = o.num_classes or (len(o.class_names) if o.class_names else 0)
        if not classes:
            raise ImportRefused(
                f"the graph does not say how many classes its label {describe(label)} takes: "
                "add --class-names A B ... (or --num-classes N)"
            )
        encoding = "index"
        notes.append(f"label: {label.name!r} {label.dtype} class indices, {classes} classes")
    for given, flag in ((o.num_classes, "--num-classes"), (len(o.class_names or []) or None, "--class-names")):
        if given is not None and given != classes:
            raise ImportRefused(f"{flag} gives {given} classes; the label input takes {classes}")
    return {"num_classes": classes, "class_names": o.class_names, "label_encoding": encoding}


def plan_manifest(graph: Graph, o: ImportOptions) -> tuple[dict[str, Any], list[str]]:
    """The manifest's fields (all but sha256) and the lines saying what was inferred."""
    roles = assign_roles(graph.inputs, o)
    notes = [f"kind: {roles.kind.value} (inputs: {', '.join(describe(t) for t in graph.inputs)})"]
    batch = batch_of(graph.inputs)
    notes.append(
        "batch: dynamic" if batch == "batch" else "batch: fixed at 1, so the server runs this model one image at a time"
    )
    fields: dict[str, Any] = {
        "schema_version": 2,
        "name": o.name,
        "version": o.version,
        "kind": roles.kind.value,
        "inputs": {},
        "opset": graph.opset,
    }
    for role, t in roles.tensors.items():
        spec: dict[str, Any] = {"name": t.name, "dtype": t.dtype, "shape": [batch, *fixed_dims(t)]}
        if role is Role.image:
            layout = image_layout(spec["shape"], o.layout, f"input {t.name!r}")
            if layout is None:
                raise ImportRefused(
                    f"input {describe(t)} is not an image ((N, C, H, W) or (N, H, W, C), 1 or 3 "
                    "channels): name the inputs with --noise / --label, or set --kind"
                )
            spec["layout"] = layout
            c, h, w = (spec["shape"][i] for i in ((1, 2, 3) if layout == "NCHW" else (3, 1, 2)))
            fields["input_image"] = {"channels": c, "height": h, "width": w}
            notes.append(f"image input: {t.name!r} {layout} {c}x{h}x{w}")
        fields["inputs"][role.value] = spec
    if roles.kind is not Kind.translation:
        noise = roles.tensors[Role.noise]
        if not noise.dtype.startswith("float"):
            raise ImportRefused(
                f"noise {describe(noise)} must be float32 or float16; name the inputs with --noise/--label"
            )
        fields["latent_dim"] = math.prod(fixed_dims(noise)) if fixed_dims(noise) else 0
        notes.append(
            f"noise: {noise.name!r} {[batch, *fixed_dims(noise)]} -> latent_dim {fields['latent_dim']} "
            "(the seeded noise is reshaped to it)"
        )
    if roles.kind is Kind.conditional:
        fields |= _label_fields(roles.tensors[Role.label], o, notes)
    fields |= _output_fields(graph, roles, o, batch, notes)
    return fields, notes


def _output_fields(graph: Graph, roles: Roles, o: ImportOptions, batch: Dim, notes: list[str]) -> dict[str, Any]:
    try:
        results = graph.session.run(None, dummy_inputs(roles, 1))
    except Exception as e:  # noqa: BLE001 - onnxruntime's own exception types
        raise ImportRefused(f"the model fails on dummy input at batch 1: {str(e).strip()[:400]}") from None
    shapes = {t.name: list(r.shape) for t, r in zip(graph.outputs, results, strict=True)}
    listing = ", ".join(f"{n!r} {s}" for n, s in shapes.items())
    if o.output is not None:
        if o.output not in shapes:
            raise ImportRefused(f"--output {o.output!r}: the graph has no such output; its outputs are {listing}")
        name = o.output
    elif len(shapes) == 1:
        name = next(iter(shapes))
    else:
        images = [n for n, s in shapes.items() if image_layout(s, o.layout, f"output {n!r}")]
        if len(images) != 1:
            raise ImportRefused(f"the graph has several outputs ({listing}): choose the image with --output NAME")
        name = images[0]
        notes.append(f"output: {name!r} is the only image-shaped one of {listing}")
    out = next(t for t in graph.outputs if t.name == name)
    shape = shapes[name]
    layout = image_layout(shape, o.layout, f"output {name!r}")
    if layout is None or out.dtype not in ("float32", "float16"):
        raise ImportRefused(
            f"output {name!r} is {out.dtype} {shape} at batch 1: ganserve serves float images "
            "(N, C, H, W) or (N, H, W, C) with 1 or 3 channels (choose another with --output)"
        )
    c, h, w = (shape[i] for i in ((1, 2, 3) if layout == "NCHW" else (3, 1, 2)))
    notes.append(f"output: {name!r} {layout} {c}x{h}x{w} ({'grey' if c == 1 else 'RGB'})")
    fields: dict[str, Any] = {
        "outputs": {"image": {"name": name, "dtype": out.dtype, "shape": [batch, *shape[1:]], "layout": layout}},
        "image": {"channels": c, "height": h, "width": w},
        "output_range": _output_range(graph, name, o, notes),
    }
    if roles.kind is Kind.translation:
        if o.input_range is None:
            raise ImportRefused(
                "a translator's input range cannot be read from its graph: add --input-range LO HI "
                "(what its training images were scaled to, e.g. -1 1 or 0 1)"
            )
        fields["input_range"] = o.input_range
    return fields


def _output_range(graph: Graph, name: str, o: ImportOptions, notes: list[str]) -> Range:
    found = graph.ranges.get(name)
    if o.output_range is not None:
        if found is not None and found[0] != o.output_range:
            notes.append(
                f"output range: {list(o.output_range)} from --output-range (the graph ends in "
                f"{found[1]}, bounded to {list(found[0])})"
            )
        else:
            notes.append(f"output range: {list(o.output_range)} from --output-range")
        return o.output_range
    if found is None:
        raise ImportRefused(
            f"cannot tell the range of output {name!r} (it does not end in Tanh, Sigmoid or Clip): "
            "add --output-range LO HI, e.g. --output-range -1 1, 0 1 or 0 255"
        )
    notes.append(f"output range: {list(found[0])} (from the final {found[1]})")
    return found[0]
