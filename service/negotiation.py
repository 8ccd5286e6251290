"""Content negotiation: the representation a request gets, decided once, from `Accept` and the body's fields.

    negotiate("image/webp", None, 80)        # -> Representation(Format.webp, json=False, quality=80)
    negotiate(None, "jpeg", None)            # -> JSON answer whose pictures are JPEG (the server's quality)
    negotiate("text/html", None, None)       # -> NotAcceptable (406) listing what this server answers

Strings in, a `Representation` or a domain error out: no web framework here. `Accept` follows RFC 9110: the most
specific matching range gives each offer its weight (`q`), the heaviest offer wins, and ties go to the first
in `OFFERS`, so a missing `Accept` or `*/*` gets JSON, as before this module existed. The `format` field chooses
the picture format inside a JSON answer; with an image `Accept` it may only repeat it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.errors import InvalidRequest, NotAcceptable
from service.formats import LOSSY, MEDIA_TYPES, Format

JSON = "application/json"
# the server's preference on ties, and the list a 406 names
OFFERS = (JSON, *MEDIA_TYPES.values())
_BY_MEDIA_TYPE = {media: fmt for fmt, media in MEDIA_TYPES.items()}


@dataclass(frozen=True)
class Representation:
    """What a request's answer is: one picture/grid/tensor in `format`, or JSON holding pictures in `format`."""

    format: Format = Format.png
    json: bool = True
    quality: int | None = None  # what the client asked for (lossy formats only); None: the server's default

    @property
    def media_type(self) -> str:
        return JSON if self.json else MEDIA_TYPES[self.format]


def parse_accept(header: str) -> list[tuple[str, str, float]]:
    """`Accept` -> [(type, subtype, q)], lower-cased; NotAcceptable for an entry that is not `type/subtype`."""
    ranges = []
    for entry in header.split(","):
        if not entry.strip():
            continue
        media, *params = (p.strip() for p in entry.split(";"))
        kind, slash, sub = media.lower().partition("/")
        if not slash or not kind or not sub or (kind == "*" and sub != "*"):
            raise NotAcceptable(
                f"malformed Accept entry {entry.strip()!r}: use a media type such as {', '.join(OFFERS)}"
            )
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = -1.0
                if not 0.0 <= q <= 1.0:
                    raise NotAcceptable(f"malformed Accept entry {entry.strip()!r}: q must be in 0..1")
        ranges.append((kind, sub, q))
    return ranges


def _weight(offer: str, ranges: list[tuple[str, str, float]]) -> float:
    """q of the most specific range matching `offer` (exact beats type/* beats */*); 0 when none matches."""
    kind, _, sub = offer.partition("/")
    best, weight = -1, 0.0
    for rk, rs, q in ranges:
        specificity = 2 if (rk, rs) == (kind, sub) else 1 if (rk == kind and rs == "*") else 0 if rk == "*" else -1
        if specificity > best:
            best, weight = specificity, q
    return weight


def choose(accept: str | None, offers: Sequence[str] = OFFERS) -> str:
    """The media type to answer with; NotAcceptable (406, with the list) when `Accept` admits none of `offers`."""
    if accept is None or not accept.strip():
        return offers[0]
    ranges = parse_accept(accept)
    weights = [_weight(offer, ranges) for offer in offers]
    best = max(weights)
    if best <= 0.0:
        raise NotAcceptable(f"cannot answer with any of Accept: {accept!r}; this endpoint answers {', '.join(offers)}")
    return offers[weights.index(best)]


def negotiate(
    accept: str | None, fmt: str | None = None, quality: int | None = None, offers: Sequence[str] = OFFERS
) -> Representation:
    """Decide the representation once: NotAcceptable (406) for `Accept`, InvalidRequest (422) for the fields."""
    chosen = choose(accept, offers)
    if fmt is not None and fmt not in Format.__members__:
        raise InvalidRequest(f"unknown format {fmt!r}; formats are {', '.join(Format)}")
    asked = Format(fmt) if fmt is not None else None
    if chosen == JSON:
        picture = asked or Format.png
        if picture is Format.npy:
            raise InvalidRequest(
                "raw tensors are not embedded in JSON: send 'Accept: application/x-npy' instead of format 'npy'"
            )
    else:
        picture = _BY_MEDIA_TYPE[chosen]
        if asked is not None and asked is not picture:
            raise InvalidRequest(
                f"format {asked.value!r} contradicts 'Accept: {chosen}': the format field chooses "
                "the pictures of a JSON answer; drop it or make them agree"
            )
    if quality is not None and picture not in LOSSY:
        raise InvalidRequest(f"quality applies to jpeg and webp only, not {picture.value}")
    return Representation(picture, chosen == JSON, quality)
