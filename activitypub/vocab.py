"""ActivityStreams vocabulary constants and the media types that carry ActivityPub documents."""

from __future__ import annotations

import re

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

ACTIVITY_JSON = "application/activity+json"
LD_JSON_AS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

ACTOR_TYPES = frozenset({"Application", "Group", "Organization", "Person", "Service"})

# RFC 9110 §5.6.2 token and §5.6.4 quoted-string; parameters are `; name=value`, OWS allowed.
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"\s*({_TCHARS}/{_TCHARS})\s*")
_PARAMETER = re.compile(rf";\s*(?:({_TCHARS})\s*=\s*({_TCHARS}|\"(?:[^\"\\]|\\.)*\"))?\s*")
_QUOTED_PAIR = re.compile(r"\\(.)")


def is_activitypub_content_type(header_value: str) -> bool:
    """Whether a Content-Type header value announces an ActivityStreams document.

    Mastodon's rule (GHSA-jhrq-qvrm-qr36, `valid_activitypub_content_type?`): either
    `application/activity+json`, or `application/ld+json` whose `profile` parameter (a
    space-separated list of URIs) includes the ActivityStreams URI. Plain `application/json`
    is refused, so that JSON files uploaded to a victim's origin cannot pass as actors.
    https://github.com/mastodon/mastodon/security/advisories/GHSA-jhrq-qvrm-qr36
    """
    parsed = _parse_media_type(header_value)
    if parsed is None:
        return False
    media_type, params = parsed
    if media_type == ACTIVITY_JSON:
        return True
    if media_type != "application/ld+json":
        return False
    return AS_CONTEXT in params.get("profile", "").split()


def _parse_media_type(value: str) -> tuple[str, dict[str, str]] | None:
    """Split a media type into its lowercase type and its parameters (names lowercased)."""
    match = _MEDIA_TYPE.match(value)
    if match is None:
        return None
    params: dict[str, str] = {}
    position = match.end()
    while position < len(value):
        param = _PARAMETER.match(value, position)
        if param is None:
            return None
        name, raw = param.group(1), param.group(2)
        if name is not None:
            if raw.startswith('"'):
                raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1])
            params.setdefault(name.lower(), raw)
        position = param.end()
    return match.group(1).lower(), params
