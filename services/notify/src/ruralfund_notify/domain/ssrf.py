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
embedded one: ``2002:a00:1::1`` is 10.0.0.1 behind a 6to4 relay.

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

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(InvalidInput):
    """The URL or one of its addresses may not be called."""

    def __init__(self, message: str) -> None:
        super().__init__("WEBHOOK_TARGET_FORBIDDEN", message, field="url")


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
        raise TargetRefused(f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL cannot be parsed: {exc}") from None
    allowed = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in allowed:
        raise TargetRefused("webhook URLs must use https")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("webhook URLs must not carry a user name or password")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise TargetRefused("the URL has no host")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise TargetRefused("the host name is not a valid domain name") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """A global unicast address that embeds no non-public IPv4 address."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return is_public_address(embedded)
    return ip.is_global and not ip.is_multicast


def check_addresses(target: Target, addresses: list[str], *, allow_loopback: bool) -> list[str]:
    """The addresses, if every one may be called; raises TargetRefused naming the first that
    may not (a host with no address at all is refused too)."""
    if not addresses:
        raise TargetRefused(f"{target.host} has no address")
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        if is_public_address(ip):
            continue
        if allow_loopback and ip.is_loopback:
            continue
        raise TargetRefused(
            f"{target.host} resolves to {ip}, which is not a public address "
            "(loopback, private, link-local, multicast or reserved ranges are refused)"
        )
    if target.scheme == "http" and not all(
        ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses
    ):
        raise TargetRefused("plain http is accepted for loopback test receivers only")
    return addresses
