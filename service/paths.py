"""Which model a request path names, and for which endpoint, before any routing: for the early refusal layer
(service/shedding.py), which must decide before the router runs. Everything after routing reads the matched route
instead; tests/service/test_paths.py checks that this parser and the router agree on every model route.

    model_path("/v1/models/dcgan-mnist/generate")         -> ModelPath("dcgan-mnist", None, "generate")
    model_path("/v2/models/dcgan-mnist/versions/2/infer") -> ModelPath("dcgan-mnist", "2", "infer")
    model_path("/v1/models")                              -> None

The v1 endpoints take their version from the body or the query string, so `version` is None for them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_MODEL_PATH = re.compile(
    r"^/v1/models/(?P<m1>[^/]+)/(?P<ep>generate|translate|interpolate|images)(?:/|$)"
    r"|^/v2/models/(?P<m2>[^/]+)(?:/versions/(?P<v2>[^/]+))?/infer$"
)
# the endpoint label of ganserve_request_duration_seconds
_ENDPOINT = {"generate": "generate", "translate": "translate", "interpolate": "interpolate", "images": "image"}


class ModelPath(NamedTuple):
    model: str
    version: str | None  # only when the path names one (v2)
    endpoint: str  # generate, translate, interpolate, image or infer


def model_path(path: str) -> ModelPath | None:
    match = _MODEL_PATH.match(path)
    if match is None:
        return None
    if match["m1"] is not None:
        return ModelPath(match["m1"], None, _ENDPOINT[match["ep"]])
    return ModelPath(match["m2"], match["v2"], "infer")
