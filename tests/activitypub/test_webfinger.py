"""WebFinger: resource parsing (hostile hosts), JRD/XRD building, resolving against a peer."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import trustme

from activitypub import webfinger
from activitypub.addresses import AddressPolicy
from activitypub.errors import FetchError, InvalidDocument
from activitypub.safehttp import FetchPolicy, make_client
from activitypub.vocab import ACTIVITY_JSON, LD_JSON_AS
from activitypub.webfinger import Acct, Invalid, parse_resource
from tests.activitypub.peers import (
    FakeResolver,
    Peer,
    Received,
    Reply,
    json_reply,
    serve,
    tls_client_context,
    tls_server_context as tls_context,
)


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("acct:alice@mastodon.social", Acct("alice", "mastodon.social")),
        ("alice@mastodon.social", Acct("alice", "mastodon.social")),
        ("@alice@mastodon.social", Acct("alice", "mastodon.social")),
        ("ACCT:Alice@Mastodon.Social", Acct("Alice", "mastodon.social")),  # user case kept
        ("  acct:jack@dir.example \n", Acct("jack", "dir.example")),
        ("jack_doe.2@dir.example", Acct("jack_doe.2", "dir.example")),
        ("alice@bücher.example", Acct("alice", "xn--bcher-kva.example")),  # IDN host
        ("alice@BÜCHER.example", Acct("alice", "xn--bcher-kva.example")),
        ("alice@localhost:3000", Acct("alice", "localhost:3000")),  # Mastodon dev domains
        ("alice@host:08080", Acct("alice", "host:8080")),
        ("user@host/x", None),  # CVE-2023-42451: '/' must not vanish into the host
        ("user@mastodon.so/cial", None),
        ("user@evil@host", None),  # user information in the host
        ("user@evil.example@good.example", None),
        ("user@host?x=1", None),
        ("user@host#frag", None),
        ("user@host:0", None),
        ("user@host:99999", None),
        ("user@host:", None),
        ("user@[::1]", None),
        ("user@host..example", None),
        ("user@-host.example", None),
        ("user@host example", None),
        ("user@", None),
        ("@host.example", None),
        ("host.example", None),
        ("acct:", None),
        ("", None),
        ("us er@host.example", None),
        ("user\u200b@host.example", None),
        ("https://dir.example/users/jack", None),
        ("a" * 65 + "@host.example", None),
    ],
)
def test_parse_resource(resource: str, expected: Acct | None) -> None:
    result = parse_resource(resource)
    if expected is None:
        assert isinstance(result, Invalid)
        assert result.code == "invalid_resource"
    else:
        assert result == expected


def test_acct_uri_and_key() -> None:
    acct = Acct("Alice", "mastodon.social")
    assert acct.uri == "acct:Alice@mastodon.social"
    assert acct.key == "alice@mastodon.social"


def test_build_jrd__exactly_one_self_link() -> None:
    jrd = webfinger.build_jrd(
        subject="acct:jack@dir.example",
        self_href="https://dir.example/users/1",
        profile_url="https://dir.example/@jack",
        aliases=["https://dir.example/@jack", "https://dir.example/users/1"],
    )
    assert jrd == {
        "subject": "acct:jack@dir.example",
        "aliases": ["https://dir.example/@jack", "https://dir.example/users/1"],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": "https://dir.example/users/1"},
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": "https://dir.example/@jack",
            },
        ],
    }
    assert webfinger.read_jrd(jrd).self_href == "https://dir.example/users/1"


def test_build_jrd__without_profile_page() -> None:
    jrd = webfinger.build_jrd(
        subject="acct:dir.example@dir.example",
        self_href="https://dir.example/actor",
        profile_url=None,
        aliases=(),
    )
    assert [link["rel"] for link in jrd["links"]] == ["self"]
    assert jrd["aliases"] == []


def test_host_meta_xml__has_xrd_namespace_and_lrdd_template() -> None:
    text = webfinger.host_meta_xml("https://dir.example/")
    root = ET.fromstring(text)  # noqa: S314 (our own output)
    assert root.tag == "{http://docs.oasis-open.org/ns/xri/xrd-1.0}XRD"
    links = root.findall("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert [(link.get("rel"), link.get("template")) for link in links] == [
        ("lrdd", "https://dir.example/.well-known/webfinger?resource={uri}")
    ]


def test_host_meta_xml__escapes_the_base_url() -> None:
    root = ET.fromstring(webfinger.host_meta_xml('https://dir.example/"<&'))  # noqa: S314
    link = root.find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link is not None
    assert link.get("template") == 'https://dir.example/"<&/.well-known/webfinger?resource={uri}'


def test_host_meta_json() -> None:
    assert webfinger.host_meta_json("https://dir.example") == {
        "links": [
            {"rel": "lrdd", "template": "https://dir.example/.well-known/webfinger?resource={uri}"}
        ]
    }


def mastodon_jrd(user: str, host: str) -> dict[str, Any]:
    """A JRD shaped like Mastodon's WebfingerSerializer output."""
    return {
        "subject": f"acct:{user}@{host}",
        "aliases": [f"https://{host}/@{user}", f"https://{host}/users/{user}"],
        "links": [
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": f"https://{host}/@{user}",
            },
            {"rel": "self", "type": ACTIVITY_JSON, "href": f"https://{host}/users/{user}"},
            {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": "https://x/{uri}"},
        ],
    }


