"""Delivery outcomes against a real sink: sent, retried (with Retry-After) or given up."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from activitypub import deliver
from activitypub.addresses import AddressPolicy
from activitypub.deliver import GiveUp, Retry, Sent, post_activity
from activitypub.safehttp import FetchPolicy, make_client
from tests.activitypub.peers import Peer, Reply, serve

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
BODY = b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","id":"https://dir.test/a/1"}'


class SigningAuth(httpx.Auth):
    """Stands in for HTTP signatures: marks each request it signs."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Signature"] = 'keyId="https://dir.test/actor#main-key",signature="x"'
        yield request


def policy_for(*peers: Peer, total_timeout: float = 2.0) -> FetchPolicy:
    return FetchPolicy(
        addresses=AddressPolicy.allowing("127.0.0.0/8"),
        allow_http=True,
        allowed_ports=frozenset(peer.port for peer in peers),
        total_timeout=total_timeout,
    )


async def deliver_to(peer: Peer, policy: FetchPolicy | None = None) -> deliver.Outcome:
    policy = policy or policy_for(peer)
    async with make_client(policy) as client:
        return await post_activity(
            client, peer.url("/inbox"), BODY, policy=policy, auth=SigningAuth(), now=lambda: NOW
        )


async def send(client: httpx.AsyncClient, peer: Peer, policy: FetchPolicy) -> deliver.Outcome:
    return await post_activity(
        client, peer.url("/inbox"), BODY, policy=policy, auth=SigningAuth(), now=lambda: NOW
    )


async def test_post_activity__sent() -> None:
    async with serve(lambda _request: Reply(202)) as peer:
        outcome = await deliver_to(peer)
    assert outcome == Sent(202)
    request = peer.received[0]
    assert (request.method, request.target, request.body) == ("POST", "/inbox", BODY)
    assert request.headers["content-type"] == "application/activity+json"
    assert "signature" in request.headers


async def test_post_activity__small_answers_keep_the_connection() -> None:
    # Given an inbox that keeps connections alive and answers with a small body
    reply = Reply(202, body=b'{"ok":true}', keep_alive=True)
    async with serve(lambda _request: reply) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            # When three activities are delivered to it through one client
            outcomes = [await send(client, peer, policy) for _ in range(3)]
    # Then all were sent over one connection
    assert outcomes == [Sent(202)] * 3
    assert (len(peer.received), peer.connections) == (3, 1)


@pytest.mark.parametrize("chunked", [False, True])
async def test_post_activity__large_answer_is_not_read(chunked: bool) -> None:
    # Given an inbox whose answer is far above what is drained (declared or chunked)
    big = Reply(202, body=b"x" * (deliver.MAX_DRAINED_REPLY * 40), chunked=chunked, keep_alive=True)
    async with serve(lambda _request: big) as peer:
        policy = policy_for(peer)
        async with make_client(policy) as client:
            # When two activities are delivered
            first = await send(client, peer, policy)
            second = await send(client, peer, policy)
    # Then both count as sent, and the connection was dropped rather than read to the end
    assert (first, second) == (Sent(202), Sent(202))
    assert peer.connections == 2


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(200), Sent(200)),
        (Reply(204), Sent(204)),
        (Reply(410), GiveUp("gone", 410)),
        (Reply(400), GiveUp("http_400", 400)),
        (Reply(403), GiveUp("http_403", 403)),
        (Reply(404), GiveUp("http_404", 404)),
        (Reply(413), GiveUp("http_413", 413)),
        (Reply(501), GiveUp("http_501", 501)),
        (Reply(401), Retry(None, "http_401", 401)),
        (Reply(408), Retry(None, "http_408", 408)),
        (Reply(429), Retry(None, "http_429", 429)),
        (Reply(500), Retry(None, "http_500", 500)),
        (Reply(502), Retry(None, "http_502", 502)),
        (Reply(503), Retry(None, "http_503", 503)),
        (Reply(302, [("Location", "http://127.0.0.1/")]), Retry(None, "redirect", 302)),
        (
            Reply(429, [("Retry-After", "120")]),
            Retry(NOW + timedelta(seconds=120), "http_429", 429),
        ),
        (
            Reply(503, [("Retry-After", "Thu, 01 Jan 2026 13:30:00 GMT")]),
            Retry(NOW + timedelta(minutes=90), "http_503", 503),
        ),
        (
            Reply(429, [("Retry-After", "999999999999")]),
            Retry(NOW + timedelta(days=1), "http_429", 429),
        ),
        (Reply(429, [("Retry-After", "soon")]), Retry(None, "http_429", 429)),
    ],
)
async def test_post_activity__status(reply: Reply, expected: deliver.Outcome) -> None:
    async with serve(lambda _request: reply) as peer:
        assert await deliver_to(peer) == expected


async def test_post_activity__redirect_not_followed() -> None:
    # Given an inbox that redirects to another allowed peer
    async with serve(lambda _request: Reply(202), host="127.0.0.3") as other:
        location = other.url("/inbox")
        async with serve(lambda _request: Reply(307, [("Location", location)])) as peer:
            outcome = await deliver_to(peer, policy_for(peer, other))
    # Then the activity is not posted there
    assert outcome == Retry(None, "redirect", 307)
    assert other.connections == 0


async def test_post_activity__connection_refused() -> None:
    async with serve(lambda _request: Reply(202)) as peer:
        pass  # nothing listens on that port any more
    assert await deliver_to(peer) == Retry(None, "connect_failed")


async def test_post_activity__timeout() -> None:
    async with serve(lambda _request: Reply(202, delay=30)) as peer:
        outcome = await deliver_to(peer, policy_for(peer, total_timeout=0.3))
    assert outcome == Retry(None, "timeout")


async def test_post_activity__forbidden_address_given_up() -> None:
    # Given the production address policy and an inbox on loopback
    async with serve(lambda _request: Reply(202), host="127.0.0.1") as peer:
        policy = dataclasses.replace(policy_for(peer), addresses=AddressPolicy())
        outcome = await deliver_to(peer, policy)
    # Then nothing is sent and the delivery is never retried
    assert outcome == GiveUp("forbidden_address")
    assert peer.connections == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://peer.test/inbox", "scheme_not_allowed"),
        ("https://peer.test:22/", "port_not_allowed"),
    ],
)
async def test_post_activity__url_rules_given_up(url: str, reason: str) -> None:
    policy = FetchPolicy()
    async with make_client(policy) as client:
        outcome = await post_activity(
            client, url, BODY, policy=policy, auth=SigningAuth(), now=lambda: NOW
        )
    assert outcome == GiveUp(reason)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("0", NOW),
        ("60", NOW + timedelta(minutes=1)),
        (" 60 ", NOW + timedelta(minutes=1)),
        ("86400", NOW + timedelta(days=1)),
        ("86401", NOW + timedelta(days=1)),
        ("9" * 5000, NOW + timedelta(days=1)),
        ("Thu, 01 Jan 2026 13:00:00 GMT", NOW + timedelta(hours=1)),
        ("Wed, 31 Dec 2025 12:00:00 GMT", NOW),  # in the past: now
        ("Fri, 01 Jan 2027 12:00:00 GMT", NOW + timedelta(days=1)),
        ("Thu, 01 Jan 2026 13:00:00 -0000", NOW + timedelta(hours=1)),
        ("-5", None),
        ("1.5", None),
        ("²", None),
        ("tomorrow", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: datetime | None) -> None:
    assert deliver.parse_retry_after(value, now=NOW) == expected
