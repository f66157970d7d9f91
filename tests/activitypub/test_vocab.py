"""Vocabulary constants and Mastodon's rule for ActivityStreams content types."""

from __future__ import annotations

import pytest

from activitypub import vocab


def test_constants() -> None:
    assert vocab.AS_CONTEXT == "https://www.w3.org/ns/activitystreams"
    assert vocab.PUBLIC == vocab.AS_CONTEXT + "#Public"
    assert vocab.SECURITY_CONTEXT == "https://w3id.org/security/v1"
    assert vocab.ACTIVITY_JSON == "application/activity+json"
    assert sorted(vocab.ACTOR_TYPES) == [
        "Application",
        "Group",
        "Organization",
        "Person",
        "Service",
    ]
    assert vocab.is_activitypub_content_type(vocab.LD_JSON_AS)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/activity+json", True),
        ("application/activity+json; charset=utf-8", True),
        ("Application/Activity+JSON", True),
        ("  application/activity+json  ", True),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
        ('application/ld+json;profile="https://www.w3.org/ns/activitystreams"', True),
        ("application/ld+json; profile=https://www.w3.org/ns/activitystreams", False),  # "/"
        ('APPLICATION/LD+JSON; PROFILE="https://www.w3.org/ns/activitystreams"', True),
        (
            'application/ld+json; charset=utf-8; profile="https://w3id.org/x '
            'https://www.w3.org/ns/activitystreams"',
            True,
        ),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams#"', False),
        ('application/ld+json; profile="http://www.w3.org/ns/activitystreams"', False),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreamsX"', False),
        ('application/ld+json; x="profile=\\"https://www.w3.org/ns/activitystreams\\""', False),
        ('application/ld+json; x="a;b"; profile="https://www.w3.org/ns/activitystreams"', True),
        ("application/ld+json", False),
        ("application/json", False),
        ("text/html", False),
        ("application/activity+json-evil", False),
        ("application/activity+jsonx; a=b", False),
        ("", False),
        ("garbage", False),
        ('application/activity+json; profile="unterminated', False),
    ],
)
def test_is_activitypub_content_type(header: str, expected: bool) -> None:
    assert vocab.is_activitypub_content_type(header) is expected
