"""The safe client against real loopback servers: addresses, redirects, sizes, time, types, ids.

Fake peers listen on 127.0.0.2 and 127.0.0.3 and are allowed by a test AddressPolicy; a listener
on 127.0.0.1 plays the private service that must never see a connection.
"""

from __future__ import annotations

import dataclasses
import gzip
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Generator
from typing import Any

import httpx
import orjson
import pytest
import trustme

from activitypub import safehttp
from activitypub.addresses import AddressPolicy
from activitypub.errors import FetchError
from activitypub.safehttp import FetchPolicy, fetch_json, fetch_text, make_client
from activitypub.vocab import ACTIVITY_JSON, LD_JSON_AS
from tests.activitypub.peers import (
    FakeResolver,
    Handler,
    Peer,
    Received,
    Reply,
    json_reply,
    serve,
    tls_client_context,
    tls_server_context,
)

LOOPBACK = AddressPolicy.allowing("127.0.0.0/8")
ONLY_127_0_0_2 = AddressPolicy.allowing("127.0.0.2/32")


def policy_for(*peers: Peer, addresses: AddressPolicy = LOOPBACK, **changes: Any) -> FetchPolicy:
    """A test policy: loopback allowed, http allowed, the peers' ports, a short deadline."""
    base = FetchPolicy(
        addresses=addresses,
        allow_http=True,
        allowed_ports=frozenset(peer.port for peer in peers),
        total_timeout=2.0,
    )
    return dataclasses.replace(base, **changes)


def own_url(request: Received, scheme: str = "http") -> str:
    return f"{scheme}://{request.headers['host']}{request.target}"


def actor_handler(content_type: str = ACTIVITY_JSON, scheme: str = "http") -> Handler:
    """Serve an actor whose id is the URL it was fetched at."""

    def handle(request: Received) -> Reply:
        body = orjson.dumps({"id": own_url(request, scheme), "type": "Person"})
        return json_reply(body, content_type)

    return handle


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, [("Location", location)])


async def refused_reason(client: httpx.AsyncClient, url: str, policy: FetchPolicy) -> str:
    with pytest.raises(FetchError) as caught:
        await fetch_json(client, url, policy=policy)
    return caught.value.reason


