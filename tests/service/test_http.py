"""Request plumbing on its own: bounded bodies, JSON errors, negotiation, and clients that go away."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field
from starlette.requests import Request

from service.errors import Cancelled, InvalidRequest, MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from service.http import is_json, parse_json, read_body, read_json, unless_disconnected
from service.metrics import Metrics
from service.registry import Registry, load_version
from service.settings import Settings
from service.state import Service


class Body(BaseModel):
    n: int = Field(1, ge=1)


class App:
    def __init__(self, service: Service) -> None:
        self.state = type("State", (), {"service": service})()


@pytest.fixture
def service(models_dir: Path) -> Service:
    settings = Settings(models_dir=models_dir)
    service = Service(settings, Metrics(latency_buckets=(1.0,), batch_buckets=(1.0,)))
    service.registry = Registry()
    service.registry.add(load_version(models_dir / "gen" / "1", settings, service.metrics))
    return service


def request(
    service: Service, messages: list[dict[str, Any]], headers: dict[str, str] | None = None, name: str = "gen"
) -> Request:
    """A request whose ASGI receive() hands out `messages`, then waits (the client stays) unless told otherwise."""
    queue: Iterator[dict[str, Any]] = iter(messages)
    forever = asyncio.Event()

    async def receive() -> dict[str, Any]:
        message = next(queue, None)
        if message is None:
            await forever.wait()
        assert message is not None
        return message

    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/v1/models/{name}/generate",
        "headers": raw,
        "app": App(service),
        "path_params": {"name": name},
        "query_string": b"",
    }
    return Request(scope, receive)


def chunks(*parts: bytes) -> list[dict[str, Any]]:
    return [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]


def cancelled(service: Service) -> float:
    value = service.metrics.registry.get_sample_value(
        "ganserve_requests_rejected_total", {"model": "gen", "reason": "cancelled"}
    )
    return value or 0.0


async def test_a_body_is_read_whole_and_refused_past_the_limit(service: Service) -> None:
    assert await read_body(request(service, chunks(b'{"n"', b": 2}")), limit=16) == b'{"n": 2}'
    with pytest.raises(PayloadTooLarge, match="over the 4-byte limit"):
        await read_body(request(service, chunks(b"abc", b"def")), limit=4)
    with pytest.raises(PayloadTooLarge, match="is 100 bytes"):  # refused on the header, before reading
        await read_body(request(service, [], {"content-length": "100"}), limit=4)


async def test_a_client_gone_mid_body_is_cancelled_and_counted(service: Service) -> None:
    gone = chunks(b'{"n"')[:1]
    gone[0]["more_body"] = True
    with pytest.raises(Cancelled, match="after sending 4 bytes"):
        await read_body(request(service, [*gone, {"type": "http.disconnect"}]), limit=64)
    assert cancelled(service) == 1
    with pytest.raises(Cancelled):  # a model that is not served mints no series
        await read_body(request(service, [{"type": "http.disconnect"}], name="nope"), limit=64)
    assert cancelled(service) == 1


def test_json_errors_separate_malformed_from_invalid() -> None:
    assert parse_json(b'{"n": 3}', Body).n == 3
    assert parse_json(b"", Body).n == 1  # an empty body is an empty object
    with pytest.raises(MalformedRequest, match="not valid JSON"):
        parse_json(b"{", Body)
    with pytest.raises(InvalidRequest, match="n: Input should be greater than or equal to 1"):
        parse_json(b'{"n": 0}', Body)


async def test_content_types(service: Service) -> None:
    assert is_json(request(service, [], {"content-type": "application/json; charset=utf-8"}))
    assert is_json(request(service, [], {"content-type": "application/problem+json"}))
    assert is_json(request(service, []))  # curl -d without a type is still read as JSON
    with pytest.raises(UnsupportedMediaType, match="application/json"):
        await read_json(request(service, [], {"content-type": "text/plain"}), Body, 64)


async def test_work_is_cancelled_when_its_client_disconnects(service: Service) -> None:
    started = asyncio.Event()

    async def work() -> str:
        started.set()
        await asyncio.Event().wait()  # never finishes by itself
        return "never"

    with pytest.raises(Cancelled):
        await unless_disconnected(request(service, [{"type": "http.disconnect"}]), work())
    assert started.is_set()

    async def quick() -> str:
        return "done"

    assert await unless_disconnected(request(service, []), quick()) == "done"