@pytest.fixture
async def peer(ca: trustme.CA) -> AsyncIterator[Peer]:
    """An https WebFinger server for peer.test: /.well-known/webfinger answers per user."""

    def handle(request: Received) -> Reply:
        user = request.target.partition("resource=acct:")[2].partition("@")[0]
        answers: dict[str, Reply] = {
            "gone": Reply(410),
            "plain": Reply(200, [("Content-Type", "application/json")], jrd_for("alice")),
            "html": Reply(200, [("Content-Type", "text/html")], b"<html></html>"),
        }
        if user in answers:
            return answers[user]
        if user in JRDS:
            return Reply(200, [("Content-Type", "application/jrd+json")], jrd_for(user))
        return Reply(404)

    async with serve(handle, tls=tls_context(ca, "peer.test")) as server:
        yield server


def jrd_for(user: str) -> bytes:
    return orjson.dumps(JRDS.get(user) or mastodon_jrd(user, "peer.test"))


JRDS: dict[str, dict[str, Any]] = {
    "alice": mastodon_jrd("alice", "peer.test"),
    "first-not-ap": {
        "subject": "acct:first-not-ap@peer.test",
        "links": [
            {"rel": "self", "type": "text/html", "href": "https://peer.test/html"},
            {"rel": "self", "type": LD_JSON_AS, "href": "https://peer.test/actor"},
            {"rel": "self", "type": ACTIVITY_JSON, "href": "https://peer.test/second"},
        ],
    },
    "no-subject": {"links": mastodon_jrd("x", "peer.test")["links"]},
    "bad-subject": {**mastodon_jrd("x", "peer.test"), "subject": "acct:a@b@peer.test"},
    "no-self": {"subject": "acct:no-self@peer.test", "links": [{"rel": "self"}]},
    "self-not-ap": {
        "subject": "acct:self-not-ap@peer.test",
        "links": [{"rel": "self", "type": "application/json", "href": "https://peer.test/a"}],
    },
    "self-no-href": {
        "subject": "acct:self-no-href@peer.test",
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": "javascript:alert(1)"},
            {"rel": "self", "type": ACTIVITY_JSON, "href": "https://peer.test/later"},
        ],
    },
    "links-not-list": {"subject": "acct:links-not-list@peer.test", "links": {"rel": "self"}},
    "renamed": mastodon_jrd("Renamed", "peer.test"),
}


