"""Sign-in at a real OpenID provider (panva's oidc-provider under node, a certified OpenID
implementation): authorization code + PKCE through the IdP's own login and consent forms, the
IdP's groups mapped to our roles by the operator's mapping, and the real claims service
accepting the IdP's access token. Every tampering the flow guards against is tried."""

from __future__ import annotations

import html
import re

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from ruralfund_console.oidc import FLOW_COOKIE, Flow, FlowCodec, SignInRefused

from .idp import AUDIENCE, CONSOLE, PUBLIC_CLIENT_ID, browser, through_idp, tokens_from

pytestmark = pytest.mark.integration


async def _start(client, path: str = "/oidc/login"):
    r = await client.get(f"{CONSOLE}{path}")
    assert r.status_code == 303, r.text
    return r


async def test_a_bureau_person_signs_in_at_the_idp_and_finds_the_review_queue(idp_world, reviewing) -> None:
    app = await idp_world.console()
    async with browser(app) as client:
        page = await client.get(f"{CONSOLE}/signin")
        assert 'href="/oidc/login"' in page.text and "通过县统一身份认证登录" in page.text
        start = await _start(client)
        to_idp = start.url.join(start.headers["location"])
        assert str(to_idp).startswith(idp_world.idp.issuer + "/auth"), to_idp
        q = to_idp.params
        assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
        assert q["state"] and q["nonce"] and q["state"] != q["nonce"] and "code_verifier" not in str(to_idp)
        flow_cookie = start.headers["set-cookie"].lower()
        assert flow_cookie.startswith(FLOW_COOKIE) and "httponly" in flow_cookie and "path=/oidc" in flow_cookie
        assert "max-age=600" in flow_cookie and "samesite=lax" in flow_cookie

        back = await through_idp(client, to_idp, "wang")
        assert back.params["state"] == q["state"] and back.params["iss"] == idp_world.idp.issuer
        r = await client.get(back)
        assert r.status_code == 303 and r.headers["location"] == "/", r.text
        assert client.cookies.get(FLOW_COOKIE) is None  # the flow is spent
        session_cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("rf_console=")]
        assert session_cookie and "httponly" in session_cookie[0].lower() and "samesite=lax" in session_cookie[0].lower()

        home = await client.get(f"{CONSOLE}/")
        assert home.status_code == 200, home.text
        # the review queue comes from the real claims service, called with the IdP's access token
        assert "王科长（商务局）" in home.text and "待审核的申报" in home.text
        assert "新平礼好农业有限公司" in home.text and "新平县嘎洒农产品合作社" in home.text  # submitted claims
        policy = home.headers["content-security-policy"]
        assert f"form-action 'self' {idp_world.idp.issuer}" in policy

        # sign-out clears the session and ends the IdP's session too (RP-initiated logout)
        csrf = _csrf(home.text)
        out = await client.post(f"{CONSOLE}/signout", data={"csrf": csrf})
        assert out.status_code == 303
        end = out.url.join(out.headers["location"])
        assert str(end).startswith(f"{idp_world.idp.issuer}/session/end")
        assert end.params["client_id"] == "ruralfund-console"
        assert end.params["post_logout_redirect_uri"] == f"{CONSOLE}/signin"
        assert (await client.get(f"{CONSOLE}/")).headers["location"] == "/signin"
        # the IdP takes it from there: its own sign-out confirmation page
        assert (await client.get(end)).status_code == 200

    # a console that restarted since (no discovery cached) still ends the IdP's session
    again = await idp_world.console()
    async with browser(again) as client:
        start = await _start(client)
        assert (await client.get(await through_idp(client, start.url.join(start.headers["location"]), "wang"))
                ).status_code == 303
        home = await client.get(f"{CONSOLE}/")
        again.state.oidc._provider = None  # as after a restart
        out = await client.post(f"{CONSOLE}/signout", data={"csrf": _csrf(home.text)})
        assert out.headers["location"].startswith(f"{idp_world.idp.issuer}/session/end")


