"""SignedAuth: each request httpx sends is signed, and re-signed when a redirect is sent again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from activitypub import httpsig, keys
from activitypub.auth import SignedAuth
from activitypub.errors import SignatureError

START = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
KEY_ID = "https://dir.example/actor#main-key"


@pytest.fixture(scope="module")
def pair() -> keys.KeyPair:
    return keys.generate_rsa_keypair()


@pytest.fixture
def clock() -> Callable[[], datetime]:
    """A clock that moves one second each time it is read."""
    ticks: Iterator[int] = iter(range(1_000_000))
    return lambda: START + timedelta(seconds=next(ticks))


@pytest.fixture
def auth(pair: keys.KeyPair, clock: Callable[[], datetime]) -> SignedAuth:
    return SignedAuth(key_id=KEY_ID, private_pem=pair.private_pem, now=clock)


class Recorder:
    """A peer that verifies each request it receives and answers with a scripted response."""

    def __init__(self, pair: keys.KeyPair, redirects: dict[str, tuple[int, str]] | None = None):
        self.pair = pair
        self.redirects = redirects or {}
        self.seen: list[tuple[httpx.Request, str]] = []  # request, outcome

    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            httpsig.verify(
                method=request.method,
                path=request.url.raw_path.decode(),
                headers=request.headers,
                body=request.content if request.method == "POST" else None,
                public_pem=self.pair.public_pem,
                now=START + timedelta(minutes=1),
                expected_host=request.url.netloc.decode(),
            )
            outcome = "verified"
        except SignatureError as exc:
            outcome = exc.reason
        self.seen.append((request, outcome))
        if request.url.path in self.redirects:
            status, location = self.redirects[request.url.path]
            return httpx.Response(status, headers={"Location": location})
        return httpx.Response(200 if outcome == "verified" else 401, json={"outcome": outcome})


def test_signed_auth__get(pair: keys.KeyPair, auth: SignedAuth) -> None:
    peer = Recorder(pair)
    with httpx.Client(transport=httpx.MockTransport(peer), auth=auth) as client:
        response = client.get("https://peer.example/users/bob?page=1")
    assert response.json() == {"outcome": "verified"}
    [(request, _)] = peer.seen
    assert request.headers["date"] == "Fri, 20 Nov 2026 09:30:00 GMT"
    assert "digest" not in request.headers
    params = httpsig.parse_signature(request.headers["signature"])
    assert params.key_id == KEY_ID
    assert params.headers == ("(request-target)", "host", "date")


@pytest.mark.parametrize(
    ("kwargs", "covered"),
    [
        (
            {"json": {"type": "Follow"}},
            ("(request-target)", "host", "date", "digest", "content-type"),
        ),
        ({"content": b"x", "headers": {"Content-Type": "application/activity+json"}}, None),
        ({}, ("(request-target)", "host", "date", "digest")),  # empty POST: Digest of b""
    ],
)
def test_signed_auth__post(
    pair: keys.KeyPair, auth: SignedAuth, kwargs: dict[str, object], covered: tuple[str, ...] | None
) -> None:
    peer = Recorder(pair)
    with httpx.Client(transport=httpx.MockTransport(peer), auth=auth) as client:
        response = client.post("https://peer.example/inbox", **kwargs)  # type: ignore[arg-type]
    assert response.json() == {"outcome": "verified"}
    [(request, _)] = peer.seen
    assert request.headers["digest"] == httpsig.digest_header(request.content)
    if covered is not None:
        assert httpsig.parse_signature(request.headers["signature"]).headers == covered


async def test_signed_auth__async_client_reads_streamed_bodies(
    pair: keys.KeyPair, auth: SignedAuth
) -> None:
    peer = Recorder(pair)

    async def chunks() -> object:
        yield b'{"type":'
        yield b'"Follow"}'

    transport = httpx.MockTransport(peer)
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        response = await client.post("https://peer.example/inbox", content=chunks())  # type: ignore[arg-type]
    assert response.json() == {"outcome": "verified"}
    assert peer.seen[0][0].headers["digest"] == httpsig.digest_header(b'{"type":"Follow"}')


def test_signed_auth__clock_is_read_for_each_request(pair: keys.KeyPair, auth: SignedAuth) -> None:
    peer = Recorder(pair)
    with httpx.Client(transport=httpx.MockTransport(peer), auth=auth) as client:
        client.get("https://peer.example/a")
        client.get("https://peer.example/b")
    dates = [request.headers["date"] for request, _ in peer.seen]
    assert dates == ["Fri, 20 Nov 2026 09:30:00 GMT", "Fri, 20 Nov 2026 09:30:01 GMT"]


@pytest.mark.parametrize(
    ("status", "method", "expected_method"),
    [(301, "GET", "GET"), (303, "POST", "GET"), (307, "POST", "POST"), (308, "GET", "GET")],
)
def test_signed_auth__re_signs_a_redirect_sent_again(
    pair: keys.KeyPair, auth: SignedAuth, status: int, method: str, expected_method: str
) -> None:
    # Given a peer that redirects to another host and path
    peer = Recorder(pair, {"/old": (status, "https://cdn.example/new?x=1")})
    with httpx.Client(transport=httpx.MockTransport(peer), auth=auth) as client:
        body = b'{"type":"Follow"}' if method == "POST" else None
        first = client.request(method, "https://peer.example/old", content=body)
        # When the caller follows it itself (after its own checks), sending next_request
        assert first.next_request is not None
        second = client.send(first.next_request)
    # Then the second hop carries a fresh signature for its own host, method and target
    assert second.json() == {"outcome": "verified"}
    request, _ = peer.seen[1]
    assert request.method == expected_method
    assert request.headers["host"] == "cdn.example"
    assert ("digest" in request.headers) is (expected_method == "POST")


def test_signed_auth__follow_redirects_replays_the_first_signature(
    pair: keys.KeyPair, auth: SignedAuth
) -> None:
    # This is httpx's behaviour that SignedAuth documents: redirects followed inside one
    # auth flow keep the first signature, which does not verify at the new URL.
    peer = Recorder(pair, {"/old": (302, "https://peer.example/new")})
    transport = httpx.MockTransport(peer)
    with httpx.Client(transport=transport, auth=auth, follow_redirects=True) as client:
        response = client.get("https://peer.example/old")
    assert [outcome for _, outcome in peer.seen] == ["verified", "bad_signature"]
    assert response.status_code == 401


def test_signed_auth__repr_hides_the_key(pair: keys.KeyPair, auth: SignedAuth) -> None:
    assert KEY_ID in repr(auth)
    assert "PRIVATE" not in repr(auth)
