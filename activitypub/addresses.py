"""Decide which IP addresses an outbound request may connect to (the SSRF address rule).

Only globally routable unicast addresses pass. The lists are explicit because Python's
`is_private`/`is_global` are wrong for several ranges and change between releases (on 3.11.7,
`100.64.0.1` is not private and `224.0.0.1`, `64:ff9b::7f00:1`, `2002:7f00:1::` are "global";
attacks.md C1). They follow Mastodon's `PrivateAddressCheck` (app/lib/private_address_check.rb,
after GHSA-xfrj-c749-jxxq, GHSA-xx55-4rrg-8xg6 and GHSA-vwhj-3g83-v276) and the IANA special
purpose registries (https://www.iana.org/assignments/iana-ipv4-special-registry/,
https://www.iana.org/assignments/iana-ipv6-special-registry/).

IPv6 forms that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`,
NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002::/16`, Teredo `2001::/32`) are unwrapped
and the embedded address is checked as well. The translation ranges themselves are refused
whole, as Mastodon does: a host on an IPv6-only network that reaches IPv4 through NAT64 must
list `64:ff9b::/96` in its `AddressPolicy`.
"""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_BLOCKED_V4: tuple[IPv4Network, ...] = tuple(
    IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",  # private (RFC 1918)
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598); Python says not private
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link local, cloud metadata at 169.254.169.254
        "172.16.0.0/12",  # private (RFC 1918)
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation TEST-NET-1
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # private (RFC 1918)
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation TEST-NET-2
        "203.0.113.0/24",  # documentation TEST-NET-3
        "224.0.0.0/4",  # multicast; Python says global
        "240.0.0.0/4",  # reserved
        "255.255.255.255/32",  # limited broadcast
    )
)

# Global unicast is 2000::/3; everything outside it (::, ::1, fc00::/7, fe80::/10, ff00::/8,
# 100::/64, IPv4-compatible ::/96, ...) is refused by that single rule.
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_BLOCKED_V6: tuple[IPv6Network, ...] = tuple(
    IPv6Network(net)
    for net in (
        "::/128",  # unspecified
        "::1/128",  # loopback
        "::/96",  # IPv4-compatible (deprecated, RFC 4291)
        "64:ff9b::/96",  # NAT64 well-known prefix (RFC 6052)
        "64:ff9b:1::/48",  # NAT64 local-use prefix (RFC 8215)
        "100::/64",  # discard-only (RFC 6666)
        "2001::/32",  # Teredo
        "2001:2::/48",  # benchmarking
        "2001:10::/28",  # ORCHID (deprecated)
        "2001:20::/28",  # ORCHIDv2
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "3fff::/20",  # documentation (RFC 9637)
        "fc00::/7",  # unique local
        "fe80::/10",  # link local
        "ff00::/8",  # multicast
    )
)
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))


def embedded_ipv4(ip: IPv6Address) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo  # (server, client); the client address is de-obfuscated
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in net for net in _NAT64) or (int(ip) >> 32 == 0 and int(ip) > 1):
        return (low32,)  # NAT64 (RFC 6052 /96 form) or IPv4-compatible ::a.b.c.d
    return ()


def is_forbidden_address(ip: IPAddress) -> bool:
    """Tell whether `ip` is anything but a globally routable unicast address."""
    if isinstance(ip, IPv4Address):
        return any(ip in net for net in _BLOCKED_V4)
    if any(is_forbidden_address(inner) for inner in embedded_ipv4(ip)):
        return True
    if ip.ipv4_mapped is not None:
        return False  # a dual-stack socket connects to the (public) IPv4 address itself
    return ip not in _GLOBAL_UNICAST_V6 or any(ip in net for net in _BLOCKED_V6)


@dataclasses.dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a client may connect to: public ones, plus explicit exceptions.

    `allowed` is Mastodon's `ALLOWED_PRIVATE_ADDRESSES`: test builds list the loopback range of
    their fake peers here; production leaves it empty. An IPv4-mapped address is allowed when
    the IPv4 address it maps to is.
    """

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def allowing(cls, *networks: str) -> AddressPolicy:
        """Build a policy from CIDR strings, e.g. `AddressPolicy.allowing("127.0.0.2/32")`."""
        return cls(allowed=tuple(ip_network(net) for net in networks))

    def permits(self, ip: IPAddress) -> bool:
        """Tell whether a connection to `ip` is allowed under this policy."""
        candidates: tuple[IPAddress, ...] = (ip,)
        if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
            candidates = (ip, ip.ipv4_mapped)
        if any(addr in net for addr in candidates for net in self.allowed):
            return True
        return not is_forbidden_address(ip)
