"""The registry of GAN families a user can pick with ``--family``; one readable module each."""

from __future__ import annotations

from training.families import cgan, cyclegan, dcgan, gan, pix2pix, selfcond, wgan, wgan_gp
from training.families.family import Family

_ALL = (gan, dcgan, wgan, wgan_gp, cgan, selfcond, pix2pix, cyclegan)
FAMILIES: dict[str, Family] = {m.FAMILY.name: m.FAMILY for m in _ALL}


class UnknownFamily(ValueError):
    """--family names no registered family; the message lists the valid ones."""


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise UnknownFamily(f"unknown family {name!r}; valid families: {', '.join(FAMILIES)}")
    return FAMILIES[name]
