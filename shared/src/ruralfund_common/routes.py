"""Every route of a FastAPI app, through included routers: newer FastAPI wraps each included
router instead of copying its routes into the app, so ``app.routes`` alone misses them. Used by
the auth check at startup (no route without a declared gate) and by the tests that derive their
matrices from the routes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

__all__ = ["all_routes", "api_routes"]


def all_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route below ``routes`` (an app's ``routes``), included routers flattened."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from all_routes(inner.routes)
        else:
            yield route


def api_routes(app: Any) -> list[APIRoute]:
    """The app's API routes (not mounts, not static files), included routers flattened."""
    return [route for route in all_routes(app.router.routes) if isinstance(route, APIRoute)]