class SecretAuth(httpx.Auth):
    """Stands in for the HTTP-signature auth: adds credentials to every request it signs."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer secret"
        request.headers["Signature"] = 'keyId="https://dir.test/actor#main-key"'
        yield request


@pytest.fixture
async def private() -> AsyncIterator[Peer]:
    """A service on 127.0.0.1 that must never be reached."""
    async with serve(actor_handler(), host="127.0.0.1") as peer:
        yield peer


# --- success ---------------------------------------------------------------------------------


async def test_fetch_json__actor() -> None:
    async with serve(actor_handler()) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            fetched = await fetch_json(client, peer.url("/users/alice"), policy=policy)
    assert fetched.url == peer.url("/users/alice")
    assert fetched.status == 200
    assert fetched.document["type"] == "Person"
    assert fetched.content_type == ACTIVITY_JSON
    sent = peer.received[0].headers
    assert sent["accept"] == f"{ACTIVITY_JSON}, {LD_JSON_AS}"
    assert sent["user-agent"] == "Hirondelle"
    assert "authorization" not in sent


@pytest.mark.parametrize(
    "content_type",
    [
        ACTIVITY_JSON,
        "application/activity+json; charset=utf-8",
        LD_JSON_AS,
        'application/ld+json;profile="https://www.w3.org/ns/activitystreams"',
    ],
)
async def test_fetch_json__activitypub_content_types_accepted(content_type: str) -> None:
    async with serve(actor_handler(content_type)) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            fetched = await fetch_json(client, peer.url("/a"), policy=policy)
    assert fetched.content_type == content_type


async def test_fetch_json__gzip_body_is_decoded() -> None:
    def handle(request: Received) -> Reply:
        body = gzip.compress(orjson.dumps({"id": own_url(request)}))
        return Reply(200, [("Content-Type", ACTIVITY_JSON), ("Content-Encoding", "gzip")], body)

    async with serve(handle) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            fetched = await fetch_json(client, peer.url("/a"), policy=policy)
    assert fetched.document == {"id": peer.url("/a")}


async def test_fetch_json__client_keeps_no_cookies() -> None:
    def handle(request: Received) -> Reply:
        reply = actor_handler()(request)
        return dataclasses.replace(reply, headers=[*reply.headers, ("Set-Cookie", "s=1")])

    async with serve(handle) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            await fetch_json(client, peer.url("/a"), policy=policy)
            await fetch_json(client, peer.url("/a"), policy=policy)
            assert len(client.cookies.jar) == 0
    assert "cookie" not in peer.received[1].headers


# --- content type, JSON and id rules ---------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/html", "application/ld+json", "text/plain", ""],
)
async def test_fetch_json__other_content_types_refused(content_type: str) -> None:
    # CVE-2024-25623: an uploaded JSON file served as application/json is not an actor.
    async with serve(actor_handler(content_type)) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            assert await refused_reason(client, peer.url("/a"), policy) == "not_activitypub"


async def test_fetch_json__content_type_not_required() -> None:
    async with serve(actor_handler("application/json")) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            url = peer.url("/a")
            fetched = await fetch_json(client, url, policy=policy, require_activitypub=False)
    assert fetched.document["id"] == url


@pytest.mark.parametrize(
    "document",
    [
        {"id": "http://alice.test/users/alice", "type": "Person"},  # CVE-2024-23832
        {"type": "Person"},
        {"id": None},
    ],
)
async def test_fetch_json__id_mismatch(document: dict[str, Any]) -> None:
    async with serve(lambda _request: json_reply(orjson.dumps(document))) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            assert await refused_reason(client, peer.url("/a"), policy) == "id_mismatch"
            url = peer.url("/a")
            fetched = await fetch_json(client, url, policy=policy, require_id_match=False)
    assert fetched.document == document


async def test_fetch_json__id_compared_as_exact_string() -> None:
    # Given a peer that reports its id with a trailing slash
    def handle(request: Received) -> Reply:
        return json_reply(orjson.dumps({"id": own_url(request) + "/"}))

    async with serve(handle) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            # Then the two spellings are different ids
            assert await refused_reason(client, peer.url("/a"), policy) == "id_mismatch"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"a string"',
        b'{"id": NaN}',
        b"[" * 100_000,
        b'{"a":' * 65 + b"1" + b"}" * 65,  # 66 levels of objects
        b'{"a":' + b"[" * 64 + b"]" * 64 + b"}",  # 65 levels
        b"\xff\xfe{}",
    ],
)
async def test_fetch_json__invalid_json(body: bytes) -> None:
    async with serve(lambda _request: json_reply(body)) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            assert await refused_reason(client, peer.url("/a"), policy) == "invalid_json"


def test_parse_json_object__depth_limit_is_inclusive() -> None:
    deepest = b'{"a":' * 63 + b"[]" + b"}" * 63  # 64 levels
    assert safehttp.parse_json_object(deepest)
    with pytest.raises(FetchError):
        safehttp.parse_json_object(b'{"a":' * 64 + b"[]" + b"}" * 64)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (404, "not_found"),
        (410, "gone"),
        (500, "http_status"),
        (401, "http_status"),
        (204, "http_status"),
    ],
)
async def test_fetch_json__status_reasons(status: int, reason: str) -> None:
    async with serve(lambda _request: Reply(status)) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            assert await refused_reason(client, peer.url("/a"), policy) == reason


# --- size and time ---------------------------------------------------------------------------


def big_document(size: int) -> bytes:
    return b'{"id": "x", "padding": "' + b"a" * size + b'"}'


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_fetch_json__too_large(chunked: bool) -> None:
    reply = Reply(200, [("Content-Type", ACTIVITY_JSON)], big_document(2_000_000), chunked=chunked)
    async with serve(lambda _request: reply) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            assert await refused_reason(client, peer.url("/a"), policy) == "too_large"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_fetch_json__cap_is_inclusive(chunked: bool) -> None:
    def handle(request: Received) -> Reply:
        body = orjson.dumps({"id": own_url(request), "padding": "a" * 1000})
        return Reply(200, [("Content-Type", ACTIVITY_JSON)], body, chunked=chunked)

    async with serve(handle) as peer:
        size = len(handle(Received("GET", "/a", {"host": f"127.0.0.2:{peer.port}"}, b"", "")).body)
        exact, short = policy_for(peer, max_bytes=size), policy_for(peer, max_bytes=size - 1)
        async with make_client(exact) as client:
            assert await fetch_json(client, peer.url("/a"), policy=exact)
            assert await refused_reason(client, peer.url("/a"), short) == "too_large"


def gzip_bomb(inflated_size: int) -> bytes:
    """A gzip stream of a JSON document that inflates to `inflated_size` bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b'{"id": "x", "padding": "')]
    block = b"a" * 1_000_000
    parts += [packer.compress(block) for _ in range(inflated_size // len(block))]
    parts += [packer.compress(b'"}'), packer.flush()]
    return b"".join(parts)


async def test_fetch_json__gzip_bomb_stopped_with_bounded_memory() -> None:
    # Given a 50 MB document compressed to about 50 KB
    bomb = gzip_bomb(50_000_000)
    assert len(bomb) < 100_000
    headers = [("Content-Type", ACTIVITY_JSON), ("Content-Encoding", "gzip")]
    async with serve(lambda _request: Reply(200, headers, bomb)) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            # When it is fetched under memory tracing
            tracemalloc.start()
            try:
                reason = await refused_reason(client, peer.url("/a"), policy)
                _current, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    # Then it is refused and never inflated much past the 1 MB cap
    assert reason == "too_large"
    assert peak < 8_000_000


async def test_fetch_json__unrequested_encoding_refused() -> None:
    headers = [("Content-Type", ACTIVITY_JSON), ("Content-Encoding", "br")]
    async with serve(lambda _request: Reply(200, headers, b"\x0b\x02\x80{}\x03")) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            assert await refused_reason(client, peer.url("/a"), policy) == "bad_encoding"
    assert peer.received[0].headers["accept-encoding"] == "gzip, deflate"


async def test_fetch_json__slow_drip_hits_total_deadline() -> None:
    # Given a peer that sends one byte every 50 ms (each read is fast: no read timeout fires)
    reply = Reply(200, [("Content-Type", ACTIVITY_JSON)], big_document(10_000), drip=0.05)
    async with serve(lambda _request: reply) as peer:
        policy = policy_for(peer, total_timeout=0.5)
        async with make_client(policy) as client:
            started = time.monotonic()
            reason = await refused_reason(client, peer.url("/a"), policy)
    # Then the whole fetch ends at the total deadline
    assert reason == "timeout"
    assert time.monotonic() - started < 1.5


async def test_fetch_json__silent_peer_hits_total_deadline() -> None:
    async with serve(lambda _request: Reply(200, delay=30)) as peer:
        policy = policy_for(peer, total_timeout=0.3)
        async with make_client(policy) as client:
            assert await refused_reason(client, peer.url("/a"), policy) == "timeout"


async def test_fetch_json__connection_refused() -> None:
    async with serve(actor_handler()) as peer:
        pass  # nothing listens on that port once the block ends
    policy = policy_for(peer)
    async with make_client(policy) as client:
        assert await refused_reason(client, peer.url("/a"), policy) == "connect_failed"


# --- addresses -------------------------------------------------------------------------------


async def test_default_policy_refuses_loopback(private: Peer) -> None:
    # Given the production address policy (only the port is widened to reach the listener)
    policy = FetchPolicy(allow_http=True, allowed_ports=frozenset({private.port}))
    async with make_client(policy) as client:
        # When a loopback URL is fetched
        reason = await refused_reason(client, private.url("/a"), policy)
    # Then it is refused before any connection
    assert reason == "forbidden_address"
    assert private.connections == 0


async def test_default_fetch_policy_refuses_loopback_https() -> None:
    policy = FetchPolicy()
    async with make_client(policy) as client:
        assert await refused_reason(client, "https://127.0.0.1/a", policy) == "forbidden_address"
        assert await refused_reason(client, "https://[::1]/a", policy) == "forbidden_address"


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0x7f.1", "0177.0.0.1", "127.1", "127.0.0.1", "[::ffff:127.0.0.1]", "localhost"],
)
async def test_numeric_host_tricks_refused(private: Peer, host: str) -> None:
    policy = FetchPolicy(allow_http=True, allowed_ports=frozenset({private.port}))
    async with make_client(policy) as client:
        reason = await refused_reason(client, private.url("/a", host=host), policy)
    # httpx itself rejects 0177.0.0.1 (leading zeros) as an invalid URL; the rest resolve
    # to 127.0.0.1 through getaddrinfo and are refused at connect.
    assert reason in {"forbidden_address", "invalid_url"}
    assert private.connections == 0


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "0177.0.0.1", "127.1"])
async def test_guarded_backend_resolves_numeric_hosts_itself(private: Peer, host: str) -> None:
    policy = FetchPolicy(allow_http=True, allowed_ports=frozenset({private.port}))
    backend = safehttp.GuardedBackend(policy)
    with pytest.raises(FetchError) as caught:
        await backend.connect_tcp(host, private.port)
    assert caught.value.reason == "forbidden_address"
    assert private.connections == 0


