"""The asynchronous client: the same calls as `ganserve.client.Client`, awaitable (see that module's docstring).

async with AsyncClient("http://127.0.0.1:8000") as client:
    out = await client.generate("dcgan-mnist", n=4, seed=42)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

import httpx
import numpy as np

from ganserve import wire
from ganserve.calls import RETRYABLE_NETWORK, BaseClient, Call, OnRetry, T
from ganserve.results import GeneratedImage, Generation, ModelInfo, Tensors
from ganserve.retry import Retry
from ganserve.wire import ImageInput, Label


class AsyncClient(BaseClient):
    """The same calls as `Client`, awaitable. Use with `async with`, or call `aclose()`."""

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retry: Retry | int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_retry: OnRetry | None = None,
        admin_key: str | None = None,
    ) -> None:
        super().__init__(url, api_key, timeout, retry, on_retry, admin_key)
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=self.url, timeout=timeout, transport=transport, headers=self._headers(headers)
        )

    async def models(self) -> list[ModelInfo]:
        return await self._send(self._models())

    async def model(self, name: str) -> ModelInfo:
        return await self._send(self._model(name))

    async def generate(
        self,
        model: str,
        n: int = 1,
        *,
        seed: int | None = None,
        labels: Label | Sequence[Label] | None = None,
        truncation: float | None = None,
        version: str | None = None,
        deadline_ms: int | None = None,
        format: str | None = None,
        quality: int | None = None,
    ) -> Generation:
        return await self._send(
            self._generate(model, n, seed, labels, truncation, version, deadline_ms, wire.picture(format, quality))
        )

    async def interpolate(
        self,
        model: str,
        seeds: Sequence[int],
        *,
        labels: Sequence[Label] | None = None,
        steps: int = 8,
        method: str = "slerp",
        truncation: float | None = None,
        version: str | None = None,
        format: str | None = None,
        quality: int | None = None,
    ) -> Generation:
        return await self._send(
            self._interpolate(model, seeds, labels, steps, method, truncation, version, wire.picture(format, quality))
        )

    async def translate(self, model: str, image: ImageInput, *, version: str | None = None) -> Generation:
        return await self._send(self._translate(model, image, version))

    async def image(
        self, model: str, seed: int, *, label: Label | None = None, truncation: float | None = None
    ) -> GeneratedImage:
        return await self._send(self._image(model, seed, label, truncation))

    async def infer(
        self, model: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None, *, binary: bool = True
    ) -> Tensors:
        return await self._send(self._infer(model, inputs, outputs, binary))

    async def repository_index(self) -> list[dict[str, str]]:
        return await self._send(self._repository_index())

    async def load_model(self, name: str) -> list[str]:
        return await self._send(self._load_model(name))

    async def unload_model(self, name: str) -> None:
        await self._send(self._unload_model(name))

    async def ready(self) -> bool:
        try:
            return (await self._http.get("/v2/health/ready")).status_code == 200
        except httpx.TransportError:
            return False

    async def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(call.method, call.path, **self._request_kwargs(call))
            except RETRYABLE_NETWORK as exc:
                wait = self._wait_after_network_error(attempt, call, exc)
            except httpx.TransportError as exc:
                raise self._network_error(call, exc) from exc
            else:
                after = self._wait_before_retry(attempt, response)
                if after is None:
                    return self._finish(call, response)
                wait = after
            await self._sleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
