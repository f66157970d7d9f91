"""An httpx authentication that signs every outgoing request with an actor's key.

httpx runs `auth_flow` once per `send()`. With `follow_redirects=True` it follows redirects
*inside* that one flow and replays the first request's headers, so the next hop receives a
Signature made for another URL, which will not verify there. Use `follow_redirects=False`
(the safe fetcher must anyway, to check every hop) and send `response.next_request` yourself:
each send runs `auth_flow` again, which re-signs for the new URL and method, as Mastodon
re-signs its redirected fetches (https://github.com/mastodon/mastodon/pull/33757).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime

import httpx

from activitypub.httpsig import sign_headers

_SIGNATURE_HEADERS = ("Date", "Digest", "Host", "Signature")


class SignedAuth(httpx.Auth):
    """Sign requests with draft-cavage `rsa-sha256` as `key_id`, at the time `now()` gives."""

    requires_request_body = True  # httpx reads the body before auth_flow, for the Digest

    def __init__(self, *, key_id: str, private_pem: str, now: Callable[[], datetime]) -> None:
        self._key_id = key_id
        self._private_pem = private_pem
        self._now = now

    def __repr__(self) -> str:
        return f"SignedAuth(key_id={self._key_id!r})"  # never the key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Replace any earlier signature headers (a redirected request carries the old ones)."""
        added = sign_headers(
            method=request.method,
            url=str(request.url),
            headers=request.headers,
            body=request.content if _has_body(request) else None,
            key_id=self._key_id,
            private_pem=self._private_pem,
            now=self._now(),
        )
        for name in _SIGNATURE_HEADERS:
            request.headers.pop(name, None)
        request.headers.update(added)
        yield request


def _has_body(request: httpx.Request) -> bool:
    """Whether the request carries a body (httpx sets Content-Length: 0 on an empty POST)."""
    return bool(request.content) or any(
        name in request.headers for name in ("content-length", "transfer-encoding")
    )
