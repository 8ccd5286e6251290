"""The quality targets of issue 3, per kind of model, measured on 2,000 samples against the 2,000 held-out digits.

A target is either absolute (``precision >= 0.7``) or relative to the real-vs-real floor (``Fréchet distance
<= 3x floor``): relative targets are checked on the ratio value / floor.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    figure: str
    op: str  # "<=" or ">="
    value: float
    of_floor: bool = False  # compare value / floor instead of the value

    def describe(self) -> str:
        return f"{self.op} {self.value:g}x floor" if self.of_floor else f"{self.op} {self.value:g}"

    def check(self, value: float, floor: float | None) -> bool | None:
        """True / False, or None when a relative target has no usable floor."""
        if self.of_floor:
            if floor is None or floor <= 0:
                return None
            value = value / floor
        return value <= self.value if self.op == "<=" else value >= self.value

    def as_dict(self) -> dict[str, object]:
        return {"op": self.op, "value": self.value, "of_floor": self.of_floor}


_FD3 = Target("frechet_distance", "<=", 3.0, of_floor=True)

TARGETS: dict[str, list[Target]] = {
    "unconditional": [
        _FD3,
        Target("class_min_share", ">=", 0.05),
        Target("class_max_share", "<=", 0.15),
        Target("precision", ">=", 0.7),
        Target("recall", ">=", 0.6),
    ],
    "conditional": [Target("conditional_accuracy", ">=", 0.97), _FD3],
    "translation-paired": [Target("ssim", ">=", 0.85), Target("class_kept", ">=", 0.97)],
    "translation-unpaired": [Target("ssim", ">=", 0.75), Target("class_kept", ">=", 0.95)],
}


def targets_for(kind: str, paired: bool | None = None) -> list[Target]:
    if kind == "translation":
        return TARGETS["translation-paired" if paired else "translation-unpaired"]
    return TARGETS[kind]
