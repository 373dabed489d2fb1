"""Calling a webhook receiver: resolve its host, then POST to a checked address (httpx).

Resolution and checking live here and in ``domain/ssrf.py``; the request goes to the address
that was checked (the URL's host replaced by it, the Host header and the TLS server name kept),
so a DNS answer that changes between the check and the connection cannot redirect the call.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Final

import httpx

from ..domain.ssrf import Target

__all__ = ["AttemptResult", "WebhookHttp", "resolve"]

# Only this much of a receiver's answer is kept in the delivery log.
MAX_RESPONSE_BYTES: Final = 1024


async def resolve(target: Target) -> list[str]:
    """Every address the host resolves to (an IP literal resolves to itself); OSError when the
    name does not resolve."""
    literal = target.literal_address
    if literal is not None:
        return [str(literal)]
    infos = await asyncio.get_running_loop().getaddrinfo(
        target.host, target.port, type=socket.SOCK_STREAM
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status_code: int | None  # None: no HTTP answer (connection, timeout)
    error: str | None
    duration_ms: int
    excerpt: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookHttp:
    def __init__(self, timeout_seconds: float) -> None:
        # trust_env=False: a proxy from the environment would make the connection to an
        # address we never checked. No redirects: a 3xx could point anywhere (SSRF).
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, trust_env=False
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def post(
        self, target: Target, address: str, headers: dict[str, str], body: bytes
    ) -> AttemptResult:
        started = time.perf_counter()
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = self._client.build_request(
            "POST",
            target.url_for(address),
            content=body,
            headers={**headers, "host": target.host_header, "user-agent": "ruralfund-notify"},
            extensions=extensions,
        )
        try:
            response = await self._client.send(request, stream=True)
            try:
                excerpt = await _head(response)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            return AttemptResult(None, f"{type(exc).__name__}: {exc}", _ms(started), None)
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return AttemptResult(response.status_code, error, _ms(started), excerpt or None)


async def _head(response: httpx.Response) -> str:
    """The start of the answer only: a receiver must not make us read (or store) megabytes."""
    kept = bytearray()
    async for chunk in response.aiter_bytes():
        kept.extend(chunk[: MAX_RESPONSE_BYTES - len(kept)])
        if len(kept) >= MAX_RESPONSE_BYTES:
            break
    return kept.decode("utf-8", errors="replace")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
