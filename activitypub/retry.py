"""When to try a failed delivery again: exponential backoff with jitter, for at least 3 days.

Attempt n (the n-th failure so far) waits `min(30 s * 2**(n-1), 6 h)`, stretched by a random
0-25 % (jitter, so the retries for one dead host do not all land at once):

| failures so far | nominal wait | nominal time since the first failure |
| --- | --- | --- |
| 1 | 30 s | 30 s |
| 2 | 1 min | 1.5 min |
| 3 | 2 min | 3.5 min |
| 4 | 4 min | 7.5 min |
| 5 | 8 min | 15.5 min |
| 6 | 16 min | 31.5 min |
| 7 | 32 min | 1 h 3.5 min |
| 8 | 1 h 4 min | 2 h 7.5 min |
| 9 | 2 h 8 min | 4 h 15.5 min |
| 10 | 4 h 16 min | 8 h 31.5 min |
| 11 ... 21 | 6 h each | 14 h 31.5 min ... 74 h 31.5 min (3.1 days) |
| 22 | None: give up | |

So the last retry comes between 3.1 and 3.9 days after the first failure, like Mastodon's
`ActivityPub::DeliveryWorker` (16 retries, `count**4 + 15` s plus jitter, about 2-3 days) and
Takahē (3 days); after that the caller parks the host (attacks.md G1, G3).

A server's `Retry-After` is honoured (never retry earlier) but capped at one day from now, so a
hostile `Retry-After: 999999999` cannot stall a queue (attacks.md G2).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
MAX_JITTER = 0.25
MAX_RETRY_AFTER = timedelta(days=1)
MAX_FAILURES = 21
"""Failures after which no retry is scheduled; the 21 retries span more than 3 days."""


def nominal_delay(failures: int) -> timedelta:
    """The wait before the next attempt after `failures` failures, before jitter."""
    if failures < 1:
        raise ValueError("failures counts failed attempts and starts at 1")
    if failures > 16:  # 30 s * 2**15 is far past the cap; avoid huge powers
        return MAX_DELAY
    return min(BASE_DELAY * (1 << (failures - 1)), MAX_DELAY)


def next_attempt(
    attempts: int,
    *,
    now: datetime,
    retry_after: datetime | None = None,
    rng: random.Random,
) -> datetime | None:
    """When to try again after `attempts` failed attempts, or None to give up.

    Args:
        attempts: failed attempts so far, 1 after the first failure.
        now: the current time (injected clock).
        retry_after: the time a server asked us to wait for (`Retry-After`), if any.
        rng: the jitter source; seed it in tests.
    """
    if attempts > MAX_FAILURES:
        return None
    delay = nominal_delay(attempts)
    due = now + delay * (1 + rng.uniform(0, MAX_JITTER))
    if retry_after is not None:
        due = max(due, min(retry_after, now + MAX_RETRY_AFTER))
    return due
