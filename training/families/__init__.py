"""The registry of GAN families a user can pick with ``--family``; one readable module each."""

from __future__ import annotations

from types import ModuleType

from training.families import cgan, cyclegan, dcgan, gan, pix2pix, selfcond, wgan, wgan_gp

FAMILIES: dict[str, ModuleType] = {
    "gan": gan,
    "dcgan": dcgan,
    "wgan": wgan,
    "wgan-gp": wgan_gp,
    "cgan": cgan,
    "selfcond": selfcond,
    "pix2pix": pix2pix,
    "cyclegan": cyclegan,
}


def get_family(name: str) -> ModuleType:
    """The family module (KIND, TASK_KIND, LOSSES, DEFAULTS, Trainer); unknown names fail with the valid list."""
    if name not in FAMILIES:
        from training.config import ConfigError

        raise ConfigError(f"unknown family {name!r}; valid families: {', '.join(FAMILIES)}")
    return FAMILIES[name]
