"""The finishing touches every service's OpenAPI document needs (issue 19), applied once here.

FastAPI writes ``security`` only on operations whose dependencies authenticate; an operation
that is public on purpose (:func:`~ruralfund_common.auth.public_endpoint`) got none, so a
reader (and Redocly's ``security-defined`` rule) cannot tell "public" from "forgot to say".
Here such operations say ``security: []`` explicitly, the bearer scheme is always declared and
the document names its ``servers``.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from fastapi.routing import APIRoute

from .auth import bearer_scheme, public_endpoint
from .routes import all_routes
from .settings import ServiceSettings

__all__ = ["finish_openapi", "install_openapi_finish"]

# Relative to where the document is served (OpenAPI 3.1 §4.8.5): each service serves its own
# /openapi.json, so "/" is right whatever host and port it listens on.
SAME_ORIGIN_SERVER: Final = {"url": "/", "description": "this service, where this document is served"}

_HTTP_METHODS: Final = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def install_openapi_finish(app: FastAPI, settings: ServiceSettings) -> None:
    """Make ``app.openapi()`` return the finished document (built once, then cached by FastAPI's
    own ``openapi_schema`` attribute, as the stock method does)."""
    stock = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_openapi(app, stock(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish_openapi(app: FastAPI, document: dict[str, Any], settings: ServiceSettings) -> dict[str, Any]:
    document["servers"] = _servers(settings)
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault(bearer_scheme.scheme_name, bearer_scheme.model.model_dump(by_alias=True, exclude_none=True))
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    for route in all_routes(app.routes):
        if not (isinstance(route, APIRoute) and route.include_in_schema and _is_public(route.dependant)):
            continue
        for method in route.methods:
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None and method.lower() in _HTTP_METHODS:
                operation.setdefault("security", [])
    return document


def _servers(settings: ServiceSettings) -> list[dict[str, str]]:
    servers = [dict(SAME_ORIGIN_SERVER)]
    if settings.api_base_url:
        servers.insert(0, {"url": settings.api_base_url.rstrip("/"),
                           "description": "this service's configured address (API_BASE_URL)"})
    return servers


def _is_public(dependant: Any) -> bool:
    if dependant.call is public_endpoint:
        return True
    return any(_is_public(d) for d in dependant.dependencies)
