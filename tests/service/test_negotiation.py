"""Choosing the representation once: Accept (406 when nothing fits), then the format and quality fields (422)."""

from __future__ import annotations

import pytest

from service.errors import InvalidRequest, NotAcceptable
from service.formats import Format
from service.negotiation import OFFERS, Representation, negotiate


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("image/png", "image/png"),
        ("image/*", "image/png"),
        ("image/jpeg", "image/jpeg"),
        ("IMAGE/WEBP", "image/webp"),
        ("application/x-npy", "application/x-npy"),
        ("image/png, application/json", "application/json"),  # a tie: JSON, as before formats existed
        ("application/json;q=0.5, image/webp", "image/webp"),
        ("image/*;q=0.8, image/jpeg", "image/jpeg"),
        ("image/*, image/png;q=0", "image/jpeg"),  # the most specific range decides each offer's weight
        ("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),  # a browser
    ],
)
def test_accept_picks_the_heaviest_offer(accept: str | None, media: str) -> None:
    assert negotiate(accept).media_type == media


@pytest.mark.parametrize("accept", ["text/html", "image/gif", "application/json;q=0, image/png;q=0", "*/*;q=0"])
def test_nothing_acceptable_is_406_with_the_list(accept: str) -> None:
    with pytest.raises(NotAcceptable) as caught:
        negotiate(accept)
    assert all(offer in caught.value.message for offer in OFFERS)


@pytest.mark.parametrize("accept", ["png", "image/png;q=abc", "image/png;q=2", "*/png"])
def test_malformed_accept_is_406_saying_what_is_expected(accept: str) -> None:
    with pytest.raises(NotAcceptable, match="malformed Accept"):
        negotiate(accept)


def test_the_format_field_chooses_the_pictures_of_a_json_answer() -> None:
    assert negotiate(None, "jpeg", 70) == Representation(Format.jpeg, json=True, quality=70)
    assert negotiate("application/json", "webp") == Representation(Format.webp, json=True)
    assert negotiate("image/jpeg", "jpeg") == Representation(Format.jpeg, json=False)  # agreeing is fine


@pytest.mark.parametrize(
    ("accept", "fmt", "quality", "message"),
    [
        (None, "gif", None, "unknown format 'gif'"),
        (None, "npy", None, "Accept: application/x-npy"),
        ("image/png", "jpeg", None, "contradicts"),
        (None, "png", 80, "quality applies to jpeg and webp only"),
        ("application/x-npy", None, 80, "quality applies"),
    ],
)
def test_inconsistent_fields_are_422(accept: str | None, fmt: str | None, quality: int | None, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        negotiate(accept, fmt, quality)


def test_an_endpoint_can_offer_fewer_representations() -> None:
    assert negotiate("*/*", offers=["image/png", "image/jpeg"]).media_type == "image/png"
    with pytest.raises(NotAcceptable, match=r"image/png, image/jpeg$"):
        negotiate("application/json", offers=["image/png", "image/jpeg"])