async def test_an_enterprise_signs_in_as_a_public_client_with_its_credit_code(idp_world) -> None:
    app = await idp_world.console(client_id=PUBLIC_CLIENT_ID, secret=None)
    async with browser(app) as client:
        start = await _start(client)
        r = await client.get(await through_idp(client, start.url.join(start.headers["location"]), "li"))
        assert r.status_code == 303, r.text
        home = await client.get(f"{CONSOLE}/")
        assert home.status_code == 200 and "李经理" in home.text and "待审核的申报" not in home.text


async def test_a_person_whose_groups_map_to_nothing_is_refused_in_chinese(idp_world) -> None:
    app = await idp_world.console()
    async with browser(app) as client:
        start = await _start(client)
        r = await client.get(await through_idp(client, start.url.join(start.headers["location"]), "zhao"))
        assert r.status_code == 403
        assert "无法登录" in r.text and "没有对应本系统的任何角色" in r.text
        assert (await client.get(f"{CONSOLE}/")).headers["location"] == "/signin"  # no session
    # and the services refuse that person's genuine token the same way
    token = (await tokens_from(idp_world.idp, "zhao"))["access_token"]
    refused = await idp_world.world.claims.get("/claims", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.json()["code"] == "AUTH_NO_ROLE"
    assert "没有对应本系统的任何角色" in refused.json()["detail_zh"]


async def test_a_tampered_state_is_refused(idp_world) -> None:
    app = await idp_world.console()
    async with browser(app) as client:
        start = await _start(client)
        back = await through_idp(client, start.url.join(start.headers["location"]), "wang")
        r = await client.get(back.copy_set_param("state", back.params["state"][:-2] + "xx"))
        assert r.status_code == 400 and "不一致" in r.text
        assert (await client.get(f"{CONSOLE}/")).headers["location"] == "/signin"
        # the refused answer also ended the flow: the genuine return no longer signs in either
        assert (await client.get(back)).status_code == 400


async def test_a_replayed_code_is_refused(idp_world) -> None:
    app = await idp_world.console()
    async with browser(app) as client:
        start = await _start(client)
        flow = client.cookies.get(FLOW_COOKIE)
        back = await through_idp(client, start.url.join(start.headers["location"]), "wang")
        assert (await client.get(back)).status_code == 303
    # someone holding both the return URL and the flow cookie replays them: the IdP refuses the code
    async with browser(app) as thief:
        thief.cookies.set(FLOW_COOKIE, flow, domain="console.test", path="/oidc")
        r = await thief.get(back)
        assert r.status_code == 400 and "授权码无效、已使用或已过期" in r.text
        assert (await thief.get(f"{CONSOLE}/")).headers["location"] == "/signin"


async def test_a_wrong_nonce_is_refused(idp_world) -> None:
    app = await idp_world.console()
    async with browser(app) as client:
        start = await _start(client)
        back = await through_idp(client, start.url.join(start.headers["location"]), "wang")
        codec = FlowCodec(b"s" * 32)
        real = codec.loads(client.cookies.get(FLOW_COOKIE))
        # same state and verifier (so the code exchange succeeds), another nonce
        other = Flow(real.state, Flow.new().nonce, real.verifier, real.expires_at)
        client.cookies.set(FLOW_COOKIE, codec.dumps(other), domain="console.test", path="/oidc")
        r = await client.get(back)
        assert r.status_code == 403 and "nonce 不符" in r.text
        assert (await client.get(f"{CONSOLE}/")).headers["location"] == "/signin"


async def test_an_id_token_from_another_issuer_is_refused(idp_world) -> None:
    app = await idp_world.console()
    oidc = app.state.oidc
    provider = await oidc.provider()
    foreign = await tokens_from(idp_world.other_idp, "wang")
    # the other IdP signs with the same key: only the issuer tells its tokens apart
    assert jwt.get_unverified_header(foreign["id_token"])["kid"] == "county-1"
    with pytest.raises(SignInRefused) as caught:
        await oidc.verify_id_token(provider, foreign["id_token"], foreign["access_token"],
                                   Flow("s", "n", "v" * 43, 2e9))
    assert "issuer" in caught.value.reason.lower()
    # its access token is no good at the services either
    r = await idp_world.world.claims.get("/claims", headers={"Authorization": f"Bearer {foreign['access_token']}"})
    assert r.status_code == 401 and "issuer" in r.json()["detail"].lower()
    # while the county IdP's own token for the same person passes both
    own = await tokens_from(idp_world.idp, "wang")
    claims = await oidc.verify_id_token(provider, own["id_token"], own["access_token"], Flow("s", "n", "v" * 43, 2e9))
    assert claims["sub"] == "wang"
    ok = await idp_world.world.claims.get("/claims", headers={"Authorization": f"Bearer {own['access_token']}"})
    assert ok.status_code == 200, ok.text


async def test_a_service_refuses_a_token_signed_by_another_key(idp_world) -> None:
    genuine = jwt.decode((await tokens_from(idp_world.idp, "wang"))["access_token"],
                         options={"verify_signature": False})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # every claim as the IdP would write it, and its key id; only the key is not the IdP's
    forged = jwt.encode(genuine, stranger, algorithm="RS256", headers={"kid": "county-1", "typ": "at+jwt"})
    for service in (idp_world.world.claims, idp_world.world.funds):
        r = await service.get("/claims" if service is idp_world.world.claims else "/payments",
                              headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401 and r.json()["code"] == "AUTH_INVALID", r.text
        assert "signature" in r.json()["detail"].lower()
    assert genuine["aud"] == AUDIENCE and genuine["groups"] == ["county-bureau", "county-canteen"]


async def test_cancelling_at_the_idp_signs_no_one_in(idp_world) -> None:
    app = await idp_world.console()
    async with browser(app) as client:
        start = await _start(client)
        login = await client.get(start.url.join(start.headers["location"]))
        login = await client.get(login.url.join(login.headers["location"]))
        cancel = re.search(r'<a href="([^"]+)">\[ Cancel \]</a>', login.text)
        assert cancel, login.text[:500]
        r = await client.get(login.url.join(html.unescape(cancel.group(1))))
        while r.is_redirect and not r.headers["location"].startswith(CONSOLE):
            r = await client.get(r.url.join(r.headers["location"]))
        back = httpx.URL(r.headers["location"])
        assert back.params["error"] == "access_denied"
        r = await client.get(back)
        assert r.status_code == 403 and "您在统一身份认证页面取消了登录" in r.text
        assert (await client.get(f"{CONSOLE}/")).headers["location"] == "/signin"


async def test_a_misconfigured_console_refuses_before_anyone_signs_in(idp_world) -> None:
    # the discovery document names its issuer exactly: a trailing slash is another issuer
    app = await idp_world.console(issuer=idp_world.idp.issuer + "/")
    async with browser(app) as client:
        r = await client.get(f"{CONSOLE}/oidc/login")
        assert r.status_code == 502 and "统一身份认证服务的配置与本系统不符" in r.text
    # services whose audience is the console's client id would take an ID token for an access token
    app = await idp_world.console(auth=idp_world.auth.model_copy(update={"oidc_audience": "ruralfund-console"}))
    async with browser(app) as client:
        r = await client.get(f"{CONSOLE}/oidc/login")
        assert r.status_code == 502 and "令牌受众与本系统的客户端标识相同" in r.text


async def test_an_unreachable_idp_is_said_so(idp_world) -> None:
    app = await idp_world.console(issuer="http://127.0.0.1:9")  # discard port on loopback: refused at once
    async with browser(app) as client:
        r = await client.get(f"{CONSOLE}/oidc/login")
        assert r.status_code == 503 and "统一身份认证服务暂时无法访问" in r.text


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)
