"""A minimal HTTP/1.1 keep-alive client for load drivers.

Why not httpx: on a 2-core machine the driver shares the CPUs with the service it measures and
with PostgreSQL. httpx costs ~1.5 ms of CPU per request (measured in ``benchmarks.claims``),
which is as much as the service's own work and would make the figure say more about the driver
than about the service. This client writes pre-encoded requests on one connection and parses
only the status line, ``Content-Length`` and the body: ~0.1 ms per request.

It speaks just enough HTTP/1.1 for our own uvicorn services on loopback: ``Content-Length``
bodies (uvicorn sends them for every JSON response), no chunked encoding (refused loudly), no
redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class RawHttpError(RuntimeError):
    pass


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawHttpConnection:
    """One keep-alive connection; requests on it are sequential (one in flight)."""

    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise RawHttpError(f"only http:// URLs: {base_url}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> RawHttpConnection:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass

    async def post_json(self, path: str, body: Any, headers: dict[str, str]) -> RawResponse:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Content-Type: application/json", f"Content-Length: {len(payload)}"]  # fmt: skip
        lines += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        return await asyncio.wait_for(self._exchange(request), self.timeout_s)

    async def _exchange(self, request: bytes) -> RawResponse:
        assert self._reader is not None and self._writer is not None, "use `async with`"
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        version, status, *_ = status_line.split(" ", 2)
        if not version.startswith("HTTP/1."):
            raise RawHttpError(f"not an HTTP/1.x answer: {status_line!r}")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise RawHttpError(f"no Content-Length (chunked answers are not supported): {headers}")
        body = await self._reader.readexactly(int(headers["content-length"]))
        return RawResponse(int(status), headers, body)
