"""multipart/form-data bodies parsed from bytes already read, synchronously, so routes can do it in a thread.

    parts = parse_multipart(body, request.headers["content-type"], max_files=1, max_fields=8)
    parts["image"].filename, parts["image"].data        # a file part: its filename and bytes
    parts["version"].text()                             # a plain field

Broken framing, a missing boundary or name, or too many parts raise MalformedRequest (400) with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from service.errors import MalformedRequest


@dataclass
class Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def parse_multipart(body: bytes, content_type: str, *, max_files: int, max_fields: int) -> dict[str, Part]:
    """Every part by field name (the first of a repeated name wins)."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedRequest("could not parse the multipart body: the content type has no boundary")
    parts: dict[str, Part] = {}
    files = fields = 0
    current = Part()
    header: list[bytes] = [b"", b""]
    disposition = b""

    def on_part_begin() -> None:
        nonlocal current, disposition
        current, disposition = Part(), b""

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        nonlocal disposition
        if header[0].lower() == b"content-disposition":
            disposition = header[1]
        header[0] = header[1] = b""

    def on_headers_finished() -> None:
        nonlocal files, fields
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise MalformedRequest("could not parse the multipart body: a part has no name")
        current.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            current.filename = options[b"filename"].decode("utf-8", "replace")
            files += 1
        else:
            fields += 1
        if files > max_files or fields > max_fields:
            raise MalformedRequest(
                f"could not parse the multipart body: send at most {max_files} file(s) and {max_fields} field(s)"
            )

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current.data += data[start:end]

    def on_part_end() -> None:
        parts.setdefault(current.name, current)

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except MalformedRequest:
        raise
    except Exception as e:  # noqa: BLE001 - python-multipart raises several types for broken framing
        raise MalformedRequest(f"could not parse the multipart body: {e}") from None
    return parts
