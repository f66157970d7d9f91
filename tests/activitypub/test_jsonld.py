"""JSON-LD with bundled contexts only (never the network), and the tolerant AS2 accessors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pyld import jsonld as pyld_jsonld

from activitypub import jsonld
from activitypub.errors import InvalidDocument

AS = "https://www.w3.org/ns/activitystreams"
SEC = "https://w3id.org/security/v1"
REPO = Path(__file__).parent.parent.parent

ACTOR = {
    "@context": [
        AS,
        SEC,
        {"toot": "http://joinmastodon.org/ns#", "discoverable": "toot:discoverable"},
    ],
    "id": "https://mastodon.example/users/alice",
    "type": "Person",
    "preferredUsername": "alice",
    "inbox": "https://mastodon.example/users/alice/inbox",
    "discoverable": True,
    "publicKey": {
        "id": "https://mastodon.example/users/alice#main-key",
        "owner": "https://mastodon.example/users/alice",
        "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n...",
    },
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any attempt to resolve or connect, and record calls to pyld's default loader."""
    calls: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    def default_loader(url: str, options: object = None) -> None:
        calls.append(url)
        raise AssertionError(f"pyld's default loader was asked for {url}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(pyld_jsonld, "_default_document_loader", default_loader)
    return calls


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("https://www.w3.org/ns/activitystreams", "activitystreams.json"),
        ("http://www.w3.org/ns/activitystreams", "activitystreams.json"),
        ("https://www.w3.org/ns/activitystreams/", "activitystreams.json"),
        ("https://w3id.org/security/v1", "security-v1.json"),
        ("http://w3id.org/security/v1/", "security-v1.json"),
        ("https://w3id.org/identity/v1", "identity-v1.json"),
        ("https://w3id.org/security/multikey/v1", "security-multikey-v1.json"),
        ("https://w3id.org/security/data-integrity/v1", "security-data-integrity-v1.json"),
    ],
)
def test_bundled_context(url: str, file: str) -> None:
    document = jsonld.bundled_context(url)
    expected = json.loads((REPO / "activitypub" / "contexts" / file).read_text())
    assert document == expected
    assert "@context" in expected
    loaded = jsonld.document_loader(url)
    assert loaded["document"] == expected
    assert loaded["documentUrl"] == url


def test_bundled_context__is_a_copy() -> None:
    document = jsonld.bundled_context(AS)
    assert document is not None
    document["@context"] = "tampered"
    assert jsonld.bundled_context(AS) != document


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/context.jsonld",
        "https://www.w3.org/ns/activitystreams.jsonld",
        "https://w3id.org/security/v2",
        "ftp://www.w3.org/ns/activitystreams",
        "",
    ],
)
def test_document_loader__refuses_everything_else(url: str) -> None:
    assert jsonld.bundled_context(url) is None
    with pytest.raises(pyld_jsonld.JsonLdError) as caught:
        jsonld.document_loader(url, {})
    assert caught.value.code == "loading document failed"


def test_expand__actor_with_bundled_and_inline_contexts() -> None:
    before = json.dumps(ACTOR, sort_keys=True)
    [expanded] = jsonld.expand(ACTOR)
    assert expanded["@id"] == ACTOR["id"]
    assert expanded["@type"] == [AS + "#Person"]
    assert expanded["http://joinmastodon.org/ns#discoverable"] == [{"@value": True}]
    keys = expanded["https://w3id.org/security#publicKey"]
    assert isinstance(keys, list)
    assert keys[0]["https://w3id.org/security#owner"] == [{"@id": ACTOR["id"]}]
    assert json.dumps(ACTOR, sort_keys=True) == before  # the input is left alone


def test_compact__round_trip() -> None:
    compacted = jsonld.compact(
        {"@context": AS, "type": "Follow", "actor": "https://a.example/u"}, [AS, SEC]
    )
    assert compacted["@context"] == [AS, SEC]
    assert compacted["type"] == "Follow"
    assert compacted["actor"] == "https://a.example/u"


