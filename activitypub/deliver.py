"""Deliver one signed activity to one inbox and classify the outcome (sent, retry, give up).

The classification is Mastodon's `ActivityPub::DeliveryWorker` with `Request`
(app/workers/activitypub/delivery_worker.rb, `response_error_unsalvageable?`): a 2xx is
delivered; 4xx other than 401, 408 and 429, and 501, are "unsalvageable" and never retried;
everything else (401, 408, 429, 5xx, network failures, timeouts) is retried with backoff.
Hirondelle adds that 410 means the inbox is gone (the caller drops that follower), and that an
address or port the fetch policy refuses is permanent.

Redirects are not followed for a POST: a 3xx is a `Retry`. Mastodon does not count a 3xx as
unsalvageable either, and retrying keeps "no data lost" (a temporary 302 heals; a permanent
one runs out the retry schedule and the host is parked).

Bodies and keys are never logged: the body is opaque bytes here, and `auth` does the signing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from activitypub import safehttp
from activitypub.errors import FetchError
from activitypub.retry import MAX_RETRY_AFTER
from activitypub.vocab import ACTIVITY_JSON

logger = logging.getLogger(__name__)

_PERMANENT_REFUSALS = frozenset(
    {"invalid_url", "scheme_not_allowed", "port_not_allowed", "forbidden_address"}
)
_RETRIED_4XX = frozenset({401, 408, 429})
# An inbox's answer is read (and dropped) up to this size so that the connection goes back to
# the pool for the next delivery to that host; a larger answer closes the connection instead.
# Keep-alive took TLS fan-out from 229 to 299 deliveries/s (bench/README.md).
MAX_DRAINED_REPLY = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Sent:
    """The inbox accepted the activity (any 2xx)."""

    status: int


@dataclasses.dataclass(frozen=True)
class Retry:
    """Try again later: at `at` if the server said when (Retry-After, capped), else by backoff."""

    at: datetime | None
    reason: str
    status: int | None = None  # the inbox's HTTP status, when it answered


@dataclasses.dataclass(frozen=True)
class GiveUp:
    """Never retry this delivery; `reason` "gone" means the inbox no longer exists."""

    reason: str
    status: int | None = None  # the inbox's HTTP status, when it answered


Outcome = Sent | Retry | GiveUp


async def post_activity(
    client: httpx.AsyncClient,
    inbox_url: str,
    body: bytes,
    *,
    policy: safehttp.FetchPolicy,
    auth: httpx.Auth,
    now: Callable[[], datetime],
) -> Outcome:
    """POST `body` to `inbox_url` through the safe client, signed by `auth`.

    Args:
        client: a client from `safehttp.make_client` (addresses are checked at connect).
        body: the serialised activity, sent as `application/activity+json`.
        auth: signs the request (Digest and HTTP signature).
        now: the clock, returning an aware datetime; used for Retry-After.
    """
    try:
        url = safehttp.check_url(inbox_url, policy)
        async with asyncio.timeout(policy.total_timeout):
            status, retry_after = await _post(client, url, body, auth)
    except FetchError as exc:
        outcome: Outcome = (
            GiveUp(exc.reason) if exc.reason in _PERMANENT_REFUSALS else Retry(None, exc.reason)
        )
    except (TimeoutError, httpx.TimeoutException):
        outcome = Retry(None, "timeout")
    except httpx.ConnectError:
        outcome = Retry(None, "connect_failed")
    except httpx.TransportError:
        outcome = Retry(None, "network_error")
    else:
        outcome = classify(status, retry_after, now=now())
    logger.info("delivery to %s: %s", inbox_url, outcome)
    return outcome


async def _post(
    client: httpx.AsyncClient, url: httpx.URL, body: bytes, auth: httpx.Auth
) -> tuple[int, str | None]:
    request = client.build_request(
        "POST", url, content=body, headers={"Content-Type": ACTIVITY_JSON}
    )
    response = await client.send(request, auth=auth, stream=True, follow_redirects=False)
    try:
        await _drain(response)
    finally:
        await response.aclose()
    return response.status_code, response.headers.get("retry-after")


async def _drain(response: httpx.Response) -> None:
    """Read and drop a small answer body so that its connection can be reused."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_DRAINED_REPLY:
        return
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > MAX_DRAINED_REPLY:
            return


def classify(status: int, retry_after: str | None, *, now: datetime) -> Outcome:
    """Turn an inbox's HTTP status (and Retry-After) into Sent, Retry or GiveUp."""
    if 200 <= status < 300:
        return Sent(status)
    if status == 410:
        return GiveUp("gone", status)
    if status == 501 or (400 <= status < 500 and status not in _RETRIED_4XX):
        return GiveUp(f"http_{status}", status)
    reason = "redirect" if 300 <= status < 400 else f"http_{status}"
    return Retry(parse_retry_after(retry_after, now=now), reason, status)


def parse_retry_after(value: str | None, *, now: datetime) -> datetime | None:
    """Read `Retry-After` (delay in seconds or an HTTP-date), clamped to [now, now + 1 day].

    https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        seconds = int(text) if len(text) <= 9 else 10**9  # longer values are past the cap
        at = now + timedelta(seconds=seconds)
    else:
        try:
            at = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
    return min(max(at, now), now + MAX_RETRY_AFTER)
