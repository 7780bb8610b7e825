"""Which methods a path answers, from the app's own routes: the Allow header of OPTIONS and 405."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> list[str]:
    """Every method some route of this path answers, plus HEAD where GET is (it runs GET without the
    body) and OPTIONS; empty for a path no route has. Routers included in the app are looked into:
    FastAPI keeps them as routes of their own."""
    methods: set[str] = set()
    for route in iter_route_contexts(routes):
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and route_methods and regex.match(path):
            methods |= route_methods
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return sorted(methods)
