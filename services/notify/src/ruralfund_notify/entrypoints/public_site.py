"""What the public pages (公示, feed, open data, the objection form) send and accept beyond
their content: security headers on every public response, and where a form post may come from.

The public pages can also be served by a listener of their own (``create_public_app`` in
``app.py``): only these routes, no admin API, ``/metrics`` or ``/docs``, so the county portal
can expose that port alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "PUBLIC_HEADERS",
    "PUBLIC_PREFIXES",
    "PublicHeadersMiddleware",
    "is_cross_site_post",
]

# Every path the public routers serve starts with one of these.
PUBLIC_PREFIXES: Final = ("/publicity", "/open-data")
# The pages load nothing from elsewhere and run no script: default-src 'none' blocks both. The
# one inline <style> of base.html is allowed ('unsafe-inline' for styles only: a style cannot
# run code). frame-ancestors 'none': no other site may frame the objection form (clickjacking).
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PUBLIC_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # Other sites do not learn which notice a citizen read; our own form posts still carry
    # Origin and Referer (with no-referrer a browser sends "Origin: null", refused below).
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
}
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class PublicHeadersMiddleware:
    """Pure ASGI: adds PUBLIC_HEADERS to responses under ``prefixes`` (all when None), keeping
    a header an endpoint set itself."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] | None = PUBLIC_PREFIXES) -> None:
        self.app, self.prefixes = app, prefixes
        self.headers = [(k.lower().encode(), v.encode()) for k, v in PUBLIC_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or (
            self.prefixes is not None and not path.startswith(self.prefixes)
        ):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _origin(url: str) -> tuple[str, int] | None:
    """(host, port) of an absolute http(s) URL, or None (also for the opaque origin "null")."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def _ours(url: str, request: Request, public_base_url: str) -> bool:
    """``url`` is on this site: the configured public address, or the host the request was
    sent to (a browser fills Host in itself; a forged Host only fools its own sender)."""
    origin = _origin(url)
    if origin is None:
        return False
    if origin == _origin(public_base_url):
        return True
    host = request.headers.get("host", "")
    return origin == _origin(f"{request.url.scheme}://{host}") or (
        request.url.scheme == "http" and origin == _origin(f"https://{host}")
    )


def is_cross_site_post(request: Request, public_base_url: str) -> bool:
    """A form post another site made a browser send. Browsers since 2020-2023 say so in
    ``Sec-Fetch-Site``; older ones (and privacy tools that drop it) are judged by ``Origin``,
    then ``Referer``. A post with none of them is not from a browser page and is let through
    (the signed form token still has to be right)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.strip().lower() == "cross-site"
    origin = request.headers.get("origin")
    if origin is not None:
        return not _ours(origin, request, public_base_url)
    referer = request.headers.get("referer")
    if referer is not None:
        return not _ours(referer, request, public_base_url)
    return False
