"""Every service's /docs and /redoc load their scripts and styles from the service itself (#17).

A county network often reaches no CDN: with Swagger UI from a CDN the page was blank there.
The apps are built but not started (the documentation pages need no database or NATS).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from ruralfund_claims.app import create_app as claims_app
from ruralfund_common.testing.services import service_settings
from ruralfund_funds.app import create_app as funds_app
from ruralfund_logistics.app import create_app as logistics_app
from ruralfund_notify.app import create_app as notify_app

SERVICES = {"claims": claims_app, "funds": funds_app, "logistics": logistics_app, "notify": notify_app}
BASE = "http://service.test"


class _AssetLinks(HTMLParser):
    """The URLs a browser would fetch for the page: scripts, stylesheets, icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(found["src"])
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"])


def _asset_urls(page: str) -> list[str]:
    parser = _AssetLinks()
    parser.feed(page)
    # Swagger UI's and ReDoc's own bootstrap code may name a URL in a string (ReDoc's spec URL)
    quoted = re.findall(r"""["'](https?://[^"']+)["']""", page)
    return parser.urls + quoted


@pytest.mark.parametrize("service", sorted(SERVICES))
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_documentation_pages_load_nothing_from_another_host(service: str, page: str) -> None:
    settings = service_settings(service, nats_url="nats://127.0.0.1:1", database_url="postgresql://x@127.0.0.1:1/x",
                                namespace="docs")
    app = SERVICES[service](settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        html = await client.get(page)
        assert html.status_code == 200, html.text
        urls = _asset_urls(html.text)
        assert any(u.endswith(".js") for u in urls), urls  # the page does load a script
        for url in urls:
            absolute = urljoin(BASE + page, url)
            assert urlsplit(absolute).netloc == urlsplit(BASE).netloc, f"{page} loads {url} from another host"
            asset = await client.get(absolute)
            assert asset.status_code == 200 and asset.content, (url, asset.status_code)