async def test_resolver_with_private_and_public_connects_to_public_only() -> None:
    # Given "peer.test" resolving to [127.0.0.1 (private here), 127.0.0.2 (allowed)],
    # each address with a listener on the same port
    async with (
        serve(actor_handler(), host="127.0.0.2") as public,
        serve(actor_handler(), host="127.0.0.1", port=public.port) as private,
    ):
        resolver = FakeResolver({"peer.test": [["127.0.0.1", "127.0.0.2"]]})
        policy = policy_for(public, addresses=ONLY_127_0_0_2)
        async with make_client(policy, resolver=resolver) as client:
            # When it is fetched by name
            url = public.url("/a", host="peer.test")
            fetched = await fetch_json(client, url, policy=policy)
    # Then only the allowed address was dialled, with the name kept in the Host header
    assert fetched.document["id"] == url
    assert private.connections == 0
    assert [r.local_ip for r in public.received] == ["127.0.0.2"]
    assert public.received[0].headers["host"] == f"peer.test:{public.port}"


async def test_dns_rebinding_rechecked_on_each_connection() -> None:
    # Given a name that resolves to an allowed address, then to a forbidden one
    async with (
        serve(actor_handler(), host="127.0.0.2") as public,
        serve(actor_handler(), host="127.0.0.1", port=public.port) as private,
    ):
        resolver = FakeResolver({"peer.test": [["127.0.0.2"], ["127.0.0.1"]]})
        policy = policy_for(public, addresses=ONLY_127_0_0_2)
        async with make_client(policy, resolver=resolver) as client:
            url = public.url("/a", host="peer.test")
            # When it is fetched twice (the peer closes each connection)
            await fetch_json(client, url, policy=policy)
            reason = await refused_reason(client, url, policy)
    # Then the second connection was checked again and refused
    assert reason == "forbidden_address"
    assert resolver.calls == ["peer.test", "peer.test"]
    assert private.connections == 0
    assert public.connections == 1


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (["10.0.0.1", "169.254.169.254", "::1"], "forbidden_address"),
        (["64:ff9b::7f00:1", "2002:7f00:1::"], "forbidden_address"),
        ([], "forbidden_address"),
    ],
)
async def test_resolver_answers_all_refused(answer: list[str], reason: str) -> None:
    resolver = FakeResolver({"peer.test": [answer]})
    policy = FetchPolicy(addresses=LOOPBACK)
    async with make_client(policy, resolver=resolver) as client:
        assert await refused_reason(client, "https://peer.test/a", policy) == reason


