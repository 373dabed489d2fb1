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
    "address", ["8.8.8.8", "2606:4700::1111", "2002:808:808::1", "64:ff9b::808:808"]
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
