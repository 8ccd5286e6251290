"""The playground's static files, mounted at "/" behind every API route.

A mount at "/" matches every path, so without care it would answer for API paths too: `OPTIONS` or `GET` on
`/v1/models/m/generate` would get the file server's 405 `Allow: GET, HEAD` (or a 404) instead of the truth.
`static_files` puts a check in front: a path that an API route serves, asked with a method that route does not
take, gets 405 with that route's methods in `Allow`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from service.routing import allowed_methods


class _ApiAware:
    def __init__(self, files: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.files = files
        self.routes = routes  # the app's live list: routes added later count too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = allowed_methods(self.routes, scope["path"])
            if allowed:
                raise HTTPException(405, headers={"Allow": ", ".join(allowed)})
        await self.files(scope, receive, send)


def static_files(directory: Path, routes: Sequence[BaseRoute]) -> ASGIApp:
    return _ApiAware(StaticFiles(directory=directory, html=True), routes)
