"""A request body larger than any service takes is refused before it is read: an upload is
spooled to disk while the form is parsed, so without this a huge post would fill the disk
before the route could say no. Judged by Content-Length, which browsers always send for a
form; the services check the bytes again themselves."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["MAX_BODY_BYTES", "BodyLimit"]

# claims takes evidence files up to 50 MB (its largest setting); the form around a file is small
MAX_BODY_BYTES: Final = 51 * 1024 * 1024
_PAGE: Final = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>文件过大</title>'
    '<link rel="stylesheet" href="/static/console.css"></head><body><main><section class="error" role="alert">'
    "<h2>文件过大</h2><p>提交的内容超过 {mb} MB，请压缩或拆分文件后重新上传。</p>"
    '<p><a href="/">返回工作台</a></p></section></main></body></html>'
)


class BodyLimit:
    """ASGI middleware: 413 with a Chinese page when Content-Length exceeds ``max_bytes``."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            declared = dict(scope.get("headers") or []).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_bytes:
                body = _PAGE.format(mb=self.max_bytes // (1024 * 1024)).encode()
                await send({"type": "http.response.start", "status": 413, "headers": [
                    (b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
