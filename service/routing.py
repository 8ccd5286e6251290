"""What the app's routes are, flattened: FastAPI >= 0.160 nests included routers (`_IncludedRouter`), whose
effective routes (path, methods, dependencies added by `include_router`) only exist in route contexts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from starlette.routing import BaseRoute

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI: included routes are copied into the app's own list
    iter_route_contexts = None  # type: ignore[assignment]


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    """Every endpoint route (APIRoute or its effective context), with `path_format`, `methods`, `path_regex`,
    `dependant` and `include_in_schema`; mounts and other routes are left out."""
    flat: Sequence[Any] = list(iter_route_contexts(routes)) if iter_route_contexts is not None else routes
    for route in flat:
        if getattr(route, "methods", None) and getattr(route, "path_regex", None) is not None:
            yield route


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> list[str]:
    """The methods the app's endpoints take on `path` (empty when no endpoint serves it)."""
    methods: set[str] = set()
    for route in api_routes(routes):
        if route.path_regex.match(path):
            methods |= route.methods
    return sorted(methods)
