"""An OpenAPI document that tells the truth, for people and for client generators.

    install_openapi(app, settings)         # app.openapi() now returns the corrected document

FastAPI's own document knows only what the route signatures say. The routes here read their bodies
themselves (bounded, off the event loop) and the service answers errors through one mapping, so this module
adds what the signatures cannot say:

- every status an operation really answers, each with the `{"error", "type"}` schema (`Error`), from the rules
  in `statuses()`: the draining gate, the API key, unknown models, body problems, queue and deadline refusals;
- `X-Request-ID` on every response, `Retry-After` on refusals (503, 429);
- a request body whose schema has required fields is a required body (an empty body is read as `{}`);
- `$defs` inside hand-written body schemas are moved to `components/schemas`, so every `$ref` resolves.

`tests/service/test_openapi.py` fuzzes every operation against this document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from service.auth import check_admin_key, check_api_key
from service.lifecycle import OPEN_PATHS
from service.paths import model_path
from service.routing import api_routes
from service.settings import Settings

ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "type"],
    "additionalProperties": False,
    "properties": {
        "error": {"type": "string", "description": "what went wrong and how to fix it"},
        "type": {"type": "string", "description": "a stable name for the kind of error"},
    },
}
HEADERS = {
    "X-Request-ID": {
        "description": "the client's X-Request-ID if it was safe (1-128 of A-Z a-z 0-9 . _ ~ : @ + = / -), "
        "else one the server made",
        "schema": {"type": "string"},
        "required": True,
    },
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}},
}
# Operations whose answer is negotiated from Accept (service.negotiation): 406 when nothing it admits is served,
# and 413 when the grid or tensor asked for is over GANSERVE_MAX_ANSWER_BYTES.
NEGOTIATES = frozenset({"/v1/models/{name}/generate", "/v1/models/{name}/interpolate", "/v1/models/{name}/translate"})
DESCRIPTIONS = {
    400: "the body is not JSON, not base64 or not a parsable form; for a model load: a version could not be loaded "
    "(the reason says why; what was serving is untouched)",
    401: "missing or wrong API key (the admin key for /v2/repository when GANSERVE_ADMIN_KEY is set)",
    403: "model control is off (GANSERVE_MODEL_CONTROL=none), or load/unload while it is poll; the message says "
    "how to enable it",
    404: "no such model or version",
    406: "the Accept header admits no answer this operation gives (the message lists them)",
    413: "the body or the image is over the limit, or the grid or tensor asked for is over GANSERVE_MAX_ANSWER_BYTES",
    415: "the body's content type is not one this operation takes",
    422: "a value is out of range, inconsistent with the model, or the image cannot be used",
    429: "the model's queue is full (GANSERVE_OVERLOAD_STATUS=429); retry after Retry-After",
    500: "the model failed on this request",
    503: "draining for shutdown, not ready, or the model's queue is full; "
    "retry after Retry-After (on another replica when draining)",
    504: "the request's deadline passed before it ran",
}


def install_openapi(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = document(schema, app.routes, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def statuses(route: Any, has_body: bool, settings: Settings) -> set[int]:
    """The error statuses one operation can answer."""
    path, out = route.path_format, set()
    if path not in OPEN_PATHS:
        out.add(503)  # the draining gate answers every request but health and metrics
    keyed = any(d.call is check_api_key for d in route.dependant.dependencies)
    if settings.api_key is not None and (keyed or (path == "/metrics" and settings.protect_metrics)):
        out.add(401)
    if "{name}" in path:
        out.add(404)
    if route.dependant.path_params or route.dependant.query_params:
        out.add(422)
    if has_body:
        out |= {400, 413, 415, 422}
    if model_path(path) is not None:  # its rows go through a batcher: full queue, deadline, a failing model
        out |= {422, 500, 503, 504} | ({429} if settings.overload_status == 429 else set())
    if path in NEGOTIATES:
        out |= {406, 413}
    if path == "/v2/health/ready":
        out.add(503)
    if any(d.call is check_admin_key for d in route.dependant.dependencies):  # the model repository
        out.add(403)
        if settings.admin_key is not None or settings.api_key is not None:
            out.add(401)
        if path.endswith("/load"):
            out.add(400)
    return out


def document(schema: dict[str, Any], routes: list[BaseRoute], settings: Settings) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    defs = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape; the service answers Error
        defs.pop(name, None)
    defs["Error"] = ERROR_SCHEMA
    components["headers"] = HEADERS
    _hoist_defs(schema["paths"], defs)
    for route in api_routes(routes):
        if not getattr(route, "include_in_schema", False):
            continue
        for method in route.methods:
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _complete(operation, route, settings, defs)
    return schema


def _complete(operation: dict[str, Any], route: Any, settings: Settings, defs: dict[str, Any]) -> None:
    body = operation.get("requestBody")
    if body is not None and any(_required_fields(c.get("schema", {}), defs) for c in body["content"].values()):
        body["required"] = True
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses(route, body is not None, settings)):
        responses[str(status)] = {
            "description": DESCRIPTIONS[status],
            "content": {"application/json": {"schema": ERROR}},
        }
    if route.path_format == "/metrics":
        responses["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    for status, response in responses.items():
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
        if status in ("503", "429"):
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}


def _required_fields(schema: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = defs.get(ref.rsplit("/", 1)[1], {})
    required: list[str] = schema.get("required", [])
    return required


def _hoist_defs(node: Any, defs: dict[str, Any]) -> None:
    """Move every nested `$defs` into components/schemas and point its `$ref`s there."""
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            if name in defs and defs[name] != definition:
                raise ValueError(f"two different schemas are both called {name!r}")
            defs[name] = definition
            _hoist_defs(definition, defs)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        for value in node.values():
            _hoist_defs(value, defs)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, defs)