async def resolve(peer: Peer, ca: trustme.CA, user: str) -> webfinger.WebFingerResult:
    """Resolve user@peer.test:<port> through a resolver that maps peer.test to the peer."""
    policy = FetchPolicy(
        addresses=AddressPolicy.allowing("127.0.0.2/32"), allowed_ports=frozenset({peer.port})
    )
    resolver = FakeResolver({"peer.test": [["127.0.0.2"]]})
    acct = Acct(user, f"peer.test:{peer.port}")
    async with make_client(policy, resolver=resolver, verify=tls_client_context(ca)) as client:
        return await webfinger.resolve(acct, client=client, policy=policy)


async def test_resolve__mastodon_jrd(peer: Peer, ca: trustme.CA) -> None:
    result = await resolve(peer, ca, "alice")
    assert result == webfinger.WebFingerResult(
        Acct("alice", "peer.test"), "https://peer.test/users/alice"
    )
    request = peer.received[0]
    assert request.target == "/.well-known/webfinger?resource=acct:alice@peer.test:" + str(
        peer.port
    )
    assert request.headers["accept"] == "application/jrd+json, application/json"
    assert "signature" not in request.headers


async def test_resolve__first_activitypub_self_link_wins(peer: Peer, ca: trustme.CA) -> None:
    result = await resolve(peer, ca, "first-not-ap")
    assert result.self_href == "https://peer.test/actor"


async def test_resolve__subject_casing_returned_for_the_confirm_dance(
    peer: Peer, ca: trustme.CA
) -> None:
    result = await resolve(peer, ca, "renamed")
    assert result.subject == Acct("Renamed", "peer.test")


async def test_resolve__content_type_of_jrd_not_checked(peer: Peer, ca: trustme.CA) -> None:
    result = await resolve(peer, ca, "plain")
    assert result.subject == Acct("alice", "peer.test")


@pytest.mark.parametrize(
    "user",
    ["no-subject", "bad-subject", "no-self", "self-not-ap", "self-no-href", "links-not-list"],
)
async def test_resolve__invalid_jrd(peer: Peer, ca: trustme.CA, user: str) -> None:
    with pytest.raises(InvalidDocument):
        await resolve(peer, ca, user)


@pytest.mark.parametrize(
    ("user", "reason"), [("gone", "gone"), ("nobody", "not_found"), ("html", "invalid_json")]
)
async def test_resolve__fetch_errors(peer: Peer, ca: trustme.CA, user: str, reason: str) -> None:
    with pytest.raises(FetchError) as caught:
        await resolve(peer, ca, user)
    assert caught.value.reason == reason


async def test_resolve__host_is_checked_like_any_fetch() -> None:
    # Given the production policy and a handle on a loopback host
    policy = FetchPolicy()
    async with make_client(policy) as client:
        # When it is resolved, then the connection is refused
        with pytest.raises(FetchError) as caught:
            await webfinger.resolve(Acct("root", "127.0.0.1"), client=client, policy=policy)
    assert caught.value.reason == "forbidden_address"


@pytest.mark.parametrize("allow_http", [True, False])
async def test_resolve__http_only_peer_needs_the_test_setting(allow_http: bool) -> None:
    # Given a WebFinger server that speaks plain http only
    def reply(_request: object) -> Reply:
        return json_reply(orjson.dumps(mastodon_jrd("alice", "peer.test")), "application/jrd+json")

    async with serve(reply) as plain:
        policy = FetchPolicy(
            addresses=AddressPolicy.allowing("127.0.0.2/32"),
            allow_http=allow_http,
            allowed_ports=frozenset({plain.port}),
            read_timeout=0.5,
            total_timeout=1.0,
        )
        acct = Acct("alice", f"127.0.0.2:{plain.port}")
        async with make_client(policy) as client:
            if allow_http:
                # Then with http allowed (local tests only), https fails and http answers
                result = await webfinger.resolve(acct, client=client, policy=policy)
                assert result.self_href == "https://peer.test/users/alice"
            else:
                # And by default WebFinger stays https-only, as Mastodon's
                with pytest.raises(FetchError):
                    await webfinger.resolve(acct, client=client, policy=policy)
