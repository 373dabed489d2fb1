"""A real OpenID provider for the sign-in tests (panva's oidc-provider under node, from the
repo's package.json: `make node-tools`), and a browser-like driver of its login and consent
forms over httpx."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import os
import random
import re
import secrets
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[4]
PROVIDER_JS = REPO / "services/console/tests/idp/provider.mjs"
AUDIENCE = "urn:ruralfund:services"  # the services' audience (RFC 8707 resource indicator)
CONSOLE = "http://console.test"
REDIRECT = f"{CONSOLE}/oidc/callback"
CLIENT_ID, CLIENT_SECRET = "ruralfund-console", "console-secret-for-tests-only-0123456789"
PUBLIC_CLIENT_ID = "ruralfund-console-public"
_FORM = re.compile(r'<form[^>]*action="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def port_below_ephemeral_range() -> int:
    """A free port the console will bind later: below Linux's ephemeral range (32768-60999), so
    no outgoing connection of the run (to NATS, PostgreSQL, the IdP) can take it meanwhile."""
    for _ in range(50):
        port = random.randrange(20_000, 32_000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def signing_jwk(kid: str) -> dict[str, Any]:
    """A fresh RSA private key as a JWK, for the IdP to sign with."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    return jwk | {"kid": kid, "use": "sig", "alg": "RS256"}


def clients(origins: list[str]) -> list[dict[str, Any]]:
    """The console as a confidential and as a public client, at ``CONSOLE`` (httpx) and at
    ``origins`` (a real server for Chromium)."""
    consoles = [CONSOLE, *origins]
    common = {"redirect_uris": [f"{o}/oidc/callback" for o in consoles],
              "post_logout_redirect_uris": [f"{o}/signin" for o in consoles],
              "grant_types": ["authorization_code"], "response_types": ["code"]}
    return [common | {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                      "token_endpoint_auth_method": "client_secret_basic"},
            common | {"client_id": PUBLIC_CLIENT_ID, "token_endpoint_auth_method": "none"}]


@dataclass
class RealIdp:
    issuer: str
    process: asyncio.subprocess.Process

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"


@asynccontextmanager
async def real_idp(accounts: dict[str, dict[str, Any]], keys: list[dict[str, Any]], log: Path,
                   origins: list[str] = ()) -> AsyncIterator[RealIdp]:
    node = shutil.which("node")
    assert node, "node is needed for the OpenID provider (make node-tools installs it with npm)"
    assert (REPO / "node_modules/oidc-provider").is_dir(), "run `make node-tools` (npm ci) for oidc-provider"
    config = {"audience": AUDIENCE, "jwks": keys, "clients": clients(list(origins)), "accounts": accounts,
              "cookie_key": secrets.token_urlsafe(32)}
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            node, str(PROVIDER_JS), cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=errors,
            env={**os.environ, "RF_IDP_CONFIG": json.dumps(config)})
        try:
            # it prints `ready <issuer>` once it serves; a deadline so a broken start fails, with its log
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line.startswith(b"ready "), f"the IdP did not start: {line!r} {log.read_text()}"
            yield RealIdp(line.decode().split()[1], process)
        finally:
            if process.returncode is None:
                process.terminate()
                await process.wait()


def browser(console_app: Any) -> httpx.AsyncClient:
    """One cookie jar for the console (in-process) and the IdP (real HTTP), no redirects
    followed: the tests look at each hop."""
    return httpx.AsyncClient(mounts={CONSOLE: httpx.ASGITransport(app=console_app)}, timeout=30)


async def through_idp(client: httpx.AsyncClient, url: str | httpx.URL, login: str) -> httpx.URL:
    """Follows the IdP from ``url`` as a person would (its login form, then its consent form)
    and returns the URL it sends the browser back to at the console, without opening it."""
    r = await client.get(url)
    for _hop in range(20):
        if r.is_redirect:
            target = r.url.join(r.headers["location"])
            if str(target).startswith(CONSOLE):
                return target
            r = await client.get(target)
            continue
        assert r.status_code == 200, f"{r.status_code} at {r.url}: {r.text[:500]}"
        form = _FORM.search(r.text)
        assert form, f"no form at {r.url}: {r.text[:500]}"
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(r.text)}
        if 'name="login"' in r.text:
            fields |= {"login": login, "password": "any"}  # the provider's dev login form
        r = await client.post(r.url.join(html.unescape(form.group(1))), data=fields)
    raise AssertionError("the IdP never sent the browser back")


async def tokens_from(idp: RealIdp, login: str) -> dict[str, Any]:
    """The IdP's token response for ``login``, fetched as the console's client would (PKCE)
    without the console: for tokens to put in front of the services or the console's checks."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
              "scope": "openid profile groups", "state": "s", "nonce": "n", "resource": AUDIENCE,
              "code_challenge": challenge, "code_challenge_method": "S256"}
    async with httpx.AsyncClient(timeout=30) as client:
        back = await through_idp(client, httpx.URL(f"{idp.issuer}/auth", params=params), login)
        r = await client.post(f"{idp.issuer}/token", auth=(CLIENT_ID, CLIENT_SECRET), data={
            "grant_type": "authorization_code", "code": back.params["code"], "redirect_uri": REDIRECT,
            "code_verifier": verifier, "resource": AUDIENCE})
        assert r.status_code == 200, r.text
        return r.json()
