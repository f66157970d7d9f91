"""Backoff schedule: delay bounds per attempt, a span of at least 3 days, Retry-After capped."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from activitypub import retry
from activitypub.retry import next_attempt

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("attempts", "nominal"),
    [
        (1, 30 * S),
        (2, 60 * S),
        (3, 120 * S),
        (5, 480 * S),
        (8, 3840 * S),
        (10, 15360 * S),
        (11, timedelta(hours=6)),
        (16, timedelta(hours=6)),
        (20, timedelta(hours=6)),
        (21, timedelta(hours=6)),
    ],
)
def test_next_attempt__delay_bounds(attempts: int, nominal: timedelta) -> None:
    assert retry.nominal_delay(attempts) == nominal
    rng = random.Random(attempts)
    for _ in range(200):
        due = next_attempt(attempts, now=NOW, rng=rng)
        assert due is not None
        assert nominal <= due - NOW <= nominal * 1.25


@pytest.mark.parametrize("attempts", [22, 23, 100])
def test_next_attempt__gives_up_after_the_last(attempts: int) -> None:
    assert next_attempt(attempts, now=NOW, rng=random.Random(0)) is None


@pytest.mark.parametrize("seed", range(20))
def test_next_attempt__retries_span_at_least_three_days(seed: int) -> None:
    # Given a delivery that fails every time, rescheduled from each due time
    rng = random.Random(seed)
    now, attempts = NOW, 1
    while (due := next_attempt(attempts, now=now, rng=rng)) is not None:
        now, attempts = due, attempts + 1
    # Then the last retry is 3 to 4 days after the first failure
    assert attempts == retry.MAX_FAILURES + 1
    assert timedelta(days=3) <= now - NOW < timedelta(days=4)


def test_next_attempt__deterministic_with_a_seeded_rng() -> None:
    first = [next_attempt(n, now=NOW, rng=random.Random(7)) for n in range(1, 22)]
    second = [next_attempt(n, now=NOW, rng=random.Random(7)) for n in range(1, 22)]
    assert first == second


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (NOW + timedelta(hours=2), NOW + timedelta(hours=2)),  # later than backoff: honoured
        (NOW + timedelta(days=30), NOW + timedelta(days=1)),  # absurd: capped at one day
        (NOW - timedelta(hours=1), None),  # in the past: backoff decides
        (NOW + timedelta(seconds=5), None),  # earlier than backoff: backoff decides
    ],
)
def test_next_attempt__retry_after(retry_after: datetime, expected: datetime | None) -> None:
    due = next_attempt(1, now=NOW, retry_after=retry_after, rng=random.Random(0))
    assert due is not None
    if expected is None:
        assert 30 * S <= due - NOW <= 38 * S
    else:
        assert due == expected


def test_next_attempt__retry_after_does_not_extend_the_schedule() -> None:
    due = next_attempt(22, now=NOW, retry_after=NOW + timedelta(hours=1), rng=random.Random(0))
    assert due is None


@pytest.mark.parametrize("attempts", [0, -1])
def test_next_attempt__attempts_start_at_one(attempts: int) -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        next_attempt(attempts, now=NOW, rng=random.Random(0))
