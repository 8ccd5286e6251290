"""Settings and request building shared by the sync and async clients: one `Call` per endpoint."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
import numpy as np

from ganserve import tensors, wire
from ganserve.errors import GanserveError, NetworkError, RequestTimeoutError, error_from_response
from ganserve.results import GeneratedImage, Generation, ModelInfo, Tensors
from ganserve.retry import Retry, parse_retry_after
from ganserve.wire import ImageInput, Label

DEFAULT_URL = "http://127.0.0.1:8000"
# Told before each wait: (failed attempt number, starting at 1; seconds to wait; why, e.g. "503: queue full")
OnRetry = Callable[[int, float, str], None]
# Failures where the request never reached a model, so sending it again cannot do work twice.
RETRYABLE_NETWORK = (httpx.ConnectError, httpx.RemoteProtocolError)


T = TypeVar("T")


@dataclass
class Call(Generic[T]):
    """One HTTP exchange: what to send and how to read a successful answer into a T."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None  # multipart form fields beside `files`
    accept: str = "application/json"
    content: bytes | None = None  # a raw body (v2 binary tensors)
    headers: dict[str, str] | None = None
    # Sent as X-Request-ID, the same on every retry of this call, so the server's log lines for each try match it.
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


class BaseClient:
    """Settings and request building shared by the sync and async clients."""

    def __init__(
        self,
        url: str | None,
        api_key: str | None,
        timeout: float,
        retry: Retry | int | None,
        on_retry: OnRetry | None,
        admin_key: str | None = None,
    ) -> None:
        self.url = (url or os.environ.get("GANSERVE_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("GANSERVE_API_KEY") or None
        self.admin_key = admin_key if admin_key is not None else os.environ.get("GANSERVE_ADMIN_KEY") or None
        self.timeout = timeout
        self.retry = Retry(attempts=retry) if isinstance(retry, int) else retry or Retry()
        self.on_retry = on_retry

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"User-Agent": "ganserve-client"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        headers.update(extra or {})
        return headers

    def _request_kwargs(self, call: Call[Any]) -> dict[str, Any]:
        return {
            "json": call.json,
            "params": call.params,
            "files": call.files,
            "data": call.data,
            "content": call.content,
            "headers": {"Accept": call.accept, "X-Request-ID": call.request_id, **(call.headers or {})},
        }

    def _wait_before_retry(self, attempt: int, response: httpx.Response) -> float | None:
        """Seconds to wait before trying again, or None when this answer is final."""
        if response.status_code not in self.retry.statuses or attempt + 1 >= self.retry.attempts:
            return None
        wait = self.retry.wait(attempt, parse_retry_after(response.headers.get("Retry-After")))
        if self.on_retry is not None:
            reason = error_from_response(response.status_code, response.content).message
            self.on_retry(attempt + 1, wait, f"{response.status_code}: {reason}")
        return wait

    def _wait_after_network_error(self, attempt: int, call: Call[Any], exc: httpx.TransportError) -> float:
        """Seconds to wait before trying again after a failed connection; raises once the attempts are used up."""
        if attempt + 1 >= self.retry.attempts:
            raise self._network_error(call, exc) from exc
        wait = self.retry.wait(attempt, None)
        if self.on_retry is not None:
            self.on_retry(attempt + 1, wait, f"connection failed: {exc or type(exc).__name__}")
        return wait

    def _finish(self, call: Call[T], response: httpx.Response) -> T:
        if response.is_success:
            return call.parse(response)
        raise error_from_response(
            response.status_code,
            response.content,
            parse_retry_after(response.headers.get("Retry-After")),
            wire.request_id(response),
        )

    def _network_error(self, call: Call[Any], exc: httpx.TransportError) -> GanserveError:
        where = f"{call.method} {self.url}{call.path}"
        error: GanserveError
        if isinstance(exc, httpx.TimeoutException):
            error = RequestTimeoutError(
                f"no answer within {self.timeout:g}s from {where}; raise timeout= if the "
                "server is busy, or check that it is running"
            )
        else:
            error = NetworkError(
                f"cannot reach the server for {where}: {exc or type(exc).__name__}; is it running, "
                "and is the URL (--url / GANSERVE_URL) right?"
            )
        error.request_id = call.request_id
        return error

    # Request builders: one per endpoint, shared by both clients.

    def _models(self) -> Call[list[ModelInfo]]:
        return Call(
            "GET", "/v1/models", lambda r: [ModelInfo.from_json(m, wire.request_id(r)) for m in r.json()["models"]]
        )

    def _model(self, name: str) -> Call[ModelInfo]:
        return Call("GET", f"/v1/models/{wire.q(name)}", lambda r: ModelInfo.from_json(r.json(), wire.request_id(r)))

    def _generate(
        self,
        model: str,
        n: int,
        seed: int | None,
        labels: Label | Sequence[Label] | None,
        truncation: float | None,
        version: str | None,
        deadline_ms: int | None,
        picture: Mapping[str, Any],
    ) -> Call[Generation]:
        body = {**picture} | wire.drop_none(
            {
                "n": n,
                "seed": seed,
                "labels": wire.listify(labels),
                "truncation": truncation,
                "version": version,
                "deadline_ms": deadline_ms,
            }
        )
        return Call("POST", f"/v1/models/{wire.q(model)}/generate", wire.generation, json=body)

    def _interpolate(
        self,
        model: str,
        seeds: Sequence[int],
        labels: Sequence[Label] | None,
        steps: int,
        method: str,
        truncation: float | None,
        version: str | None,
        picture: Mapping[str, Any],
    ) -> Call[Generation]:
        body = {**picture} | wire.drop_none(
            {
                "seeds": list(seeds),
                "labels": list(labels) if labels is not None else None,
                "steps": steps,
                "method": method,
                "truncation": truncation,
                "version": version,
            }
        )
        return Call("POST", f"/v1/models/{wire.q(model)}/interpolate", wire.generation, json=body)

    def _translate(self, model: str, image: ImageInput, version: str | None) -> Call[Generation]:
        name, data, content_type = wire.image_file(image)
        return Call(
            "POST",
            f"/v1/models/{wire.q(model)}/translate",
            wire.generation,
            files={"image": (name, data, content_type)},
            data=wire.drop_none({"version": version}) or None,
        )

    def _image(self, model: str, seed: int, label: Label | None, truncation: float | None) -> Call[GeneratedImage]:
        params = wire.drop_none({"label": label, "truncation": truncation})
        return Call(
            "GET",
            f"/v1/models/{wire.q(model)}/images/{int(seed)}.png",
            lambda r: GeneratedImage(
                data=r.content, seed=int(seed), label=wire.int_or_none(label), request_id=wire.request_id(r)
            ),
            params=params,
            accept="image/png",
        )

    def _infer(
        self, model: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str] | None, binary: bool
    ) -> Call[Tensors]:
        path = f"/v2/models/{wire.q(model)}/infer"
        if binary:
            content, header_length = tensors.encode_binary(inputs, list(outputs or []))
            return Call(
                "POST",
                path,
                wire.tensor_answer,
                content=content,
                accept="application/octet-stream, application/json",
                headers={tensors.HEADER_LENGTH: str(header_length)},
            )
        body: dict[str, Any] = {"inputs": [tensors.encode(k, v) for k, v in inputs.items()]}
        if outputs:
            body["outputs"] = [{"name": o} for o in outputs]
        return Call("POST", path, wire.tensor_answer, json=body)

    # The model repository (needs GANSERVE_MODEL_CONTROL on the server; the admin key when it has one).

    def _admin(self) -> dict[str, str] | None:
        return {"Authorization": f"Bearer {self.admin_key}"} if self.admin_key else None

    def _repository_index(self) -> Call[list[dict[str, str]]]:
        return Call("POST", "/v2/repository/index", lambda r: list(r.json()), json={}, headers=self._admin())

    def _load_model(self, name: str) -> Call[list[str]]:
        return Call(
            "POST",
            f"/v2/repository/models/{wire.q(name)}/load",
            lambda r: list(r.json()["versions"]),
            json={},
            headers=self._admin(),
        )

    def _unload_model(self, name: str) -> Call[None]:
        return Call(
            "POST", f"/v2/repository/models/{wire.q(name)}/unload", lambda r: None, json={}, headers=self._admin()
        )
