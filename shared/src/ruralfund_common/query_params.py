"""An unknown query parameter is a 400 naming it (#17).

FastAPI ignores query parameters a route does not declare, so ``GET /claims?statuss=approved``
answered the unfiltered list as if the filter had applied. Every service app carries
:func:`reject_unknown_query_parameters` as an app-wide dependency: it compares the request's
query parameters with the ones its route declares (its own and its dependencies').
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request
from fastapi.routing import APIRoute

from ruralfund_common.errors import InvalidInput

__all__ = ["UNKNOWN_QUERY_PARAMETER", "UnknownQueryParameter", "declared_query_parameters",
           "reject_unknown_query_parameters"]

UNKNOWN_QUERY_PARAMETER: Final = "UNKNOWN_QUERY_PARAMETER"
# Names are echoed in the refusal: cut an attacker's megabyte name short.
MAX_ECHOED_NAME_CHARS: Final = 64

_declared: dict[int, frozenset[str]] = {}


class UnknownQueryParameter(InvalidInput):
    status = 400

    def __init__(self, name: str, allowed: frozenset[str]) -> None:
        shown = name[:MAX_ECHOED_NAME_CHARS]
        listed = "、".join(sorted(allowed)) or "无"
        super().__init__(
            UNKNOWN_QUERY_PARAMETER, f"unknown query parameter {shown!r}; this endpoint takes: "
            f"{', '.join(sorted(allowed)) or 'none'}", field=shown, details={"allowed": sorted(allowed)},
            title_zh="未知的查询参数",
            detail_zh=f"查询参数“{shown}”不是此接口的参数，请求未被执行；此接口接受的查询参数：{listed}。",
        )


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameter names ``route`` reads (aliases as a client sends them), cached."""
    names = _declared.get(id(route))
    if names is None:
        names = frozenset(_query_names(route.dependant))
        _declared[id(route)] = names
    return names


def _query_names(dependant: Any) -> set[str]:
    """The route's own query parameters and its dependencies' (e.g. PageParams' limit, cursor)."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_query_parameters(request: Request) -> None:
    """App-wide dependency: 400 ``UNKNOWN_QUERY_PARAMETER`` with ``field`` = the first unknown name."""
    route = request.scope.get("route")
    # Pages FastAPI serves itself (/docs, its OAuth2 redirect) are not part of the API.
    if not isinstance(route, APIRoute) or not route.include_in_schema or not request.query_params:
        return
    allowed = declared_query_parameters(route)
    for name in request.query_params:
        if name not in allowed:
            raise UnknownQueryParameter(name, allowed)