async def test_unresolvable_name() -> None:
    resolver = FakeResolver({})
    policy = FetchPolicy()
    async with make_client(policy, resolver=resolver) as client:
        assert await refused_reason(client, "https://nowhere.test/a", policy) == "resolve_failed"


async def test_environment_proxy_is_ignored(private: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given proxy variables pointing at a listener (a proxy would bypass the address check)
    async with serve(actor_handler()) as peer:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, private.url())
        policy = policy_for(peer)
        async with make_client(policy) as client:
            await fetch_json(client, peer.url("/a"), policy=policy)
    # Then the request went straight to the peer
    assert private.connections == 0
    assert len(peer.received) == 1


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://peer.test/a", "scheme_not_allowed"),
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("gopher://peer.test/", "scheme_not_allowed"),
        ("http://peer.test/a", "scheme_not_allowed"),
        ("https://peer.test:8443/a", "port_not_allowed"),
        ("https://peer.test:22/a", "port_not_allowed"),
        ("https://user:pass@peer.test/a", "invalid_url"),
        ("https:///a", "invalid_url"),
        ("https://peer test/a", "invalid_url"),
    ],
)
async def test_url_rules(url: str, reason: str) -> None:
    resolver = FakeResolver({})
    policy = FetchPolicy()
    async with make_client(policy, resolver=resolver) as client:
        assert await refused_reason(client, url, policy) == reason
    assert resolver.calls == []


