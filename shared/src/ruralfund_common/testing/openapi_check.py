"""Check a running service's answers against its own OpenAPI document (issue 17, 19).

:func:`check_answers_against_openapi` hooks a test client: every 2xx JSON answer must be
documented for its operation and status, and must validate against that schema. A model in
``responses=`` only documents (the use cases return plain dicts), so this is what keeps the
document true while the integration tests drive real flows.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from jsonschema import Draft202012Validator
from starlette.routing import Match

from ruralfund_common.routes import all_routes

__all__ = ["UndocumentedAnswer", "check_answers_against_openapi"]


class UndocumentedAnswer(Exception):
    """An answer its operation's documented response does not describe. Not an AssertionError
    on purpose: ``eventually`` would take it for "not yet" and time out without saying why."""


def check_answers_against_openapi(client: httpx.AsyncClient, app: FastAPI) -> list[str]:
    """Validate each 2xx JSON answer ``client`` receives; returns the list of checked
    ``"METHOD /path STATUS"`` (so a test can see the check ran). Raises
    :class:`UndocumentedAnswer` from the request that got a wrong answer."""
    checked: list[str] = []

    async def check(response: httpx.Response) -> None:
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if not 200 <= response.status_code < 300 or media_type != "application/json":
            return
        await response.aread()
        operation = _operation(app, response.request)
        if operation is None:
            return  # not an API route (documentation pages and their assets)
        where = f"{response.request.method} {operation} {response.status_code}"
        schema = _schema(app.openapi(), operation, response.request.method, response.status_code)
        if not schema:
            raise UndocumentedAnswer(f"{where}: no JSON body documented for this answer")
        errors = sorted(Draft202012Validator(schema).iter_errors(response.json()), key=str)
        if errors:
            raise UndocumentedAnswer(f"{where}: the answer does not match its documented schema: "
                                     + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]))
        checked.append(where)

    client.event_hooks["response"].append(check)
    return checked


def _operation(app: FastAPI, request: httpx.Request) -> str | None:
    scope = {"type": "http", "path": request.url.path, "method": request.method, "root_path": ""}
    for route in all_routes(app.routes):
        if getattr(route, "include_in_schema", False) and route.matches(scope)[0] is Match.FULL:
            return route.path_format
    return None


def _schema(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any] | None:
    responses = document["paths"].get(path, {}).get(method.lower(), {}).get("responses", {})
    content = responses.get(str(status), {}).get("content", {}).get("application/json")
    if not content or not content.get("schema"):
        return None
    # the response's schema with the document's components, so its $refs resolve
    return {**content["schema"], "components": document.get("components", {})}
