"""multipart/form-data parsing from bytes: files and fields by name, limits, and broken framing as a 400."""

from __future__ import annotations

import httpx
import pytest

from service.errors import MalformedRequest
from service.forms import parse_multipart


def encoded(**kw: object) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://test", **kw)  # type: ignore[arg-type]
    return request.read(), request.headers["content-type"]


def test_files_and_fields_arrive_by_name_byte_for_byte() -> None:
    payload = bytes(range(256)) * 4 + b"\r\n--not-a-boundary\r\n"
    body, ctype = encoded(files={"image": ("in.png", payload, "image/png")}, data={"version": "2"})
    parts = parse_multipart(body, ctype, max_files=1, max_fields=8)
    assert parts["image"].filename == "in.png" and bytes(parts["image"].data) == payload
    assert parts["version"].filename is None and parts["version"].text() == "2"


def test_too_many_files_or_fields_are_refused() -> None:
    body, ctype = encoded(files=[("image", ("a.png", b"a", "image/png")), ("image", ("b.png", b"b", "image/png"))])
    with pytest.raises(MalformedRequest, match="at most 1 file"):
        parse_multipart(body, ctype, max_files=1, max_fields=8)
    body, ctype = encoded(files={"image": ("a.png", b"a", "image/png")}, data={f"f{i}": "x" for i in range(3)})
    with pytest.raises(MalformedRequest, match="2 field"):
        parse_multipart(body, ctype, max_files=1, max_fields=2)


def test_broken_framing_says_what_is_wrong() -> None:
    with pytest.raises(MalformedRequest, match="no boundary"):
        parse_multipart(b"", "multipart/form-data", max_files=1, max_fields=8)
    nameless = b'--zz\r\nContent-Disposition: form-data; filename="x"\r\n\r\ndata\r\n--zz--\r\n'
    with pytest.raises(MalformedRequest, match="no name"):
        parse_multipart(nameless, "multipart/form-data; boundary=zz", max_files=1, max_fields=8)
    assert parse_multipart(b"--zz\r\nbroken", "multipart/form-data; boundary=zz", max_files=1, max_fields=8) == {}