def test_fetch_policy_default_ports() -> None:
    assert FetchPolicy().ports == {443}
    assert FetchPolicy(allow_http=True).ports == {80, 443}
    assert FetchPolicy(allowed_ports=frozenset({8443})).ports == {8443}
    assert FetchPolicy().schemes == {"https"}


# --- redirects -------------------------------------------------------------------------------


async def test_redirect_to_forbidden_address_refused(private: Peer) -> None:
    # Given an allowed peer that redirects to the private listener
    async with serve(lambda _request: redirect(private.url("/latest/meta-data/"))) as peer:
        policy = policy_for(peer, private, addresses=ONLY_127_0_0_2)
        async with make_client(policy) as client:
            # When it is fetched
            reason = await refused_reason(client, peer.url("/a"), policy)
    # Then the hop is refused at connect and nothing reaches the private listener
    assert reason == "forbidden_address"
    assert private.connections == 0


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("gopher://127.0.0.2:70/", "scheme_not_allowed"),
        ("http://127.0.0.2:1/", "port_not_allowed"),
        ("http://[::1", "network_error"),  # httpx itself refuses the Location header
    ],
)
async def test_redirect_hop_rules(location: str, reason: str) -> None:
    async with serve(lambda _request: redirect(location)) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            assert await refused_reason(client, peer.url("/a"), policy) == reason


