"""Python client for a ganserve server, sync (`Client`) and async (`AsyncClient`).

    from ganserve.client import Client

    with Client("http://127.0.0.1:8000") as client:
        out = client.generate("cgan-mnist", n=8, seed=7, labels=3)
        out.save_grid("threes.png")
        print(out.seeds, out.labels)            # [7, 8, ..., 14] [3, 3, ...]

The URL and API key default to $GANSERVE_URL (else http://127.0.0.1:8000) and $GANSERVE_API_KEY; the admin key
(for `load_model`, `unload_model`, `repository_index`) to $GANSERVE_ADMIN_KEY.
Refusals for overload (503/429) are retried with back-off that honours Retry-After (see `ganserve.retry`);
every other error status raises an `ganserve.errors.APIError` subclass that carries the server's message.
Each call sends its own `X-Request-ID` (kept across retries); results and errors carry it as `request_id`, the
key to the server's log lines and traces for that call.
`on_retry(attempt, wait_s, reason)` is told before each wait (the CLI prints it).
Pass `transport=httpx.MockTransport(...)` (or an ASGI transport) to test code that uses the client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import httpx
import numpy as np

from ganserve import wire
from ganserve.async_client import AsyncClient
from ganserve.calls import RETRYABLE_NETWORK, BaseClient, Call, OnRetry, T
from ganserve.results import GeneratedImage, Generation, ModelInfo, Tensors
from ganserve.retry import Retry
from ganserve.wire import ImageInput, Label

__all__ = ["AsyncClient", "Client", "Retry"]


class Client(BaseClient):
    """Blocking client. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retry: Retry | int | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: OnRetry | None = None,
        admin_key: str | None = None,
    ) -> None:
        super().__init__(url, api_key, timeout, retry, on_retry, admin_key)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout, transport=transport, headers=self._headers(headers)
        )

    def models(self) -> list[ModelInfo]:
        """Every served model with its kind, image size and classes."""
        return self._send(self._models())

    def model(self, name: str) -> ModelInfo:
        return self._send(self._model(name))

    def generate(
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
        """`n` images; image i has seed `seed + i` (the server picks `seed` when omitted).

        `labels`: one class (index or name) for all images, or one per image (conditional models only).
        `format`: the pictures' format, png (default, lossless), jpeg or webp; `quality` (1-100) for the lossy two.
        """
        return self._send(
            self._generate(model, n, seed, labels, truncation, version, deadline_ms, wire.picture(format, quality))
        )

    def interpolate(
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
        """`steps` images walking the noise from `seeds[0]` to `seeds[1]` (`slerp` or `lerp`); each has `t`."""
        return self._send(
            self._interpolate(model, seeds, labels, steps, method, truncation, version, wire.picture(format, quality))
        )

    def translate(self, model: str, image: ImageInput, *, version: str | None = None) -> Generation:
        """Translate one image: a path, PNG/JPEG bytes, a PIL image or a numpy array (uint8, or float in [-1, 1])."""
        return self._send(self._translate(model, image, version))

    def image(
        self, model: str, seed: int, *, label: Label | None = None, truncation: float | None = None
    ) -> GeneratedImage:
        """The one image for `seed` from the cacheable GET endpoint (same bytes every time)."""
        return self._send(self._image(model, seed, label, truncation))

    def infer(
        self, model: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None, *, binary: bool = True
    ) -> Tensors:
        """Raw tensors in and out over the Open Inference Protocol (KServe v2): as binary tensor data (smaller and
        faster), or with `binary=False` as JSON tensors."""
        return self._send(self._infer(model, inputs, outputs, binary))

    def repository_index(self) -> list[dict[str, str]]:
        """Every model in the server's repository, one row per version: name, version, state, reason."""
        return self._send(self._repository_index())

    def load_model(self, name: str) -> list[str]:
        """(Re)load every version of `name` from the server's repository; returns the versions now served."""
        return self._send(self._load_model(name))

    def unload_model(self, name: str) -> None:
        """Stop serving `name` once its accepted requests are answered."""
        self._send(self._unload_model(name))

    def ready(self) -> bool:
        """Whether the server answers and is ready to serve (no retries, never raises for a refusal)."""
        try:
            return self._http.get("/v2/health/ready").status_code == 200
        except httpx.TransportError:
            return False

    def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(call.method, call.path, **self._request_kwargs(call))
            except RETRYABLE_NETWORK as exc:
                wait = self._wait_after_network_error(attempt, call, exc)
            except httpx.TransportError as exc:
                raise self._network_error(call, exc) from exc
            else:
                after = self._wait_before_retry(attempt, response)
                if after is None:
                    return self._finish(call, response)
                wait = after
            self._sleep(wait)
            attempt += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
