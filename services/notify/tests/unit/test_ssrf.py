"""Which webhook targets may be called (SSRF): https, and only public addresses."""

from __future__ import annotations

import ipaddress

import pytest
from ruralfund_notify.domain.ssrf import (
    TargetRefused,
    check_addresses,
    is_public_address,
    parse_target,
)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # loopback
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",  # link-local: cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",  # multicast (is_global says True)
        "192.0.2.1",  # documentation
        "::1",
        "fe80::1",
        "fc00::1",  # unique local
        "ff02::1",  # multicast (is_global says True)
        "::ffff:10.0.0.1",  # IPv4-mapped private
        "2002:a00:1::1",  # 6to4 of 10.0.0.1 (is_global says True)
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1 (is_global says True)
        "::",
        # is_global says True for every one of these:
        "::127.0.0.1",  # IPv4-compatible (deprecated): loopback
        "::8.8.8.8",  # IPv4-compatible, whatever it embeds
        "::ffff:0:7f00:1",  # IPv4-translated (SIIT) 127.0.0.1
        "::ffff:0:808:808",  # IPv4-translated, whatever it embeds
        "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215): the operator's own translator
        "64:ff9b:1::808:808",
        "64:ff9b::7f00:1",  # well-known NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # well-known NAT64 of 169.254.169.254
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "fec0::1",  # site-local (deprecated, still routed inside some networks)
        "fec0:0:0:ffff::1",
        "5f00::1",  # SRv6 SIDs (RFC 9602), outside 2000::/3
        "3fff::1",  # documentation (RFC 9637)
        "2001:db8::1",  # documentation
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "240.0.0.1",  # reserved
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))
    with pytest.raises(TargetRefused, match="not a public address"):
        check_addresses(
            parse_target("https://hooks.example.cn/x", allow_loopback=False),
            [address],
            allow_loopback=False,
        )


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "2606:4700::1111",
        "2002:808:808::1",  # 6to4 of 8.8.8.8
        "64:ff9b::808:808",  # well-known NAT64 of 8.8.8.8
        "::ffff:8.8.8.8",  # IPv4-mapped 8.8.8.8
        "2001:4860:4860::8888",
        "240e::1",  # China Telecom
    ],
)
def test_public_addresses_are_accepted(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_every_address_of_a_name_must_be_public() -> None:
    target = parse_target("https://hooks.example.cn/x", allow_loopback=False)
    with pytest.raises(TargetRefused, match="10.0.0.8"):
        check_addresses(target, ["8.8.8.8", "10.0.0.8"], allow_loopback=False)
    with pytest.raises(TargetRefused, match="no address"):
        check_addresses(target, [], allow_loopback=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.cn/x", "https"),
        ("ftp://hooks.example.cn/x", "https"),
        ("https://user:pw@hooks.example.cn/x", "user name or password"),
        ("https:///x", "no host"),
        ("https://hooks.example.cn:99999/x", "cannot be parsed"),
        ("https://" + "a" * 2000 + ".cn/", "longer than"),
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(TargetRefused, match=message) as refused:
        parse_target(url, allow_loopback=False)
    assert refused.value.code == "WEBHOOK_TARGET_FORBIDDEN" and refused.value.status == 422


def test_the_development_setting_allows_loopback_only() -> None:
    target = parse_target("http://127.0.0.1:8080/hook?x=1", allow_loopback=True)
    assert (target.scheme, target.host, target.port, target.path) == (
        "http",
        "127.0.0.1",
        8080,
        "/hook?x=1",
    )
    assert check_addresses(target, ["127.0.0.1"], allow_loopback=True) == ["127.0.0.1"]
    with pytest.raises(TargetRefused, match="not a public address"):
        check_addresses(target, ["10.0.0.1"], allow_loopback=True)  # still no private ranges
    https = parse_target("https://hooks.example.cn/", allow_loopback=True)
    check_addresses(https, ["8.8.8.8"], allow_loopback=True)
    with pytest.raises(TargetRefused, match="plain http"):
        check_addresses(
            parse_target("http://hooks.example.cn/", allow_loopback=True),
            ["8.8.8.8"],
            allow_loopback=True,
        )


def test_the_request_goes_to_the_checked_address_under_the_original_name() -> None:
    target = parse_target("https://Hooks.Example.CN./in?x=1", allow_loopback=False)
    assert (target.host, target.port, target.host_header) == (
        "hooks.example.cn",
        443,
        "hooks.example.cn",
    )
    assert target.url_for("2606:4700::1111") == "https://[2606:4700::1111]:443/in?x=1"
    other_port = parse_target("https://[2606:4700::1111]:8443", allow_loopback=False)
    assert other_port.host_header == "[2606:4700::1111]:8443" and other_port.path == "/"
    assert str(other_port.literal_address) == "2606:4700::1111"
    idn = parse_target("https://公示.中国/hook", allow_loopback=False)
    assert idn.host == "xn--55q538g.xn--fiqs8s"
