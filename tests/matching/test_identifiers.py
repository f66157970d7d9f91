"""Identifier parsing: table-driven, including hostile look-alikes and invisible characters."""

from __future__ import annotations

import pytest

from matching import identifiers as ids

INVALID = ids.Invalid


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        (12, 12),
        ("1234567890123456789", 1234567890123456789),  # above 2^53: must stay exact
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", INVALID),  # beyond bigint
        ("99999999999999999999", INVALID),
        ("123456789012345678901", INVALID),  # 21 digits
        ("0", INVALID),
        ("-5", INVALID),
        ("1e5", INVALID),
        ("12a", INVALID),
        ("", INVALID),
        ("١٢", INVALID),  # Arabic-Indic digits: str.isdigit() would say yes
        ("１２", INVALID),  # fullwidth digits
        ("12\n", 12),
        ("1 2", INVALID),
        (True, INVALID),
        (None, INVALID),
        (12.0, INVALID),
    ],
)
def test_parse_x_account_id(raw: object, expected: object) -> None:
    result = ids.parse_x_account_id(raw)
    if expected is INVALID:
        assert isinstance(result, ids.Invalid)
        assert result.code == "invalid_x_account_id"
    else:
        assert result == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jack", "jack"),
        ("@Jack", "Jack"),
        ("a_b_9", "a_b_9"),
        ("x" * 15, "x" * 15),
        ("x" * 16, INVALID),  # 16 characters
        ("", INVALID),
        ("@", INVALID),
        ("jack\u200b", INVALID),  # zero-width space
        ("ja\u200dck", INVALID),  # zero-width joiner
        ("jаck", INVALID),  # Cyrillic а
        ("ｊａｃｋ", INVALID),  # fullwidth
        ("jack\u202e", INVALID),  # right-to-left override
        ("jack.doe", INVALID),
        ("jack-doe", INVALID),
        ("jack\n", "jack"),  # surrounding white space is trimmed
        ("ja\nck", INVALID),
        ("@@jack", INVALID),
        (None, INVALID),
    ],
)
def test_parse_x_handle(raw: object, expected: object) -> None:
    result = ids.parse_x_handle(raw)
    if expected is INVALID:
        assert isinstance(result, ids.Invalid)
    else:
        assert result == expected


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("@alice@mastodon.social", "alice@mastodon.social"),
        ("alice@Mastodon.Social", "alice@mastodon.social"),
        ("acct:alice@example.org", "alice@example.org"),
        ("Alice_B.c@piaille.fr", "Alice_B.c@piaille.fr"),
        ("alice@localhost:8443", "alice@localhost:8443"),
        ("alice@bücher.example", "alice@xn--bcher-kva.example"),
    ],
)
def test_parse_fediverse_handle__valid(raw: str, address: str) -> None:
    result = ids.parse_fediverse_handle(raw)
    assert isinstance(result, ids.FediverseHandle)
    assert result.address == address
    assert result.key == address.lower()
    assert result.profile_url == f"https://{result.host}/@{result.user}"


@pytest.mark.parametrize(
    "raw",
    [
        "alice",
        "@alice",
        "alice@",
        "@alice@",
        "al ice@example.org",
        "alice@exa mple.org",
        "alice\u200b@example.org",
        "alice@example.org\u200b",
        "alice@-bad-.org",
        "alice@example.org:99999",
        "alice@example.org:0",
        "alice@example.org/path",
        "<script>@example.org",
        "alice@@example.org",
        "alice@" + "a" * 64 + ".org",
        "",
        42,
    ],
)
def test_parse_fediverse_handle__invalid(raw: object) -> None:
    result = ids.parse_fediverse_handle(raw)
    assert isinstance(result, ids.Invalid)
    assert result.code == "invalid_fediverse_handle"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice.bsky.social", "alice.bsky.social"),
        ("@Alice.Bsky.Social", "alice.bsky.social"),
        ("jean-luc.example.fr", "jean-luc.example.fr"),
        ("alice", INVALID),  # one label
        ("alice.123", INVALID),  # the top-level label cannot start with a digit
        ("alice..bsky.social", INVALID),
        ("alice.bsky.social\u200b", INVALID),
        ("did:plc:abc", INVALID),
        ("-alice.bsky.social", INVALID),
        ("a" * 64 + ".bsky.social", INVALID),
    ],
)
def test_parse_bluesky_handle(raw: str, expected: object) -> None:
    result = ids.parse_bluesky_handle(raw)
    if expected is INVALID:
        assert isinstance(result, ids.Invalid)
    else:
        assert isinstance(result, ids.BlueskyHandle)
        assert result.handle == expected
        assert result.profile_url == f"https://bsky.app/profile/{expected}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Élodie   Martin ", "Élodie Martin"),
        ("E\u0301lodie", "Élodie"),  # NFC composes the accent
        ("", ""),
        ("x" * 100, "x" * 100),
        ("x" * 101, INVALID),
        ("Jack\u200b", INVALID),
        ("Jack\u202e", INVALID),
        ("Jack\x00", INVALID),
        (5, INVALID),
    ],
)
def test_parse_display_name(raw: object, expected: object) -> None:
    result = ids.parse_display_name(raw)
    if expected is INVALID:
        assert isinstance(result, ids.Invalid)
    else:
        assert result == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Élodie Martin", "elodie martin"),
        ("  JOSÉ   garcía ", "jose garcia"),
        ("Straße", "strasse"),
        ("ｊａｃｋ", "jack"),
        ("@Jack", "@jack"),
    ],
)
def test_search_key(text: str, key: str) -> None:
    assert ids.search_key(text) == key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.ORG", "example.org"),
        ("example.org:443", "example.org:443"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("exa_mple.org", INVALID),
        ("example.org:", INVALID),
        ("example.org:١٢", INVALID),
        ("", INVALID),
    ],
)
def test_parse_host(raw: str, expected: object) -> None:
    result = ids.parse_host(raw)
    if expected is INVALID:
        assert isinstance(result, ids.Invalid)
    else:
        assert result == expected


@pytest.mark.parametrize(
    ("raws", "expected"),
    [
        (["1", "22", "9223372036854775807"], [1, 22, 2**63 - 1]),
        ([], []),
        ([" 12 ", "3"], [12, 3]),  # the slow path trims, like the single parser
        (["1", "0"], 1),
        (["1", "9223372036854775808"], 1),
        (["1", ""], 1),
        (["1", "1_000"], 1),  # int() would accept it
        (["1", "+5"], 1),
        (["1", "١٢"], 1),  # non-ASCII digits
        (["1", 5], 1),  # a JSON number
        (["1", None], 1),
        (["12345678901234567890"], 0),
    ],
)
def test_parse_x_account_ids(raws: list[object], expected: object) -> None:
    result = ids.parse_x_account_ids(raws)
    if isinstance(expected, int):
        assert isinstance(result, ids.InvalidAt)
        assert result.index == expected
    else:
        assert result == expected


def test_parse_x_account_ids__fast_path_agrees_with_the_single_parser() -> None:
    raws: list[object] = [str(n) for n in (1, 10, 2**53 + 1, 2**63 - 1, 987654321)]
    assert ids.parse_x_account_ids(raws) == [ids.parse_x_account_id(r) for r in raws]
