"""Which graph input is which: the noise, the label (index or one-hot) or a translator's image.

1. Kind: one input is a translator's image when it looks like one ((N, C, H, W) or (N, H, W, C), C in {1, 3},
   H and W >= 4), else a generator's noise; two inputs are noise + label (`--kind` overrides).
2. Roles: `--noise`, `--label`, `--image-input` name inputs; otherwise an integer input is the label (class
   indices), a float (N, K) input beside a noise of higher rank is a one-hot label, anything else is ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ganserve.importer.errors import ImportRefused
from ganserve.importer.graph import Dim, Tensor
from ganserve.importer.options import ImportOptions
from service.manifest import Kind, Role

Layout = Literal["NCHW", "NHWC"]


@dataclass
class Roles:
    kind: Kind
    tensors: dict[Role, Tensor]
    notes: list[str] = field(default_factory=list)


def describe(t: Tensor) -> str:
    return f"{t.name!r} {t.dtype} {[d if d is not None else '?' for d in t.shape]}"


def image_layout(shape: list[Dim], hint: Layout | None, what: str) -> Layout | None:
    """NCHW or NHWC when `shape` is an image's, None when it is not one; refuses a shape that fits both."""
    if len(shape) != 4:
        return None

    def channels(d: Dim) -> bool:
        return d in (1, 3)

    def spatial(d: Dim) -> bool:
        return not isinstance(d, int) or d >= 4

    fits = [
        lay
        for lay, ok in (
            ("NCHW", channels(shape[1]) and spatial(shape[2]) and spatial(shape[3])),
            ("NHWC", channels(shape[3]) and spatial(shape[1]) and spatial(shape[2])),
        )
        if ok
    ]
    if len(fits) == 2:
        if hint is None:
            raise ImportRefused(f"{what} {shape} could be NCHW or NHWC: add --layout NCHW or --layout NHWC")
        return hint
    return "NCHW" if fits == ["NCHW"] else "NHWC" if fits == ["NHWC"] else None


def assign_roles(inputs: list[Tensor], o: ImportOptions) -> Roles:
    listing = ", ".join(describe(t) for t in inputs)
    by_name = {t.name: t for t in inputs}
    named: dict[Role, Tensor] = {}
    for role, flag, value in (
        (Role.noise, "--noise", o.noise),
        (Role.label, "--label", o.label),
        (Role.image, "--image-input", o.image_input),
    ):
        if value is not None:
            if value not in by_name:
                raise ImportRefused(f"{flag} {value!r}: the graph has no such input; its inputs are {listing}")
            named[role] = by_name[value]
    for t in inputs:
        if not t.supported:
            raise ImportRefused(
                f"input {describe(t)}: ganserve feeds float32/float16 noise and images and "
                "int64/int32 or float labels; re-export with one of those types"
            )
    kind = o.kind or _guess_kind(inputs, named, o.layout, listing)
    want = {Kind.unconditional: 1, Kind.conditional: 2, Kind.translation: 1}[kind]
    if len(inputs) != want:
        raise ImportRefused(f"a {kind.value} model takes {want} input(s); the graph has {len(inputs)}: {listing}")
    if kind is Kind.translation:
        return Roles(kind, {Role.image: named.get(Role.image, inputs[0])})
    if kind is Kind.unconditional:
        return Roles(kind, {Role.noise: named.get(Role.noise, inputs[0])})
    noise, label = named.get(Role.noise), named.get(Role.label)
    if noise is None and label is None:
        ints = [t for t in inputs if t.dtype.startswith("int")]
        floats = [t for t in inputs if t.dtype.startswith("float")]
        if len(ints) == 1:
            label = ints[0]
        elif len(floats) == 2 and sorted(len(t.shape) for t in floats) in ([2, 3], [2, 4]):
            label = next(t for t in floats if len(t.shape) == 2)  # (N, K) one-hot beside a noise of higher rank
        else:
            raise ImportRefused(
                f"cannot tell the noise from the label among {listing}: add --noise NAME and --label NAME"
            )
    if label is None:
        label = next(t for t in inputs if t is not noise)
    if noise is None:
        noise = next(t for t in inputs if t is not label)
    if noise is label:
        raise ImportRefused(f"--noise and --label both name {noise.name!r}")
    return Roles(kind, {Role.noise: noise, Role.label: label})


def _guess_kind(inputs: list[Tensor], named: dict[Role, Tensor], hint: Layout | None, listing: str) -> Kind:
    if Role.image in named:
        return Kind.translation
    if Role.label in named or len(inputs) == 2:
        return Kind.conditional
    if len(inputs) != 1:
        raise ImportRefused(
            f"the graph has {len(inputs)} inputs ({listing}); ganserve serves generators "
            "(noise, or noise + label) and translators (one image): add --kind and name the "
            "inputs with --noise / --label / --image-input"
        )
    only = inputs[0]
    if Role.noise not in named and only.dtype.startswith("float") and image_layout(only.shape, hint, "input"):
        return Kind.translation
    return Kind.unconditional
