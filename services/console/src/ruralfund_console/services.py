"""Calls to the four services' HTTP APIs, always with the signed-in person's own token: the
services decide what that person may see and do (the console decides nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["ServiceError", "Services"]


@dataclass
class ServiceError(Exception):
    """A refusal (problem+json) or an unreachable service, as people read it."""

    status: int
    title_zh: str
    detail_zh: str
    code: str = ""
    field: str = ""  # the input the service names (a form shows the refusal beside it)
    fields: tuple[str, ...] = ()  # every field a validation refusal (422 INVALID_INPUT) lists

    @classmethod
    def from_response(cls, r: httpx.Response) -> ServiceError:
        try:
            body = r.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        listed = body.get("errors") if isinstance(body.get("errors"), list) else []
        fields = tuple(str(e["field"]) for e in listed if isinstance(e, dict) and e.get("field"))
        # a domain refusal listing its problems as "evidence.units: …" (EVIDENCE_INVALID)
        details = body.get("details") if isinstance(body.get("details"), dict) else {}
        problems = details.get("errors") if isinstance(details.get("errors"), list) else []
        fields += tuple(p.split(":", 1)[0].strip() for p in problems if isinstance(p, str) and ":" in p)
        return cls(r.status_code, body.get("title_zh") or "请求未被接受",
                   body.get("detail_zh") or body.get("detail") or "", body.get("code") or "",
                   str(body.get("field") or ""), fields)


class Services:
    def __init__(self, clients: dict[str, httpx.AsyncClient]) -> None:
        self._clients = clients

    async def get(self, service: str, path: str, token: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return await self._send(service, "GET", path, token, params=clean)

    async def post(self, service: str, path: str, token: str, body: dict[str, Any]) -> Any:
        return await self._send(service, "POST", path, token, json=body)

    async def download(self, service: str, path: str, token: str) -> httpx.Response:
        """A file as the service serves it (bytes and headers), e.g. a claim's evidence."""
        return await self._request(service, "GET", path, token)

    async def patch(self, service: str, path: str, token: str, body: dict[str, Any]) -> Any:
        return await self._send(service, "PATCH", path, token, json=body)

    async def post_file(self, service: str, path: str, token: str, content: bytes, content_type: str,
                        **params: Any) -> Any:
        """A raw body (an evidence file) as the service's upload endpoints take it."""
        return await self._send(service, "POST", path, token, content=content, params=params,
                                headers={"Content-Type": content_type})

    async def _send(self, service: str, method: str, path: str, token: str, **kw: Any) -> Any:
        return (await self._request(service, method, path, token, **kw)).json()

    async def _request(self, service: str, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        try:
            headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
            r = await self._clients[service].request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise ServiceError(503, "服务暂时无法访问", f"{service} 服务暂时无法访问，请稍后再试。") from exc
        if r.status_code >= 400:
            raise ServiceError.from_response(r)
        return r

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