async def test_redirect_loop_stops() -> None:
    async with serve(lambda request: redirect(request.target + "x")) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            assert await refused_reason(client, peer.url("/a"), policy) == "too_many_redirects"
    assert [r.target for r in peer.received] == ["/a", "/ax", "/axx", "/axxx"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_followed_id_must_be_requested_url(status: int) -> None:
    # Given /start redirecting to /final, which serves the document whose id is /start
    def handle(request: Received) -> Reply:
        if request.target == "/start":
            return redirect("/final", status)
        start = own_url(request).replace("/final", "/start")
        return json_reply(orjson.dumps({"id": start}))

    async with serve(handle) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            fetched = await fetch_json(client, peer.url("/start"), policy=policy)
    # Then the document is accepted and the final URL reported
    assert fetched.url == peer.url("/final")
    assert [r.method for r in peer.received] == ["GET", "GET"]


async def test_redirect_to_document_with_its_own_id_is_a_mismatch() -> None:
    # Given alice's host redirecting to mallory's, whose document claims mallory's URL
    async with (
        serve(actor_handler(), host="127.0.0.3") as mallory,
        serve(lambda _request: redirect(mallory.url("/actor"))) as alice,
    ):
        policy = policy_for(alice, mallory)
        async with make_client(policy) as client:
            # When alice's URL is fetched
            reason = await refused_reason(client, alice.url("/users/alice"), policy)
    # Then the id (on another host) is not the URL asked for
    assert reason == "id_mismatch"
    assert len(mallory.received) == 1


async def test_redirect_drops_credentials_across_origins() -> None:
    # Given a signed fetch that is redirected within its origin, then to another origin
    async with serve(actor_handler(), host="127.0.0.3") as other:

        def handle(request: Received) -> Reply:
            if request.target == "/a":
                return redirect("/b")
            return redirect(other.url("/c"))

        async with serve(handle) as origin:
            policy = policy_for(origin, other)
            async with make_client(policy) as client:
                url = origin.url("/a")
                await fetch_json(
                    client, url, policy=policy, auth=SecretAuth(), require_id_match=False
                )
    # Then both requests to the origin were signed and the other origin saw no credentials
    for request in origin.received:
        assert request.headers["authorization"] == "Bearer secret"
        assert "signature" in request.headers
    assert "authorization" not in other.received[0].headers
    assert "signature" not in other.received[0].headers


async def test_redirect_within_deadline_budget() -> None:
    # Given a redirect to a peer that never answers
    async with (
        serve(lambda _request: Reply(200, delay=30), host="127.0.0.3") as slow,
        serve(lambda _request: redirect(slow.url("/a"))) as peer,
    ):
        policy = policy_for(peer, slow, total_timeout=0.3)
        async with make_client(policy) as client:
            started = time.monotonic()
            reason = await refused_reason(client, peer.url("/a"), policy)
    # Then the deadline covers both hops
    assert reason == "timeout"
    assert time.monotonic() - started < 1.0


# --- TLS -------------------------------------------------------------------------------------


async def test_tls_uses_the_name_while_dialling_the_checked_address(ca: trustme.CA) -> None:
    # Given an https peer with a certificate for peer.test, reached through a fake resolver
    tls = tls_server_context(ca, "peer.test")
    async with serve(actor_handler(scheme="https"), tls=tls) as peer:
        resolver = FakeResolver({"peer.test": [["127.0.0.2"]], "other.test": [["127.0.0.2"]]})
        policy = policy_for(peer, allow_http=False)
        async with make_client(policy, resolver=resolver, verify=tls_client_context(ca)) as client:
            # When it is fetched by name, and by another name resolving to the same address
            fetched = await fetch_json(client, peer.url("/a", host="peer.test"), policy=policy)
            mismatch = await refused_reason(client, peer.url("/a", host="other.test"), policy)
    # Then SNI and certificate checks used the URL's name, not the dialled address
    assert fetched.document["id"] == peer.url("/a", host="peer.test")
    assert mismatch == "connect_failed"
    assert len(peer.received) == 1


async def test_tls_untrusted_certificate_refused(ca: trustme.CA) -> None:
    tls = tls_server_context(ca, "peer.test")
    async with serve(actor_handler(scheme="https"), tls=tls) as peer:
        resolver = FakeResolver({"peer.test": [["127.0.0.2"]]})
        policy = policy_for(peer, allow_http=False)
        async with make_client(policy, resolver=resolver) as client:  # system CAs only
            url = peer.url("/a", host="peer.test")
            assert await refused_reason(client, url, policy) == "connect_failed"


# --- fetch_text ------------------------------------------------------------------------------


async def test_fetch_text__decodes_with_charset() -> None:
    body = "<p>Hirondelle à Paris</p>".encode("latin-1")
    reply = Reply(200, [("Content-Type", "text/html; charset=ISO-8859-1")], body)
    async with serve(lambda _request: reply) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            fetched = await fetch_text(client, peer.url("/p"), policy=policy, accept="text/html")
    assert fetched.text == "<p>Hirondelle à Paris</p>"
    assert fetched.content_type == "text/html; charset=ISO-8859-1"
    assert peer.received[0].headers["accept"] == "text/html"


async def test_fetch_text__own_size_cap_and_reasons() -> None:
    def handle(request: Received) -> Reply:
        if request.target == "/gone":
            return Reply(410)
        return Reply(200, [("Content-Type", "text/plain; charset=unknown-charset")], b"x" * 100)

    async with serve(handle) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            fetched = await fetch_text(client, peer.url("/"), policy=policy, accept="*/*")
            assert fetched.text == "x" * 100  # unknown charset: UTF-8
            with pytest.raises(FetchError) as small:
                await fetch_text(client, peer.url("/"), policy=policy, accept="*/*", max_bytes=99)
            with pytest.raises(FetchError) as gone:
                await fetch_text(client, peer.url("/gone"), policy=policy, accept="*/*")
    assert small.value.reason == "too_large"
    assert gone.value.reason == "gone"


async def test_fetch_text__same_address_rules(private: Peer) -> None:
    policy = FetchPolicy(allow_http=True, allowed_ports=frozenset({private.port}))
    async with make_client(policy) as client:
        with pytest.raises(FetchError) as caught:
            await fetch_text(client, private.url("/"), policy=policy, accept="text/html")
    assert caught.value.reason == "forbidden_address"
    assert private.connections == 0


def test_every_reason_is_documented() -> None:
    assert "forbidden_address" in safehttp.REASONS
    assert len(safehttp.REASONS) == 17
