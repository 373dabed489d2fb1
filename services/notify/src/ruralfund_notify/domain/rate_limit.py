"""Per-client rate limiting of the public objection form: a fixed window per client address.

Fixed windows (N posts per window, counted per client) are coarse but cheap and easy to
explain: at most ``2N`` posts can straddle a window boundary, which is fine for a form a
person fills in once. Counting is done by the caller (a row per client and window).

Who is "the client": the connecting address, unless it is one of our own reverse proxies
(the county portal's gateway), in which case the nearest address in ``X-Forwarded-For`` that
is not ours. Trusting that header from anyone else would let a client pick its own key.
IPv6 clients are keyed by their /64: one household or phone usually holds a whole /64, so
per-address limits would be trivial to dodge.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

__all__ = ["FixedWindow", "IPNetwork", "client_address", "parse_networks", "rate_key"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_PREFIX_BITS: Final = 64
MAX_FORWARDED_HOPS: Final = 20  # a longer header is junk or an attack; stop reading


def parse_networks(values: list[str]) -> list[IPNetwork]:
    """``["10.0.0.0/8", "127.0.0.1"]`` → networks; raises ValueError on a typo."""
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values]


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address: str, proxies: list[IPNetwork]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: list[IPNetwork]) -> str:
    """The client's address as far as we can trust it (see the module docstring)."""
    if not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",")][-MAX_FORWARDED_HOPS:]
    for hop in reversed(hops):  # the right-most hops were added by proxies we know
        if not _trusted(hop, proxies):
            return hop if _ip(hop) is not None else peer
    return peer


def rate_key(address: str) -> str:
    """The bucket an address counts in: itself (IPv4) or its /64 (IPv6)."""
    ip = _ip(address)
    if ip is None:
        return f"other:{address[:100]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX_BITS), strict=False))
    return str(ip)


@dataclass(frozen=True, slots=True)
class FixedWindow:
    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        assert self.limit >= 1 and self.window_seconds >= 1

    def window_start(self, now_s: float) -> int:
        """The start (epoch seconds) of the window ``now_s`` falls in."""
        return int(now_s // self.window_seconds) * self.window_seconds

    def retry_after(self, now_s: float) -> int:
        """Whole seconds until the next window opens (at least 1)."""
        return max(1, self.window_start(now_s) + self.window_seconds - int(now_s))

    def allows(self, hits: int) -> bool:
        """Whether the ``hits``-th request of a window (counting this one) may go through."""
        return hits <= self.limit
