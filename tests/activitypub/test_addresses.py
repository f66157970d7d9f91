"""The SSRF address rule: every reserved form refused, public unicast allowed, allowlist works."""

from __future__ import annotations

from ipaddress import IPv6Address, ip_address

import pytest

from activitypub.addresses import AddressPolicy, embedded_ipv4, is_forbidden_address


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT: Python's is_private says False
        "100.127.255.254",
        "192.0.0.8",
        "192.0.2.1",
        "192.88.99.1",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",  # multicast: Python's is_global says True
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",
        "fd00::1",
        "fe80::1",
        "fe80::1%eth0",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "::8.8.8.8",  # IPv4-compatible, deprecated even when the IPv4 address is public
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1: Python's is_global says True
        "64:ff9b::808:808",  # NAT64 range refused whole, as Mastodon does
        "64:ff9b:1::7f00:1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1: Python's is_global says True
        "2002:808:808::1",  # 6to4 range refused whole
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:0:7f00:1::",
        "100::1",  # discard-only
        "2001:10::1",
        "2001:20::1",
        "2001:2::1",
        "2001:db8::1",
        "3fff::1",  # documentation (RFC 9637)
        "4000::1",  # outside global unicast 2000::/3
    ],
)
def test_is_forbidden_address__reserved(address: str) -> None:
    assert is_forbidden_address(ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "100.63.255.255",  # just below 100.64/10
        "100.128.0.1",  # just above it
        "172.32.0.1",  # just above 172.16/12
        "2001:4860:4860::8888",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",  # IPv4-mapped public address: a dual-stack socket reaches 8.8.8.8
    ],
)
def test_is_forbidden_address__public(address: str) -> None:
    assert not is_forbidden_address(ip_address(address))


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("::ffff:127.0.0.1", ["127.0.0.1"]),
        ("::127.0.0.1", ["127.0.0.1"]),
        ("64:ff9b::7f00:1", ["127.0.0.1"]),
        ("64:ff9b:1::7f00:1", ["127.0.0.1"]),
        ("2002:7f00:1::", ["127.0.0.1"]),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["65.54.227.120", "192.0.2.45"]),
        ("2001:4860:4860::8888", []),
        ("::1", []),
        ("::", []),
    ],
)
def test_embedded_ipv4(address: str, expected: list[str]) -> None:
    ip = ip_address(address)
    assert isinstance(ip, IPv6Address)
    assert [str(inner) for inner in embedded_ipv4(ip)] == expected


@pytest.mark.parametrize(
    ("allowed", "address", "permitted"),
    [
        ((), "127.0.0.1", False),
        ((), "8.8.8.8", True),
        (("127.0.0.0/8",), "127.0.0.2", True),
        (("127.0.0.0/8",), "::ffff:127.0.0.2", True),  # mapped form of an allowed address
        (("127.0.0.0/8",), "10.0.0.1", False),
        (("127.0.0.0/8",), "::1", False),
        (("127.0.0.2/32",), "127.0.0.1", False),
        (("127.0.0.2/32",), "127.0.0.2", True),
        (("::1/128",), "::1", True),
        (("64:ff9b::/96",), "64:ff9b::808:808", True),  # an IPv6-only host behind NAT64
        (("127.0.0.0/8",), "2001:4860:4860::8888", True),  # public addresses stay allowed
    ],
)
def test_address_policy__allowlist(allowed: tuple[str, ...], address: str, permitted: bool) -> None:
    policy = AddressPolicy.allowing(*allowed)
    assert policy.permits(ip_address(address)) is permitted


def test_address_policy__default_allows_nothing_private() -> None:
    assert AddressPolicy().allowed == ()
    assert not AddressPolicy().permits(ip_address("127.0.0.1"))
