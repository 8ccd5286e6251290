"""Early refusal below the ASGI app: uvicorn's httptools protocol, answering a full queue's refusals itself.

The early refusal layer (service/shedding.py) skips routing, the body and the middleware, but uvicorn still does
its per-request work for each refusal: a request/response cycle object, an asyncio task running the ASGI app
through its layers, and the response assembled from ASGI messages. Measured end to end (`python -m
bench.refusal --http`), that was most of a refusal's CPU. This protocol asks the same layer, with the same
decision and bookkeeping (`EarlyRefusal.refusal_now`: metrics, Retry-After, the per-connection window), as soon
as the request's headers are parsed, and if the answer is a refusal writes the pre-rendered response straight to
the socket: no cycle, no task. The body is then read and dropped by the parser, so the connection stays usable.

It answers only where the bytes are exactly those uvicorn would write for the layer's answer, and leaves the
request to uvicorn (and so to the layer itself) otherwise:

- an earlier request on the connection is still being answered (pipelining: answers must stay in order);
- not HTTP/1.1 keep-alive, an `Expect: 100-continue`, an upgrade, or a HEAD request;
- a percent-encoded or non-ASCII path (uvicorn decodes or rejects it; the layer sees what uvicorn made of it);
- holding is on and the request carries X-Forwarded-For: uvicorn's proxy-headers middleware may put another
  client address in the ASGI scope, and the layer's per-connection windows are keyed by that address;
- the layer does not exist (GANSERVE_EARLY_REFUSAL=false) or has not been built yet (before the first request).
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import httptools
from starlette.datastructures import Headers
from starlette.types import Message
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from service.shedding import EarlyRefusal

log = logging.getLogger("ganserve.shedding")

# stands in for uvicorn's request/response cycle once a refusal is written: uvicorn's callbacks then drop the
# request's body (on_body and on_message_complete return for a complete response) and start the next request
_ANSWERED: Any = SimpleNamespace(response_complete=True, keep_alive=True, disconnected=False,
                                 message_event=SimpleNamespace(set=lambda: None))  # fmt: skip


def find_layer(app: Any) -> EarlyRefusal | None:
    """The early refusal layer inside uvicorn's app chain (proxy headers -> FastAPI -> its middleware), if built."""
    for _ in range(8):
        if isinstance(app, EarlyRefusal):
            return app
        app = getattr(app, "middleware_stack", None) or getattr(app, "app", None)
    return None


def http_answer(start: Message, body: Message, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The bytes uvicorn writes for a response of these two ASGI messages on a keep-alive connection."""
    content = [STATUS_LINE[start["status"]]]
    for name, value in (*default_headers, *start["headers"]):
        content.extend((name.lower(), b": ", value, b"\r\n"))
    content.extend((b"\r\n", body["body"]))
    return b"".join(content)


class RefusingProtocol(HttpToolsProtocol):
    """`ganserve serve`'s HTTP protocol: uvicorn's httptools one, plus the refusal above."""

    _layer: EarlyRefusal | None = None
    enabled = True  # turned off for the process if this uvicorn's protocol is not the one it was written for

    def on_headers_complete(self) -> None:
        if not (RefusingProtocol.enabled and self._refused_safely()):
            super().on_headers_complete()

    def _refused_safely(self) -> bool:
        try:
            return self._refused()
        except AttributeError as e:  # another uvicorn's internals: the ASGI layer still refuses, a little dearer
            RefusingProtocol.enabled = False
            log.warning("early refusal in the HTTP protocol is off: this uvicorn differs (%s)", e)
            return False

    def on_message_complete(self) -> None:
        if self.cycle is _ANSWERED:  # the refused request's body is read: count it, arm the keep-alive timeout
            self.on_response_complete()
        else:
            super().on_message_complete()

    def _refused(self) -> bool:
        if self.pipeline or (self.cycle is not None and not self.cycle.response_complete) or self.expect_100_continue:
            return False
        if self.root_path:  # the layer sees root_path + path
            return False
        parser = self.parser
        if parser.get_http_version() != "1.1" or not parser.should_keep_alive() or parser.should_upgrade():
            return False
        layer = self._layer or self._find_layer()
        method = parser.get_method()
        if layer is None or method == b"HEAD":
            return False
        raw_path = httptools.parse_url(self.url).path
        if b"%" in raw_path or not raw_path.isascii():  # uvicorn decodes (or rejects) these
            return False
        headers = Headers(raw=self.headers)
        if "x-forwarded-for" in headers and layer.service.settings.refusal_hold_max_s > 0:
            return False
        answer = layer.refusal_now(method.decode("ascii"), raw_path.decode("ascii"), headers, self.client)
        if answer is None:
            return False
        self.cycle = _ANSWERED
        self.transport.write(http_answer(*answer, self.server_state.default_headers))
        return True

    def _find_layer(self) -> EarlyRefusal | None:
        self._layer = find_layer(self.app)
        return self._layer
