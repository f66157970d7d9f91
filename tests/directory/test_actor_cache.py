"""The actor cache: bounded, never stores what a change made stale, serves only when on."""

from __future__ import annotations

import pytest

from directory.services.actor_cache import ActorCache


class Ticks:
    """A monotonic clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _on(capacity: int = 3, clock: Ticks | None = None) -> ActorCache:
    cache = ActorCache(capacity, ttl_seconds=300, clock=clock or Ticks())
    cache.enable()
    return cache


def test_keeps_and_serves_bodies() -> None:
    # Given a cache that is on
    cache = _on()
    # When an actor and a JRD are stored
    assert cache.put_actor(12, b"actor", cache.generation)
    assert cache.put_webfinger("jack", 12, b"jrd", cache.generation)
    # Then they are served as stored
    assert cache.actor(12) == b"actor"
    assert cache.webfinger("jack") == (12, b"jrd")
    assert cache.actor(13) is None
    assert cache.webfinger("jill") is None


def test_bounded__least_recently_used_goes_first() -> None:
    # Given a full cache of three actors, of which 1 was read last
    cache = _on(capacity=3)
    for x_id in (1, 2, 3):
        cache.put_actor(x_id, b"%d" % x_id, cache.generation)
    assert cache.actor(1) == b"1"
    # When a fourth is stored
    cache.put_actor(4, b"4", cache.generation)
    # Then the least recently used one (2) was evicted, and the size stays bounded
    assert [cache.actor(x_id) for x_id in (1, 2, 3, 4)] == [b"1", None, b"3", b"4"]
    for x_id in range(10, 20):
        cache.put_actor(x_id, b"x", cache.generation)
        cache.put_webfinger(f"h{x_id}", x_id, b"j", cache.generation)
    assert cache.size == 6


def test_generation__a_read_that_began_before_an_invalidation_is_not_stored() -> None:
    # Given a reader that took its token, then queried
    cache = _on()
    token = cache.generation
    # When a change is notified before it stores (of any entry: the token is global)
    cache.invalidate([99])
    # Then its answer, possibly read before the change, is refused
    assert not cache.put_actor(12, b"stale", token)
    assert not cache.put_webfinger("jack", 12, b"stale", token)
    assert cache.actor(12) is None
    assert cache.webfinger("jack") is None
    # And a reader that starts afterwards stores
    assert cache.put_actor(12, b"fresh", cache.generation)


def test_invalidate__drops_the_actor_and_every_jrd_of_that_id() -> None:
    # Given an entry cached under two handle keys (before and after a rename), and another entry
    cache = _on(capacity=10)
    token = cache.generation
    cache.put_actor(12, b"a12", token)
    cache.put_webfinger("jack", 12, b"j-old", token)
    cache.put_webfinger("jack_d", 12, b"j-new", token)
    cache.put_actor(13, b"a13", token)
    cache.put_webfinger("jill", 13, b"j13", token)
    # When entry 12 changes
    cache.invalidate([12])
    # Then everything about 12 is gone, and 13 is kept
    assert (cache.actor(12), cache.webfinger("jack"), cache.webfinger("jack_d")) == (None,) * 3
    assert (cache.actor(13), cache.webfinger("jill")) == (b"a13", (13, b"j13"))


def test_invalidate__a_handle_that_moved_to_another_entry() -> None:
    # Given a JRD stored for handle "jack" under entry 12, then under entry 13 (12 gave it up)
    cache = _on(capacity=10)
    cache.put_webfinger("jack", 12, b"j12", cache.generation)
    cache.put_webfinger("jack", 13, b"j13", cache.generation)
    # When entry 12 changes again, Then 13's answer stays; when 13 changes, it goes
    cache.invalidate([12])
    assert cache.webfinger("jack") == (13, b"j13")
    cache.invalidate([13])
    assert cache.webfinger("jack") is None
    assert cache.size == 0


def test_invalidate_all() -> None:
    cache = _on()
    cache.put_actor(12, b"a", cache.generation)
    cache.put_webfinger("jack", 12, b"j", cache.generation)
    token = cache.generation
    cache.invalidate_all()
    assert (cache.actor(12), cache.webfinger("jack"), cache.size) == (None, None, 0)
    assert not cache.put_actor(12, b"a", token)


def test_ttl__answers_expire_even_without_a_notification() -> None:
    # Given answers stored at t
    clock = Ticks()
    cache = _on(clock=clock)
    cache.put_actor(12, b"a", cache.generation)
    cache.put_webfinger("jack", 12, b"j", cache.generation)
    # When just under the TTL has passed, Then they are served
    clock.now += 299.9
    assert cache.actor(12) == b"a"
    assert cache.webfinger("jack") == (12, b"j")
    # When the TTL has passed, Then they are not (and are dropped)
    clock.now += 0.1
    assert cache.actor(12) is None
    assert cache.webfinger("jack") is None
    assert cache.size == 0


def test_disabled__never_serves_nor_stores() -> None:
    # Given a cache with answers
    cache = _on()
    cache.put_actor(12, b"a", cache.generation)
    # When it is turned off (listening was lost)
    cache.disable()
    # Then it serves nothing and stores nothing, even with a current token
    assert not cache.enabled
    assert cache.actor(12) is None
    assert not cache.put_actor(12, b"a", cache.generation)
    assert not cache.put_webfinger("jack", 12, b"j", cache.generation)
    assert cache.size == 0
    # And turning it on again starts empty, refusing reads that began while it was off
    token = cache.generation
    cache.enable()
    assert cache.actor(12) is None
    assert not cache.put_actor(12, b"a", token)


def test_a_new_cache_is_off_until_enabled() -> None:
    cache = ActorCache(10)
    assert not cache.enabled
    assert not cache.put_actor(12, b"a", cache.generation)


def test_capacity_zero__never_turns_on() -> None:
    cache = ActorCache(0)
    cache.enable()
    assert not cache.enabled
    assert not cache.put_actor(12, b"a", cache.generation)
    with pytest.raises(ValueError, match="capacity"):
        ActorCache(-1)
