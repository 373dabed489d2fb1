"""Which webhook targets notify may call (server-side request forgery, SSRF).

A webhook URL is typed in by an admin and called by our server, from inside the county's
network. Without checks it is a way to make the server call its own admin endpoints, the
database host, or a cloud metadata service (169.254.169.254). So, in production:

- the URL is ``https``, with a host, no user:password part;
- **every** address the host resolves to is a public unicast address (a name resolving to one
  public and one private address is refused: the connection could go to either);
- the check runs when the subscription is made and again before each delivery (DNS can change
  between the two: "DNS rebinding"), and the delivery connects to the checked address itself.

Addresses that embed another IPv4 address (IPv4-mapped, 6to4, NAT64) are judged by the
embedded one: ``2002:a00:1::1`` is 10.0.0.1 behind a 6to4 relay. IPv6 must be global unicast
(2000::/3): IPv4-compatible, IPv4-translated, local-use NAT64, Teredo and site-local forms are
refused, though Python's ``is_global`` accepts some of them. One function, ``is_public_address``,
judges every address, when subscribing and after each resolution before a delivery.

The development setting ``allow_loopback`` also accepts ``http`` and loopback addresses
(127.0.0.0/8, ::1) so tests can run a receiver in-process; it is refused in production.
Nothing else private is ever accepted.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from ruralfund_common.errors import InvalidInput

__all__ = [
    "MAX_URL_CHARS",
    "Target",
    "TargetRefused",
    "check_addresses",
    "is_public_address",
    "parse_target",
]

MAX_URL_CHARS: Final = 2000
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")  # RFC 4291 §2.4 (IANA: 2000::/3)
# Inside 2000::/3 but never a receiver we may call. (IPv4-compatible ::/96, IPv4-translated
# ::ffff:0:0:0/96, local-use NAT64 64:ff9b:1::/48 and site-local fec0::/10 are outside it.)
_REFUSED_V6: Final = (
    ipaddress.IPv6Network("2001::/32"),  # Teredo: reaches whatever IPv4 its server relays to
    ipaddress.IPv6Network("2001:db8::/32"),  # documentation
    ipaddress.IPv6Network("3fff::/20"),  # documentation (RFC 9637)
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(InvalidInput):
    """The URL or one of its addresses may not be called."""

    def __init__(self, message: str, *, detail_zh: str) -> None:
        super().__init__("WEBHOOK_TARGET_FORBIDDEN", message, field="url", detail_zh=detail_zh)


@dataclass(frozen=True, slots=True)
class Target:
    """A webhook URL taken apart: where to connect and what to ask for."""

    scheme: str
    host: str  # lower-case; an IP literal without brackets
    port: int
    path: str  # path and query, at least "/"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    def url_for(self, address: str) -> str:
        """The URL with the host replaced by a checked address, so the connection goes to
        exactly that address (Host header and TLS name stay the original host)."""
        literal = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def literal_address(self) -> IPAddress | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def parse_target(url: str, *, allow_loopback: bool) -> Target:
    """Check the URL's shape; raises TargetRefused. Addresses are checked separately."""
    if len(url) > MAX_URL_CHARS:
        raise TargetRefused(f"the URL is longer than {MAX_URL_CHARS} characters",
                            detail_zh=f"接收地址（url）最多 {MAX_URL_CHARS} 个字符。")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL cannot be parsed: {exc}", detail_zh="接收地址（url）不是有效的网址。") from None
    allowed = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in allowed:
        raise TargetRefused("webhook URLs must use https", detail_zh="接收地址（url）须使用 https。")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("webhook URLs must not carry a user name or password",
                            detail_zh="接收地址（url）中不能包含用户名或密码。")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise TargetRefused("the URL has no host", detail_zh="接收地址（url）中没有主机名。")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise TargetRefused("the host name is not a valid domain name", detail_zh="接收地址的主机名不是有效的域名。") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to ``ip`` actually reaches, for the forms that carry one."""
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d, a dual-stack socket connects to a.b.c.d
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002:AABB:CCDD::/48 goes through a 6to4 relay to AA.BB.CC.DD
        return ip.sixtofour
    if ip in _NAT64:  # the well-known NAT64 prefix (RFC 6052) translates to the last 32 bits
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """A global unicast address that embeds no non-public IPv4 address.

    IPv6 is judged by an allow-list, not by ``is_global`` alone (which says True for
    ``::127.0.0.1``, ``::ffff:0:7f00:1``, ``64:ff9b:1::/48`` and ``fec0::/10``): the address
    must be in the global unicast space 2000::/3 and in none of the refused ranges; forms that
    embed an IPv4 address (IPv4-mapped, 6to4, well-known NAT64) are judged by the embedded
    one; the other transition forms (IPv4-compatible, IPv4-translated, local-use NAT64,
    Teredo) are refused outright, as what they reach depends on a translator we cannot see.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.is_global and not ip.is_multicast and not ip.is_reserved
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return is_public_address(embedded)
    if ip not in _GLOBAL_UNICAST or any(ip in net for net in _REFUSED_V6):
        return False
    return ip.is_global


def check_addresses(target: Target, addresses: list[str], *, allow_loopback: bool) -> list[str]:
    """The addresses, if every one may be called; raises TargetRefused naming the first that
    may not (a host with no address at all is refused too)."""
    if not addresses:
        raise TargetRefused(f"{target.host} has no address", detail_zh=f"主机 {target.host} 没有可用的网络地址。")
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        if is_public_address(ip):
            continue
        if allow_loopback and ip.is_loopback:
            continue
        raise TargetRefused(
            f"{target.host} resolves to {ip}, which is not a public address "
            "(loopback, private, link-local, multicast or reserved ranges are refused)",
            detail_zh=f"主机 {target.host} 解析为 {ip}，不是公网地址（本机、内网、链路本地、组播和保留地址均不接受）。",
        )
    if target.scheme == "http" and not all(
        ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses
    ):
        raise TargetRefused("plain http is accepted for loopback test receivers only",
                            detail_zh="只有本机测试接收方可以使用 http，其他接收地址须使用 https。")
    return addresses
