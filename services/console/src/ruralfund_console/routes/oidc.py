"""Sign-in at the county IdP (OpenID Connect, authorization code + PKCE): ``/oidc/login`` sends
the person there, ``/oidc/callback`` is where the IdP sends them back. The checks are in
``ruralfund_console.oidc``; here only cookies and redirects."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..oidc import FLOW_COOKIE, FLOW_SECONDS, OidcClient, SignInRefused
from ..session import Session
from ..web import Refused, web

__all__ = ["router"]

router = APIRouter()
log = structlog.get_logger(__name__)
_FLOW_PATH = "/oidc"


def _client(request: Request) -> OidcClient:
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    if client is None:
        raise Refused("无法登录", "本环境未配置统一身份认证登录。", status=404)
    return client


@router.get("/oidc/login")
async def oidc_login(request: Request) -> Response:
    client = _client(request)
    try:
        url, flow = await client.start()
    except SignInRefused as exc:
        log.warning("oidc_signin_refused", reason=exc.reason)
        raise Refused(exc.title_zh, exc.detail_zh, exc.status) from exc
    response = RedirectResponse(url, status_code=303)
    # SameSite=Lax: the IdP's redirect back is a top-level GET, so the browser sends it
    response.set_cookie(FLOW_COOKIE, web(request).flow_codec.dumps(flow), max_age=FLOW_SECONDS, httponly=True,
                        samesite="lax", secure=web(request).settings.production, path=_FLOW_PATH)
    return response


@router.get("/oidc/callback")
async def oidc_callback(request: Request) -> Response:
    client = _client(request)
    flow = web(request).flow_codec.loads(request.cookies.get(FLOW_COOKIE))
    try:
        person = await client.finish(dict(request.query_params), flow)
    except SignInRefused as exc:
        log.warning("oidc_signin_refused", reason=exc.reason)
        response = web(request).refused(request, exc.title_zh, exc.detail_zh, exc.status)
    else:
        p = person.principal
        log.info("oidc_signed_in", subject=p.subject, roles=sorted(p.roles))
        session = Session(token=person.access_token, name=p.name, subject=p.subject,
                          roles=sorted(str(r) for r in p.roles), credit_code=p.credit_code, idp=True)
        # the session ends no later than the token the services accept
        session.expires_at = min(session.expires_at, person.expires_at)
        response = web(request).with_cookie(RedirectResponse("/", status_code=303), session)
    # one flow, one use: whatever happened, this flow is over
    response.delete_cookie(FLOW_COOKIE, path=_FLOW_PATH)
    return response
