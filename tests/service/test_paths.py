"""The early refusal layer parses model paths before routing: it must agree with the router on every model route."""

from __future__ import annotations

import re
from pathlib import Path

from service.app import create_app
from service.lifecycle import OBSERVED
from service.paths import ModelPath, model_path
from service.routing import api_routes
from service.settings import Settings
from service.shedding import METHODS


def test_every_model_route_is_recognised_with_the_routers_endpoint_name_and_methods(tmp_path: Path) -> None:
    app = create_app(Settings(models_dir=tmp_path, grpc_port=0))
    routes = [r for r in api_routes(app.router.routes) if r.name in OBSERVED]
    assert {r.name for r in routes} == OBSERVED
    params = {"name": "m-1", "version": "7"}
    for route in routes:
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: params.get(m[1], "42"), route.path_format)
        version = "7" if "{version}" in route.path_format else None
        assert model_path(path) == ModelPath("m-1", version, route.name), route.path_format
        assert route.methods <= set(METHODS.get(route.name, ("POST",))), route.path_format


def test_other_paths_are_not_model_paths(tmp_path: Path) -> None:
    app = create_app(Settings(models_dir=tmp_path, grpc_port=0))
    others = [r.path_format for r in api_routes(app.router.routes) if r.name not in OBSERVED]
    assert "/v1/models/{name}" in others and "/v2/models/{name}/ready" in others
    for template in others:
        path = re.sub(r"\{(\w+)(:\w+)?\}", "m-1", template)
        assert model_path(path) is None, template
    for path in ["/", "/v1/models/m/generatex", "/v2/models/m/infer/extra", "/v2/models/m/versions/1/infer/x"]:
        assert model_path(path) is None, path