@pytest.mark.parametrize(
    "document",
    [
        {"@context": "https://evil.example/context.jsonld", "type": "Note"},
        {"@context": [AS, "https://evil.example/context.jsonld"], "type": "Note"},
        {"@context": {"@import": "https://evil.example/context.jsonld"}, "type": "Note"},
        {"@context": 42, "type": "Note"},
    ],
)
def test_expand__unknown_or_invalid_context_never_reaches_the_network(
    document: dict[str, object], no_network: list[str]
) -> None:
    with pytest.raises(InvalidDocument, match="JSON-LD expansion failed"):
        jsonld.expand(document)
    with pytest.raises(InvalidDocument, match="JSON-LD compaction failed"):
        jsonld.compact(document, AS)
    assert no_network == []


def test_expand__ignores_contexts_other_callers_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given pyld's process-wide cache holding a context that some other caller fetched
    evil = "https://evil.example/context.jsonld"
    monkeypatch.setattr(pyld_jsonld, "_resolved_context_cache", pyld_jsonld.LRUCache(maxsize=10))

    def permissive(url: str, options: object = None) -> dict[str, object]:
        document = {"@context": {"x": AS + "#x"}}
        return {"contextUrl": None, "documentUrl": url, "document": document, "tag": "static"}

    pyld_jsonld.expand({"@context": evil, "x": 1}, {"documentLoader": permissive})
    # When we expand a document naming it, Then our loader is asked, and refuses
    with pytest.raises(InvalidDocument):
        jsonld.expand({"@context": evil, "x": 1})


def test_import__does_no_work() -> None:
    script = (
        "import sys\n"
        "import activitypub.jsonld, activitypub.httpsig, activitypub.auth\n"
        "print(sorted(m for m in ('pyld', 'httpsig', 'pkg_resources') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("value", "as_list", "first"),
    [
        (None, [], None),
        ("https://a.example/u", ["https://a.example/u"], "https://a.example/u"),
        (["a", "b"], ["a", "b"], "a"),
        ([], [], None),
        ({"id": "x"}, [{"id": "x"}], {"id": "x"}),
        (0, [0], 0),
        (False, [False], False),
    ],
)
def test_as_list_and_first(value: object, as_list: list[object], first: object) -> None:
    assert jsonld.as_list(value) == as_list
    assert jsonld.first(value) == first


def test_as_list__returns_a_new_list() -> None:
    original = ["a"]
    jsonld.as_list(original).append("b")
    assert original == ["a"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.example/u", "https://a.example/u"),
        ({"id": "https://a.example/u", "type": "Person"}, "https://a.example/u"),
        ({"type": "Person"}, None),
        ({"id": 42}, None),
        ({"@id": "https://a.example/u"}, None),  # plain JSON AS2 uses "id"
        (["https://a.example/u"], None),
        (None, None),
        (42, None),
    ],
)
def test_get_id(value: object, expected: str | None) -> None:
    assert jsonld.get_id(value) == expected


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"type": "Person"}, ["Person"]),
        ({"type": ["Person", "http://schema.org#Thing"]}, ["Person", "http://schema.org#Thing"]),
        ({"type": ["Person", 42, None]}, ["Person"]),
        ({"type": None}, []),
        ({}, []),
        ("Person", []),
        (None, []),
    ],
)
def test_get_types(doc: object, expected: list[str]) -> None:
    assert jsonld.get_types(doc) == expected


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"@context": AS}, True),
        ({"@context": [AS, SEC, {"toot": "http://joinmastodon.org/ns#"}]}, True),
        ({"@context": [SEC, AS]}, True),
        ({"@context": AS + "/"}, False),  # Mastodon compares exactly
        ({"@context": "http://www.w3.org/ns/activitystreams"}, False),
        ({"@context": {"@vocab": AS}}, False),
        ({"@context": [[AS]]}, False),
        ({}, False),
        ([AS], False),
        (None, False),
    ],
)
def test_has_as_context(doc: object, expected: bool) -> None:
    assert jsonld.has_as_context(doc) is expected
