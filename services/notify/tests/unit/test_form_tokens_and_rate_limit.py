"""The objection form's signed tokens and the per-client fixed-window rate limit."""

from __future__ import annotations

import pytest
from ruralfund_notify.domain.form_tokens import (
    FormTokenInvalid,
    TokenProblem,
    issue_form_token,
    verify_form_token,
)
from ruralfund_notify.domain.rate_limit import (
    FixedWindow,
    client_address,
    parse_networks,
    rate_key,
)

SECRET = b"s" * 32
NOTICE = "0195f000-0000-7000-8000-000000000001"
OTHER_NOTICE = "0195f000-0000-7000-8000-000000000002"
NONCE = "AbCdEfGhIjKlMnOpQrStUvWx"
ISSUED = 1_772_416_800  # 2026-03-02 02:00 UTC


def token() -> str:
    return issue_form_token(SECRET, NOTICE, ISSUED, NONCE)


def verify(t: str, *, notice: str = NOTICE, now: int = ISSUED + 60, secret: bytes = SECRET):
    return verify_form_token(secret, t, notice_id=notice, now_s=now, max_age_s=7200)


def test_a_token_this_service_issued_verifies_and_carries_its_nonce() -> None:
    checked = verify(token())
    assert (checked.notice_id, checked.issued_at_s, checked.nonce) == (NOTICE, ISSUED, NONCE)


@pytest.mark.parametrize(
    ("mangle", "problem"),
    [
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), TokenProblem.BAD_SIGNATURE),
        (lambda t: t.replace(str(ISSUED), str(ISSUED + 7000)), TokenProblem.BAD_SIGNATURE),
        (lambda t: t.replace(NONCE, "X" * 24), TokenProblem.BAD_SIGNATURE),
        (lambda t: "", TokenProblem.MALFORMED),
        (lambda t: t + ".x", TokenProblem.MALFORMED),
        (lambda t: "v2" + t[2:], TokenProblem.MALFORMED),
        (lambda t: t * 3, TokenProblem.MALFORMED),
    ],
)
def test_a_changed_or_made_up_token_is_refused(mangle, problem: TokenProblem) -> None:
    with pytest.raises(FormTokenInvalid) as refused:
        verify(mangle(token()))
    assert refused.value.problem is problem


def test_another_secret_another_notice_or_an_old_token_is_refused() -> None:
    for kwargs, problem in (
        ({"secret": b"t" * 32}, TokenProblem.BAD_SIGNATURE),
        ({"notice": OTHER_NOTICE}, TokenProblem.WRONG_NOTICE),
        ({"now": ISSUED + 7201}, TokenProblem.EXPIRED),
        ({"now": ISSUED - 3600}, TokenProblem.EXPIRED),  # "issued" in the future
    ):
        with pytest.raises(FormTokenInvalid) as refused:
            verify(token(), **kwargs)
        assert refused.value.problem is problem, kwargs
    assert verify(token(), now=ISSUED + 7200).nonce == NONCE  # the last second still counts


def test_fixed_window_counts_per_window_and_says_when_to_retry() -> None:
    window = FixedWindow(limit=3, window_seconds=3600)
    assert window.window_start(ISSUED + 59) == ISSUED  # ISSUED is on the hour
    assert window.window_start(ISSUED + 3600) == ISSUED + 3600
    assert [window.allows(n) for n in (1, 3, 4)] == [True, True, False]
    assert window.retry_after(ISSUED + 3599) == 1
    assert window.retry_after(ISSUED + 600) == 3000


PROXIES = parse_networks(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.7", None, "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not our proxy: header ignored
        ("10.1.2.3", "198.51.100.1", "198.51.100.1"),
        ("10.1.2.3", "1.2.3.4, 198.51.100.1, 10.9.9.9", "198.51.100.1"),  # spoofed left part
        ("10.1.2.3", "10.0.0.5", "10.1.2.3"),  # only proxies: the nearest is all we know
        ("10.1.2.3", "garbage", "10.1.2.3"),
    ],
)
def test_the_client_is_the_nearest_address_not_one_of_our_proxies(
    peer: str, forwarded: str | None, client: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert rate_key("2001:db8:1:2:aaaa::1") == rate_key("2001:db8:1:2:bbbb::9")
    assert rate_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert rate_key("2001:db8:1:3::1") != rate_key("2001:db8:1:2::1")
    assert rate_key("::ffff:203.0.113.7") == "203.0.113.7" == rate_key("203.0.113.7")


def test_a_typo_in_trusted_proxies_is_an_error() -> None:
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.0/33"])
